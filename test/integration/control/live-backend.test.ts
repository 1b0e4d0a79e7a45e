import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Redacted } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configuredChannelsOf } from "../../../src/runtime/control-plane.ts";
import { runCtl } from "../../../src/runtime/ctl.ts";
import type { Route } from "../../../src/runtime/http-server.ts";
import { vodChatRoutes } from "../../../src/runtime/vod-chat-api.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { ensureChatPartitionsCovering } from "../../../src/services/chat-partitions.ts";
import { insertChatRows } from "../../../src/services/repositories/chat.ts";
import { mustParse, privmsgLine, rowOf } from "../chat/chat-fixtures.ts";
import { ControlRequestError } from "../../../src/runtime/control-client.ts";
import type { ControlClient } from "../../../src/runtime/control-client.ts";
import type { EventFrame } from "../../../src/runtime/control-protocol.ts";
import { startControlHarness } from "../../support/control-harness.ts";
import type { ControlHarness } from "../../support/control-harness.ts";
import { createTestDatabase } from "../../support/database.ts";
import type { TestDatabase } from "../../support/database.ts";
import { testChannelSettings } from "../../support/in-memory-control-backend.ts";
import { startLiveControlBackend } from "../../support/live-control-backend.ts";
import type { LiveControlBackend } from "../../support/live-control-backend.ts";

let database: TestDatabase;
let migrated = false;
const open: Array<{ close: () => Promise<void> }> = [];
let dir: string | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Rows of a query on the test database. */
const query = <R>(live: LiveControlBackend, text: string) =>
  live.sql(
    Effect.gen(function* () {
      const sql = yield* SqlClient;
      return (yield* sql.unsafe(text)) as unknown as ReadonlyArray<R>;
    }),
  );

/** The runtime with the control plane on top; `file` makes it watch a channels file. */
const start = async (
  file?: string,
  options: { readonly keepChannels?: boolean; readonly routes?: (live: LiveControlBackend) => Promise<ReadonlyArray<Route>> } = {},
): Promise<{ live: LiveControlBackend; harness: ControlHarness; client: ControlClient; events: Array<EventFrame> }> => {
  const live = await startLiveControlBackend(database.url, { migrate: !migrated });
  migrated = true;
  open.push(live);
  // Each test starts from an empty channel table unless it plays a restart.
  if (options.keepChannels !== true) await query(live, "DELETE FROM channels");
  const harness = await startControlHarness({
    backend: live.backend,
    metrics: live.metrics,
    ...(options.routes === undefined ? {} : { routes: await options.routes(live) }),
    ...(file === undefined
      ? {}
      : {
          channelsFile: file,
          configured: configuredChannelsOf({ envChannels: [], envChannelDefaults: testChannelSettings, channelsFile: file }),
        }),
  });
  open.push(harness);
  const client = await harness.connect();
  open.push(client);
  const events: Array<EventFrame> = [];
  client.onEvent((frame) => events.push(frame));
  await client.request("subscribe", {});
  return { live, harness, client, events };
};

const waitFor = async <T>(find: () => T | undefined | Promise<T | undefined>, what: string, ms = 15_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const scrape = async (harness: ControlHarness) => (await fetch(`${harness.url}/metrics`)).text();
const channelsGauge = (text: string, state: string) => Number(new RegExp(`^vodtender_channels\\{state="${state}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? "NaN");

describe("control plane on the real Supervisor and database", () => {
  it("adds and removes through the socket, seen in channels.list, /metrics, the channels table and audit_log", async () => {
    const { live, harness, client, events } = await start();
    const added = await client.request("channels.add", { name: "LiveOne", settings: { chat: "off" } });
    expect(added.channel).toMatchObject({ name: "liveone", source: "control", settings: { chat: "off" } });
    await waitFor(() => events.find((e) => e.event.topic === "transition" && e.event.channel === "liveone" && e.event.actor === "channel" && e.event.to === "running"), "liveone running");
    const listed = await client.request("channels.list");
    expect(listed.channels.map((c) => [c.name, c.state])).toEqual([["liveone", "running"]]);
    expect(listed.channels[0]?.tree?.actor).toBe("channel");
    await waitFor(async () => (channelsGauge(await scrape(harness), "running") === 1 ? true : undefined), "the running gauge at 1");

    const rows = await query<{ name: string; source: string; settings: { chat: string } }>(live, "SELECT name, source, settings FROM channels");
    expect(rows.map((r) => [r.name, r.source, r.settings.chat])).toEqual([["liveone", "control", "off"]]);

    await client.request("channels.remove", { name: "liveone" });
    expect((await client.request("channels.list")).channels).toEqual([]);
    await waitFor(async () => (channelsGauge(await scrape(harness), "running") === 0 ? true : undefined), "the running gauge at 0");
    expect(await query(live, "SELECT name FROM channels")).toEqual([]);
    const audit = await query<{ actor: string; action: string; channel: string; result: string }>(
      live,
      "SELECT actor, action, channel, result FROM audit_log WHERE action LIKE 'channels.%' ORDER BY id",
    );
    expect(audit.map((a) => [a.action, a.channel, a.result])).toEqual([
      ["channels.add", "liveone", "ok"],
      ["channels.remove", "liveone", "ok"],
    ]);
    expect(audit[0]?.actor).toBe("test-client from 127.0.0.1");
    expect((await client.request("channels.remove", { name: "liveone" }).catch((e: ControlRequestError) => e)) as ControlRequestError).toMatchObject({ code: "not_found" });
  });

  it("streams the transitions of a hot-added channel's actors to a subscriber", async () => {
    const { client, events } = await start();
    await client.request("channels.add", { name: "hotlive" });
    await waitFor(() => events.find((e) => e.event.topic === "transition" && e.event.channel === "hotlive" && e.event.actor === "processor"), "a processor transition");
    const actors = new Set(events.filter((e) => e.event.channel === "hotlive" && e.event.topic === "transition").map((e) => (e.event.topic === "transition" ? e.event.actor : "")));
    expect(actors.has("channel")).toBe(true);
    await client.request("channels.remove", { name: "hotlive" });
  });

  it("brings a control-added channel back after a restart, paused as it was left", async () => {
    const first = await start();
    await first.client.request("channels.add", { name: "survivor" });
    await first.client.request("channels.pause", { name: "survivor" });
    for (const item of open.splice(0).reverse()) await item.close();

    const second = await start(undefined, { keepChannels: true });
    const channels = (await second.client.request("channels.list")).channels;
    expect(channels.map((c) => [c.name, c.source, c.paused])).toEqual([["survivor", "control", true]]);
    await second.client.request("channels.remove", { name: "survivor" });
  });

  it("applies a channels-file edit to the running tree without disturbing untouched channels", async () => {
    dir = await mkdtemp(join(tmpdir(), "vod-tender-live-reload-"));
    const file = join(dir, "channels.yaml");
    await writeFile(file, "channels:\n  - steady\n  - name: tuned\n    chat: auto\n  - leaving\n");
    const { client, events } = await start(file);
    await waitFor(
      async () => {
        const channels = (await client.request("channels.list")).channels;
        return channels.every((c) => c.state === "running") ? true : undefined;
      },
      "all file channels running",
    );
    events.length = 0;

    await writeFile(`${file}.tmp`, "channels:\n  - steady\n  - name: tuned\n    chat: off\n  - arriving\n");
    await rename(`${file}.tmp`, file);
    await waitFor(() => events.find((e) => e.event.topic === "transition" && e.event.channel === "arriving" && e.event.actor === "channel" && e.event.to === "running"), "arriving running");
    const report = await waitFor(() => events.find((e) => e.event.topic === "config"), "the reload report");
    expect(report.event).toMatchObject({ report: { ok: true, added: ["arriving"], removed: ["leaving"], updated: ["tuned"] } });

    const status = (await client.request("channels.list")).channels;
    expect(status.map((c) => c.name).sort()).toEqual(["arriving", "steady", "tuned"]);
    expect(status.find((c) => c.name === "tuned")?.settings.chat).toBe("off");
    // Untouched: its channel actor did not move, none of its actors was created anew, nothing restarted.
    const disturbed = events.filter(
      (e) =>
        e.event.channel === "steady" &&
        (e.event.topic === "restart" || e.event.topic === "channel" || (e.event.topic === "transition" && (e.event.actor === "channel" || e.event.from === null))),
    );
    expect(disturbed).toEqual([]);
    expect(events.filter((e) => e.event.topic === "restart")).toEqual([]);
    // The file's channels are refused to control's remove.
    const refused = (await client.request("channels.remove", { name: "steady" }).catch((e: ControlRequestError) => e)) as ControlRequestError;
    expect(refused.code).toBe("forbidden");
    await writeFile(file, "channels: []\n");
    await client.request("config.reload");
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("reads a VOD's chat page by page from ctl, with its gaps, and names a VOD or window it cannot read", async () => {
    const adminToken = "ctl-export-admin-token";
    const { live, harness, client } = await start(undefined, {
      routes: (backend) =>
        backend.sql(
          Effect.flatMap(Effect.service(VodsRepository), (vods) => vodChatRoutes({ adminToken: Redacted.make(adminToken), vods })).pipe(Effect.provide(VodsRepository.layer)),
        ),
    });
    const begin = Date.UTC(2026, 10, 21, 20, 0, 0);
    const vodId = await live.sql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const [vod] = yield* sql<{ id: number }>`
          INSERT INTO vods (channel, twitch_vod_id, stream_id, title, date) VALUES ('talky', '880', 's8', 'talk', ${new Date(begin)}) RETURNING id`;
        const id = vod!.id;
        yield* ensureChatPartitionsCovering(new Date(begin), new Date(begin));
        const rows = [0, 65, 130, 3725].map((t, i) =>
          rowOf(mustParse(privmsgLine("talky", `Talker${i}`, `point ${i}`, begin + t * 1000)), { vodId: id, streamId: "s8", relTimestamp: t }),
        );
        yield* insertChatRows(rows, { keepRaw: false });
        yield* sql`INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, ended_at, reason)
          VALUES ('talky', ${id}, 's8', ${new Date(begin + 70_000)}, ${new Date(begin + 100_000)}, 'disconnect')`;
        return id;
      }),
    );
    const env = { CONTROL_TOKEN: harness.token };
    const url = ["--url", harness.wsUrl];
    let stdout = "";
    const io = { env, stdout: (t: string) => void (stdout += t), stderr: () => {} };
    expect(await runCtl([...url, "chat", "vod", String(vodId), "--from", "1:00", "--limit", "2"], io)).toBe(0);
    expect(stdout).toBe(
      [
        "[0:01:05] talker1: point 1",
        "-- not recorded 0:01:10–0:01:40 (disconnect) --",
        "[0:02:10] talker2: point 2",
        `-- more: vod-tender ctl chat vod ${vodId} --from 3725 --`,
        "",
      ].join("\n"),
    );
    stdout = "";
    expect(await runCtl([...url, "chat", "vod", String(vodId), "--from", "3725"], io)).toBe(0);
    expect(stdout).toBe("[1:02:05] talker3: point 3\n");

    // The whole file for a chat renderer, over HTTP with ADMIN_TOKEN.
    dir = await mkdtemp(join(tmpdir(), "vod-tender-export-"));
    const file = join(dir, "talk.json");
    stdout = "";
    let stderr = "";
    const withAdmin = { env: { ...env, ADMIN_TOKEN: adminToken }, stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
    expect(await runCtl([...url, "chat", "export", String(vodId), "--out", file], withAdmin)).toBe(0);
    expect(stdout).toBe(`4 messages written to ${file}\n`);
    const exported = JSON.parse(await readFile(file, "utf8")) as { video: { id: string }; comments: Array<{ content_offset_seconds: number }> };
    expect([exported.video.id, exported.comments.map((c) => c.content_offset_seconds)]).toEqual(["880", [0, 65, 130, 3725]]);
    expect(await runCtl([...url, "chat", "export", "999999"], withAdmin)).toBe(1);
    expect(stderr).toBe("error: not_found: no VOD 999999\n");
    stderr = "";
    expect(await runCtl([...url, "chat", "export", String(vodId)], { ...withAdmin, env })).toBe(2);
    expect(stderr).toMatch(/needs ADMIN_TOKEN/);

    const missing = (await client.request("chat.vod", { id: 999_999 }).catch((e: ControlRequestError) => e)) as ControlRequestError;
    expect([missing.code, missing.message]).toEqual(["not_found", "no VOD with id 999999"]);
    const backwards = (await client.request("chat.vod", { id: vodId, from: 60, to: 30 }).catch((e: ControlRequestError) => e)) as ControlRequestError;
    expect([backwards.code, backwards.message]).toEqual(["invalid_params", "to (30) must be after from (60)"]);
    const negative = (await client.request("chat.vod", { id: vodId, from: -5 }).catch((e: ControlRequestError) => e)) as ControlRequestError;
    expect(negative.code).toBe("invalid_params");
  });
});
