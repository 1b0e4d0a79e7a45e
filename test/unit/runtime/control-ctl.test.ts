import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { runCtl, settingsFromFlags } from "../../../src/runtime/ctl.ts";
import type { CtlIo } from "../../../src/runtime/ctl.ts";
import { controlTokenPath } from "../../../src/runtime/control-token.ts";
import { startControlHarness } from "../../support/control-harness.ts";
import type { ControlHarness } from "../../support/control-harness.ts";
import { makeInMemoryControlBackend } from "../../support/in-memory-control-backend.ts";
import type { InMemoryControlBackend } from "../../support/in-memory-control-backend.ts";

const run = promisify(execFile);
let harness: ControlHarness | undefined;
let dir: string | undefined;

afterEach(async () => {
  await harness?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  harness = dir = undefined;
});

const start = async (): Promise<{ harness: ControlHarness; backend: InMemoryControlBackend }> => {
  const backend = makeInMemoryControlBackend();
  harness = await startControlHarness({ backend });
  return { harness, backend };
};

/** Runs ctl in this process, capturing its output. */
const ctl = async (argv: ReadonlyArray<string>, env: Record<string, string | undefined>, stop?: AbortSignal) => {
  let stdout = "";
  let stderr = "";
  const io: CtlIo = { env, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), ...(stop === undefined ? {} : { stop }) };
  const code = await runCtl(argv, io);
  return { code, stdout, stderr };
};

describe("ctl", () => {
  it("adds a channel from a terminal and shows it in channels list (a separate process, token from $DATA_DIR)", async () => {
    const { harness, backend } = await start();
    dir = await mkdtemp(join(tmpdir(), "vod-tender-ctl-"));
    await writeFile(controlTokenPath(dir), `${harness.token}\n`, { mode: 0o600 });
    const env = { ...process.env, DATA_DIR: dir, CONTROL_TOKEN: "", HTTP_ADDR: harness.url.replace("http://", "") };
    const node = join(process.cwd(), "node_modules/.bin/node");
    const add = await run(node, ["bin/vod-tender.js", "ctl", "channels", "add", "Foo_Bar", "--set", "chat=always"], { env });
    expect(add.stdout).toBe("foo_bar: running (source control)\n");
    const list = await run(node, ["bin/vod-tender.js", "ctl", "channels", "list", "--json"], { env });
    const parsed = JSON.parse(list.stdout) as { channels: Array<{ name: string; settings: { chat: string } }> };
    expect(parsed.channels.map((c) => [c.name, c.settings.chat])).toEqual([["foo_bar", "always"]]);
    expect(backend.auditLog[0]).toMatchObject({ action: "channels.add", actor: expect.stringMatching(/^ctl .+ from 127\.0\.0\.1$/) });
  });

  it("prints the server's error and exits 1; usage errors exit 2; a wrong token exits 3", async () => {
    const { harness } = await start();
    const env = { CONTROL_TOKEN: harness.token };
    const url = ["--url", harness.wsUrl];
    const refused = await ctl([...url, "channels", "remove", "ghost"], env);
    expect([refused.code, refused.stderr]).toEqual([1, 'error: not_found: channel "ghost" is not running\n']);
    const asJson = await ctl([...url, "--json", "channels", "pause", "ghost"], env);
    expect(JSON.parse(asJson.stdout)).toEqual({ error: { code: "not_found", message: 'channel "ghost" is not running' } });
    expect((await ctl([...url, "channels", "frobnicate"], env)).code).toBe(2);
    expect((await ctl([...url, "vods", "reprocess", "abc"], env)).stderr).toMatch(/expected a VOD id/);
    const badOffset = await ctl([...url, "chat", "vod", "7", "--from", "1:2:3:4"], env);
    expect([badOffset.code, badOffset.stderr]).toEqual([2, expect.stringContaining('--from expects seconds or h:mm:ss into the VOD, got "1:2:3:4"')]);
    const wrong = await ctl([...url, "channels", "list"], { CONTROL_TOKEN: "nope" });
    expect([wrong.code, wrong.stderr]).toEqual([3, expect.stringMatching(/HTTP 401/)]);
  });

  it("streams events with watch, as lines or as JSON", async () => {
    const { harness } = await start();
    const env = { CONTROL_TOKEN: harness.token };
    const watching = ctl(["--url", harness.wsUrl, "watch", "--json", "--topic", "transition", "--channel", "watched", "--count", "2"], env);
    // The watcher subscribes after connecting; add the channel once its subscription exists.
    const client = await harness.connect();
    for (let i = 0; i < 1000 && harness.plane.server.subscriptions() < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await client.request("channels.add", { name: "other" });
    await client.request("channels.add", { name: "watched" });
    const result = await watching;
    await client.close();
    expect(result.code).toBe(0);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { topic: string; channel: string; to: string });
    expect(events.map((e) => [e.topic, e.channel, e.to])).toEqual([
      ["transition", "watched", "starting"],
      ["transition", "watched", "running"],
    ]);
  });

  it("takes offsets into a VOD as seconds or clock times", async () => {
    const { harness, backend } = await start();
    backend.vodRows.push({ id: 7, channel: "vodchan", twitchVodId: "707", title: "t", date: null, durationSeconds: null, priority: 0, processed: true, downloadState: "done", progress: 100, processingError: null, youtubeUrl: null });
    for (const [i, at] of [30, 3_600, 3_725.5].entries()) {
      backend.chatRows.push({ channel: "vodchan", vodId: 7, msgId: `m${i}`, username: "viewer", displayName: "Viewer", message: `line ${i}`, at: "2024-01-01T00:00:00Z", offsetSeconds: at });
    }
    const env = { CONTROL_TOKEN: harness.token };
    const result = await ctl(["--url", harness.wsUrl, "chat", "vod", "7", "--from", "1:00:00", "--to", "3725.6"], env);
    expect([result.code, result.stdout]).toEqual([0, "[1:00:00] viewer: line 1\n[1:02:05.5] viewer: line 2\n"]);
    const found = await ctl(["--url", harness.wsUrl, "chat", "search", "line", "1"], env);
    expect(found.stdout.split("\n")[0]).toBe("2024-01-01 00:00:00 #vodchan viewer: line 1  [vod 7 at 1:00:00]");
    const paged = await ctl(["--url", harness.wsUrl, "chat", "vod", "7", "--from", "1:00:00", "--to", "3725.6", "--limit", "1"], env);
    expect(paged.stdout).toBe("[1:00:00] viewer: line 1\n-- more: vod-tender ctl chat vod 7 --from 3725.5 --to 3725.6 --\n");
  });

  it("turns --set pairs into a nested settings patch", () => {
    expect(settingsFromFlags(["chat=off", "catalog.interval=6h", "catalog.max=10", "upload.enabled=true"])).toEqual({
      chat: "off",
      catalog: { interval: "6h", max: 10 },
      upload: { enabled: true },
    });
  });
});
