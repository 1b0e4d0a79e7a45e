import { Effect, Logger, Semaphore } from "effect";
import { describe, expect, it } from "vitest";
import type { ChannelSpec } from "../../../src/services/channel-settings.ts";
import { ChannelsFileError } from "../../../src/services/config-error.ts";
import { desiredChannels, diffChannels, makeChannelReconciler, sameSettings } from "../../../src/runtime/channel-reconciler.ts";
import type { ConfiguredChannels } from "../../../src/runtime/channel-reconciler.ts";
import { ControlError } from "../../../src/runtime/control-backend.ts";
import type { ControlEvent } from "../../../src/runtime/control-protocol.ts";
import { makeInMemoryControlBackend, testChannelSettings } from "../../support/in-memory-control-backend.ts";

const spec = (name: string, overrides: Partial<ChannelSpec> = {}): ChannelSpec => ({
  name,
  source: "file",
  paused: false,
  settings: testChannelSettings,
  ...overrides,
});
const withChat = (chat: "off" | "auto" | "always") => ({ ...testChannelSettings, chat });

describe("diffChannels", () => {
  it("adds what is missing, removes what is no longer wanted, and leaves equal channels alone", () => {
    const diff = diffChannels([spec("keep"), spec("new")], [spec("keep"), spec("gone")], new Map());
    expect(diff.add.map((s) => s.name)).toEqual(["new"]);
    expect(diff.remove).toEqual(["gone"]);
    expect(diff.update).toEqual([]);
  });

  it("updates changed settings and a changed source", () => {
    const diff = diffChannels(
      [spec("a", { settings: withChat("always") }), spec("b", { source: "file" })],
      [spec("a"), spec("b", { source: "control" })],
      new Map(),
    );
    expect(diff.update.map((u) => [u.spec.name, u.settings, u.source, u.pause])).toEqual([
      ["a", true, false, undefined],
      ["b", false, true, undefined],
    ]);
  });

  it("keeps an operator's pause and settings override while the file entry is unchanged", () => {
    const last = new Map([["a", spec("a")]]);
    const running = [spec("a", { paused: true, settings: withChat("off") })];
    expect(diffChannels([spec("a")], running, last).update).toEqual([]);
    // Once the file itself changes the channel, the file wins again.
    const edited = diffChannels([spec("a", { settings: withChat("always"), paused: false })], running, last);
    expect(edited.update.map((u) => [u.settings, u.pause])).toEqual([[true, undefined]]);
    const pausedInFile = diffChannels([spec("a", { paused: true })], [spec("a")], new Map([["a", spec("a")]]));
    expect(pausedInFile.update.map((u) => u.pause)).toEqual([true]);
  });

  it("compares settings by value, whatever the key order", () => {
    const { priority, ...rest } = testChannelSettings;
    const reordered = JSON.parse(JSON.stringify({ priority, ...rest })) as typeof testChannelSettings;
    expect(sameSettings(reordered, testChannelSettings)).toBe(true);
    expect(sameSettings(withChat("off"), testChannelSettings)).toBe(false);
  });
});

describe("desiredChannels", () => {
  it("lets a configured channel take over a persisted control channel of the same name", () => {
    const desired = desiredChannels([spec("both"), spec("env", { source: "env" })], [spec("both", { source: "control" }), spec("mine", { source: "control" })]);
    expect(desired.map((s) => [s.name, s.source])).toEqual([
      ["both", "file"],
      ["mine", "control"],
      ["env", "env"],
    ]);
  });
});

// Reconcile logs are checked through the control harness; here they would only clutter the output.
const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect.pipe(Effect.provide(Logger.layer([]))));

describe("makeChannelReconciler", () => {
  const setup = (configured: () => Effect.Effect<ConfiguredChannels, ChannelsFileError>, persisted: ReadonlyArray<ChannelSpec> = []) => {
    const backend = makeInMemoryControlBackend({ persisted });
    const events: Array<ControlEvent> = [];
    const counted: Array<string> = [];
    const reconciler = makeChannelReconciler({
      backend,
      configured,
      initialDefaults: testChannelSettings,
      lock: Semaphore.makeUnsafe(1),
      publish: (event) => events.push(event),
      countReload: (result) => counted.push(result),
    });
    return { backend, events, counted, reconciler };
  };

  it("starts configured and persisted channels, then applies only what changed", async () => {
    let channels = [spec("a"), spec("b")];
    const { backend, reconciler, counted, events } = setup(
      () => Effect.succeed({ channels, defaults: withChat("always") }),
      [spec("ctl", { source: "control" })],
    );
    const first = await run(reconciler.reconcile("start", "startup"));
    expect([...first.added].sort()).toEqual(["a", "b", "ctl"]);
    expect(reconciler.defaults().chat).toBe("always");

    backend.calls.length = 0;
    channels = [spec("a", { settings: withChat("off") }), spec("c")];
    const second = await run(reconciler.reconcile("watch", "channels-file watcher"));
    expect(second).toMatchObject({ ok: true, added: ["c"], removed: ["b"], updated: ["a"], failed: [] });
    expect(backend.calls).toEqual([
      { method: "remove", target: "b" },
      { method: "update", target: "a" },
      { method: "add", target: "c" },
    ]);
    expect(counted).toEqual(["ok", "ok"]);
    expect(events.filter((e) => e.topic === "config").map((e) => e.topic === "config" && e.trigger)).toEqual(["start", "watch"]);
    expect(backend.auditLog.map((a) => [a.actor, a.action, a.target])).toEqual([
      ["startup", "config.reload", "start"],
      ["channels-file watcher", "config.reload", "watch"],
    ]);
  });

  it("keeps everything running when the file is invalid and reports every problem with its line", async () => {
    let valid = true;
    const { backend, reconciler, counted, events } = setup(() =>
      valid
        ? Effect.succeed({ channels: [spec("a")], defaults: testChannelSettings })
        : Effect.fail(
            new ChannelsFileError({
              file: "channels.yaml",
              issues: [
                { line: 3, column: 5, path: "channels[0]", message: "expected a Twitch login" },
                { line: 7, column: 1, path: "defaults.chta", message: 'unknown key "chta"' },
              ],
            }),
          ),
    );
    await run(reconciler.reconcile("start", "startup"));
    backend.calls.length = 0;
    valid = false;
    const report = await run(reconciler.reconcile("watch", "channels-file watcher"));
    expect(report.ok).toBe(false);
    expect(report.errors.map((e) => [e.line, e.message])).toEqual([
      [3, "channels.yaml:3:5: channels[0]: expected a Twitch login"],
      [7, 'channels.yaml:7:1: defaults.chta: unknown key "chta"'],
    ]);
    expect(backend.calls).toEqual([]);
    expect((await Effect.runPromise(backend.channels.list())).map((c) => c.name)).toEqual(["a"]);
    expect(counted).toEqual(["ok", "invalid"]);
    expect(events.at(-1)).toMatchObject({ topic: "config", report: { ok: false } });
    expect(backend.auditLog.at(-1)).toMatchObject({ result: "error", error: expect.stringContaining("channels.yaml:3") });
  });

  it("applies the rest of a diff when one channel fails, and retries that one next time", async () => {
    const { backend, reconciler, counted } = setup(() => Effect.succeed({ channels: [spec("good"), spec("bad")], defaults: testChannelSettings }));
    backend.failNextAdd("bad", new ControlError({ code: "unavailable", message: "helix is down" }));
    const first = await run(reconciler.reconcile("start", "startup"));
    expect(first).toMatchObject({ ok: true, added: ["good"], failed: [{ channel: "bad", message: "helix is down" }] });
    const second = await run(reconciler.reconcile("sighup", "SIGHUP"));
    expect(second).toMatchObject({ ok: true, added: ["bad"], failed: [] });
    expect(counted).toEqual(["partial", "ok"]);
  });
});
