import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { configuredChannelsOf } from "../../../src/runtime/control-plane.ts";
import type { ControlClient } from "../../../src/runtime/control-client.ts";
import type { EventFrame } from "../../../src/runtime/control-protocol.ts";
import { startControlHarness } from "../../support/control-harness.ts";
import type { ControlHarness } from "../../support/control-harness.ts";
import { makeInMemoryControlBackend, testChannelSettings } from "../../support/in-memory-control-backend.ts";
import type { InMemoryControlBackend } from "../../support/in-memory-control-backend.ts";

let harness: ControlHarness | undefined;
let client: ControlClient | undefined;
let dir: string | undefined;

afterEach(async () => {
  await client?.close();
  await harness?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  harness = client = dir = undefined;
});

/** Writes the file the way editors do: a new file renamed over the old one. */
const save = async (path: string, text: string) => {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
};

const start = async (initial: string, envChannels: ReadonlyArray<string> = []) => {
  dir = await mkdtemp(join(tmpdir(), "vod-tender-reload-"));
  const path = join(dir, "channels.yaml");
  await writeFile(path, initial);
  const backend = makeInMemoryControlBackend();
  harness = await startControlHarness({
    backend,
    channelsFile: path,
    configured: configuredChannelsOf({ envChannels, envChannelDefaults: testChannelSettings, channelsFile: path }),
  });
  client = await harness.connect();
  const events: Array<EventFrame> = [];
  client.onEvent((frame) => events.push(frame));
  await client.request("subscribe", {});
  return { path, backend, harness, client, events };
};

const waitFor = async <T>(find: () => T | undefined, what: string, ms = 10_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const names = async (backend: InMemoryControlBackend) => (await Effect.runPromise(backend.channels.list())).map((c) => c.name).sort();

describe("channels file hot reload", () => {
  it("starts an added channel, stops a removed one, and does not touch the others", async () => {
    const { path, backend, events, harness } = await start("channels:\n  - alpha\n  - bravo\n  - name: charlie\n    chat: off\n", ["envchan"]);
    expect(await names(backend)).toEqual(["alpha", "bravo", "charlie", "envchan"]);
    backend.calls.length = 0;
    events.length = 0;

    await save(path, "channels:\n  - alpha\n  - name: charlie\n    chat: always\n  - delta\n");
    await waitFor(() => events.find((e) => e.event.topic === "transition" && e.event.channel === "delta" && e.event.to === "running"), "delta running");
    const config = await waitFor(() => events.find((e) => e.event.topic === "config"), "the reload report");
    expect(config.event).toMatchObject({ trigger: "watch", report: { ok: true, added: ["delta"], removed: ["bravo"], updated: ["charlie"] } });
    expect(await names(backend)).toEqual(["alpha", "charlie", "delta", "envchan"]);
    expect((await Effect.runPromise(backend.channels.status("charlie"))).settings.chat).toBe("always");
    // Untouched channels: no call reached the backend for them, and they produced no events.
    expect(backend.calls.map((c) => c.target).sort()).toEqual(["bravo", "charlie", "delta"]);
    expect(events.filter((e) => e.event.channel === "alpha" || e.event.channel === "envchan")).toEqual([]);
    expect((await harness.metrics.configReloads.get()).values.find((v) => v.labels["result"] === "ok")?.value).toBe(2);
  });

  it("keeps the running configuration on broken YAML, reports the line, and applies the next valid save", async () => {
    const { path, backend, events, harness } = await start("channels:\n  - alpha\n");
    events.length = 0;
    await save(path, "channels:\n  - alpha\n  - name: bravo\n    chat: [always\n");
    const rejected = await waitFor(() => events.find((e) => e.event.topic === "config"), "the rejection");
    if (rejected.event.topic !== "config") throw new Error("not a config event");
    expect(rejected.event.report.ok).toBe(false);
    expect(rejected.event.report.errors[0]?.line).toBeGreaterThanOrEqual(4);
    expect(rejected.event.report.errors[0]?.message).toMatch(/channels\.yaml:\d+:\d+: invalid YAML/);
    expect(await names(backend)).toEqual(["alpha"]);
    const logged = harness.logs.find((l) => l.message.startsWith("channels file rejected"));
    expect(String(logged?.annotations["problems"])).toMatch(/channels\.yaml:\d+/);
    expect((await harness.metrics.configReloads.get()).values.find((v) => v.labels["result"] === "invalid")?.value).toBe(1);

    events.length = 0;
    await save(path, "channels:\n  - alpha\n  - bravo\n");
    await waitFor(() => events.find((e) => e.event.topic === "config"), "the next reload");
    expect(await names(backend)).toEqual(["alpha", "bravo"]);
  });

  it("reloads on config.reload, and refuses to remove a file channel through control", async () => {
    const { path, backend, client } = await start("channels:\n  - alpha\n");
    const removal = await client.request("channels.remove", { name: "alpha" }).catch((e: Error) => e);
    expect(String((removal as Error).message)).toMatch(/channels file .*channels\.yaml.*edit/);
    // Written without a rename and read at once by config.reload, whatever the watcher does.
    await writeFile(path, "channels:\n  - alpha\n  - echo\n");
    const report = await client.request("config.reload");
    expect(report.ok).toBe(true);
    expect(await names(backend)).toEqual(["alpha", "echo"]);
  });

  it("reloads on SIGHUP", async () => {
    const backend = makeInMemoryControlBackend();
    let channels = ["alpha"];
    harness = await startControlHarness({
      backend,
      sighup: true,
      configured: () =>
        Effect.sync(() => ({ channels: channels.map((name) => ({ name, source: "env" as const, paused: false, settings: testChannelSettings })), defaults: testChannelSettings })),
    });
    client = await harness.connect();
    const events: Array<EventFrame> = [];
    client.onEvent((frame) => events.push(frame));
    await client.request("subscribe", { topics: ["config"] });
    channels = ["alpha", "bravo"];
    process.kill(process.pid, "SIGHUP");
    const reload = await waitFor(() => events.find((e) => e.event.topic === "config"), "the SIGHUP reload");
    expect(reload.event).toMatchObject({ trigger: "sighup", report: { ok: true, added: ["bravo"] } });
    expect(await names(backend)).toEqual(["alpha", "bravo"]);
    expect(backend.auditLog.at(-1)).toMatchObject({ actor: "SIGHUP", action: "config.reload" });
  });

  it("leaves a control-added channel alone when the file changes", async () => {
    const { path, backend, client, events } = await start("channels:\n  - alpha\n");
    await client.request("channels.add", { name: "viacontrol" });
    backend.calls.length = 0;
    events.length = 0;
    await save(path, "channels:\n  - bravo\n");
    await waitFor(() => events.find((e) => e.event.topic === "config"), "the reload");
    expect(await names(backend)).toEqual(["bravo", "viacontrol"]);
    expect(backend.calls.filter((c) => c.target === "viacontrol")).toEqual([]);
  });
});
