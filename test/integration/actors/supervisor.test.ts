import { assert, describe, it } from "@effect/vitest";
import { Context, Effect, Exit, Layer, ManagedRuntime, Scope, Stream } from "effect";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CatalogWork } from "../../../src/actors/catalog-work.ts";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import { ToolCheck } from "../../../src/actors/tool-check.ts";
import { RuntimeEvents } from "../../../src/services/runtime-events.ts";
import type { ActorInspected, RuntimeEvent } from "../../../src/services/runtime-events.ts";
import { Supervisor } from "../../../src/services/supervisor.ts";
import type { ChannelStatus } from "../../../src/services/supervisor.ts";
import { Tools } from "../../../src/services/tools.ts";
import { eventually, recordEvents, settings, supervisorLayer } from "./supervisor-harness.ts";

const running = (supervisor: Supervisor["Service"], name: string) =>
  eventually(Effect.map(supervisor.status(name), (status) => (status.state === "running" ? status : undefined)));

const session = (status: ChannelStatus, actor: string): string | undefined =>
  status.tree.children.find((child) => child.actor === actor)?.sessionId;

describe("Supervisor", () => {
  it.live("answers with typed errors: a channel that exists, one that does not, a name that cannot be a login", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      yield* supervisor.addChannel("alice", settings);
      const exists = yield* Effect.flip(supervisor.addChannel("alice", settings));
      assert.deepInclude(exists, { _tag: "ChannelExists", channel: "alice" });
      for (const attempt of [
        supervisor.removeChannel("nobody"),
        supervisor.pause("nobody"),
        supervisor.resume("nobody"),
        supervisor.update("nobody", settings),
        supervisor.status("nobody"),
        supervisor.request("nobody", { type: "SCAN" }),
      ]) {
        assert.deepInclude(yield* Effect.flip(attempt), { _tag: "ChannelNotFound", channel: "nobody" });
      }
      for (const name of ["", "Alice", "al.ice", "a".repeat(26), "#alice"]) {
        assert.strictEqual((yield* Effect.flip(supervisor.addChannel(name, settings)))._tag, "InvalidChannelName");
      }
      assert.deepStrictEqual((yield* supervisor.list).map((status) => status.name), ["alice"]);
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));

  it.live("reports the whole subtree of a channel, its source, and counts channels by state", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const added = yield* supervisor.addChannel("alice", settings, { source: "file" });
      assert.strictEqual(added.name, "alice");
      yield* supervisor.addChannel("bob", settings, { paused: true });
      const alice = yield* running(supervisor, "alice");
      assert.strictEqual(alice.source, "file");
      assert.strictEqual(alice.breaker, "closed");
      assert.strictEqual(alice.download, null);
      assert.deepStrictEqual(
        alice.tree.children.map((child) => [child.actor, child.state, child.children.map((grandchild) => grandchild.actor)]),
        [
          ["catalog", "idle.scheduled", []],
          ["processor", "idle", ["breaker"]],
          ["chat", "watching.offline", ["watchLive"]],
        ],
      );
      assert.deepStrictEqual(alice.children.chat, { state: "watching.offline", status: "ready", restarts: 0, reason: null });
      const bob = yield* supervisor.status("bob");
      assert.strictEqual(bob.state, "paused");
      assert.isTrue(bob.paused);
      assert.deepStrictEqual(yield* supervisor.summary, { starting: 0, running: 1, degraded: 0, paused: 1, stopping: 0, stopped: 0, failed: 0 });
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));

  it.live("pauses (no child runs) and resumes with fresh children", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const seen = yield* recordEvents;
      yield* supervisor.addChannel("alice", settings);
      const before = yield* running(supervisor, "alice");
      const paused = yield* supervisor.pause("alice");
      assert.strictEqual(paused.state, "paused");
      // Only the channel's own release of its children's resources may still be running.
      assert.deepStrictEqual(paused.tree.children.filter((child) => child.actor !== "releaseChildren"), []);
      assert.deepStrictEqual(Object.values(paused.children).map((child) => child.state), [null, null, null]);
      yield* supervisor.resume("alice");
      const resumed = yield* running(supervisor, "alice");
      assert.notStrictEqual(session(resumed, "processor"), session(before, "processor"));
      assert.strictEqual(resumed.tree.sessionId, before.tree.sessionId);
      assert.deepStrictEqual(
        seen.filter((event) => event._tag === "ChannelChanged").map((event) => event._tag === "ChannelChanged" && event.change),
        ["added", "paused", "resumed"],
      );
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));

  it.live("applies new settings without restarting the children whose settings did not change", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      yield* supervisor.addChannel("alice", settings);
      const before = yield* running(supervisor, "alice");

      const faster = { ...settings, catalog: { ...settings.catalog, intervalMs: 60_000 }, upload: { ...settings.upload, privacy: "unlisted" as const } };
      const updated = yield* supervisor.update("alice", faster);
      assert.deepStrictEqual(updated.settings, faster);
      for (const actor of ["catalog", "processor", "chat"]) assert.strictEqual(session(updated, actor), session(before, actor));

      // A new chat mode changes what the recorder is: chat alone restarts, and it is not counted as a failure.
      yield* supervisor.update("alice", { ...faster, chat: "off" });
      const after = yield* eventually(
        Effect.map(supervisor.status("alice"), (status) => (status.state === "running" && status.children.chat.state === "off" ? status : undefined)),
      );
      assert.notStrictEqual(session(after, "chat"), session(before, "chat"));
      assert.strictEqual(session(after, "catalog"), session(before, "catalog"));
      assert.strictEqual(session(after, "processor"), session(before, "processor"));
      assert.strictEqual(after.restarts, 0);
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));

  it.live("routes requests: a scan to the catalog, and a finished scan wakes the processor", () => {
    const scans: Array<string> = [];
    const claims: Array<string> = [];
    const catalog = Layer.succeed(
      CatalogWork,
      CatalogWork.of({ scan: (channel) => Effect.sync(() => void scans.push(channel)).pipe(Effect.as({ found: 2, added: 1 })) }),
    );
    const processor = Layer.effect(
      ProcessorWork,
      ProcessorWork.useSync((idle) => ProcessorWork.of({ ...idle, claimNext: (channel) => Effect.sync(() => void claims.push(channel)).pipe(Effect.as(null)) })),
    ).pipe(Layer.provide(ProcessorWork.layerIdle));
    return Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      yield* supervisor.addChannel("alice", settings);
      yield* running(supervisor, "alice");
      const claimsAtStart = claims.length;
      assert.strictEqual(claimsAtStart, 1);
      yield* supervisor.request("alice", { type: "SCAN" });
      yield* eventually(Effect.sync(() => (scans.length === 1 && claims.length === 2 ? true : undefined)));
      yield* supervisor.request("alice", { type: "WAKE" });
      yield* eventually(Effect.sync(() => (claims.length === 3 ? true : undefined)));
      assert.deepStrictEqual(scans, ["alice"]);
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer({ catalog, processor })));
  });

  it.live("a processor without its tools is degraded, says which and why, and the channel is degraded", () =>
    Effect.gen(function* () {
      // A real lookup on a PATH that holds none of them.
      const empty = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "vod-tender-no-tools-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
      );
      const tools = ToolCheck.layer({ searchPath: empty }).pipe(Layer.provide(Tools.layer({ searchPath: empty })));
      yield* Effect.gen(function* () {
        const supervisor = yield* Supervisor;
        yield* supervisor.addChannel("alice", settings);
        const status = yield* eventually(Effect.map(supervisor.status("alice"), (s) => (s.state === "degraded" ? s : undefined)));
        assert.strictEqual(status.children.processor.status, "degraded");
        assert.include(status.reason, "yt-dlp: yt-dlp not found on PATH");
        assert.include(status.reason, "ffmpeg");
        assert.include(status.reason, "ffprobe");
        // The rest of the channel works: chat and catalog are ready.
        assert.strictEqual(status.children.chat.status, "ready");
        assert.strictEqual(status.children.catalog.status, "ready");
      }).pipe(Effect.provide(supervisorLayer({ tools })));
    }).pipe(Effect.scoped));

  it.live("publishes what happens on a typed event stream", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const events = yield* RuntimeEvents;
      const collected: Array<RuntimeEvent> = [];
      const subscription = yield* events.subscribe;
      yield* Effect.forkScoped(
        Stream.fromSubscription(subscription).pipe(Stream.runForEach((event) => Effect.sync(() => void collected.push(event)))),
      );
      yield* supervisor.addChannel("alice", settings);
      yield* eventually(
        Effect.sync(() =>
          collected.some((event) => event._tag === "ActorTransition" && event.channel === "alice" && event.actor === "channel" && event.to === "running")
            ? true
            : undefined,
        ),
      );
      assert.isTrue(collected.some((event) => event._tag === "ChannelChanged" && event.channel === "alice" && event.change === "added"));
      assert.isTrue(
        collected.some((event) => event._tag === "ActorTransition" && event.actor === "processor.breaker" && event.from === "restoring" && event.to === "closed"),
      );
      // Raw inspection only when asked for.
      assert.isFalse(collected.some((event) => event._tag === "ActorInspected"));
      yield* events.demandInspection;
      yield* supervisor.addChannel("bob", settings);
      const inspected = yield* eventually(
        Effect.sync(() => collected.find((event): event is ActorInspected => event._tag === "ActorInspected" && event.channel === "bob" && event.kind === "actor" && event.actor === "channel")),
      );
      assert.isString(inspected.sessionId);
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));

  it.live("serves plain async code through a ManagedRuntime, typed errors included, and refuses work once shut down", () =>
    Effect.gen(function* () {
      const runtime = ManagedRuntime.make(supervisorLayer());
      const added = yield* Effect.promise(() => runtime.runPromise(Supervisor.use((supervisor) => supervisor.addChannel("alice", settings))));
      assert.strictEqual(added.name, "alice");
      const again = yield* Effect.promise(() =>
        runtime.runPromise(
          Supervisor.use((supervisor) => supervisor.addChannel("alice", settings)).pipe(
            Effect.map(() => "added"),
            Effect.catchTag("ChannelExists", (error) => Effect.succeed(`exists: ${error.channel}`)),
          ),
        ),
      );
      assert.strictEqual(again, "exists: alice");
      const supervisor = yield* Effect.promise(() => runtime.runPromise(Supervisor.useSync((service) => service)));
      yield* Effect.promise(() => runtime.dispose());
      assert.strictEqual((yield* Effect.flip(supervisor.addChannel("bob", settings)))._tag, "SupervisorClosed");
    }));

  it.live("shuts down with the scope, every channel stopped", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make();
      const context = yield* Layer.buildWithScope(supervisorLayer(), scope);
      const supervisor = Context.get(context, Supervisor);
      yield* supervisor.addChannel("alice", settings);
      yield* supervisor.addChannel("bob", settings);
      yield* running(supervisor, "bob");
      yield* Scope.close(scope, Exit.void);
      const resources = yield* supervisor.resources;
      assert.deepInclude(resources, { channels: 0, fibers: 0, holds: 0, timers: 0, scopes: 0 });
    }));
});
