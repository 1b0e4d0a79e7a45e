import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { CatalogWork } from "../../../src/actors/catalog-work.ts";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import type { ChildRestarted, ErrorReported, RuntimeEvent } from "../../../src/services/runtime-events.ts";
import { Supervisor } from "../../../src/services/supervisor.ts";
import type { ChannelStatus } from "../../../src/services/supervisor.ts";
import { eventually, recordEvents, settings, supervisorLayer } from "./supervisor-harness.ts";

// Nothing may escape to the process: collect what would have crashed it.
const escaped: Array<unknown> = [];
const onEscape = (error: unknown) => void escaped.push(error);
beforeEach(() => {
  escaped.length = 0;
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
});
afterEach(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
  assert.deepStrictEqual(escaped, []);
});

/** The session of the channel actor and of each of its children: a restarted actor has a new one. */
const sessions = (status: ChannelStatus): Record<string, string> => ({
  channel: status.tree.sessionId,
  ...Object.fromEntries(status.tree.children.map((child) => [child.actor, child.sessionId])),
});

const isRestart = (channel: string, actor: string) => (event: RuntimeEvent): event is ChildRestarted =>
  event._tag === "ChildRestarted" && event.channel === channel && event.actor === actor;

const allRunning = (supervisor: Supervisor["Service"], names: ReadonlyArray<string>) =>
  eventually(
    Effect.map(Effect.forEach(names, (name) => supervisor.status(name)), (statuses) =>
      statuses.every((status) => status.state === "running") ? statuses : undefined,
    ),
  );

describe("supervision", () => {
  it.live("a child that throws is restarted alone; its siblings and the other channels are untouched", () => {
    let crashes = 1;
    const catalog = Layer.succeed(
      CatalogWork,
      CatalogWork.of({
        scan: (channel) =>
          Effect.suspend(() => (channel === "alice" && crashes-- > 0 ? Effect.die(new Error("page parser bug")) : Effect.succeed({ found: 0, added: 0 }))),
      }),
    );
    return Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const seen = yield* recordEvents;
      yield* supervisor.addChannel("alice", settings);
      yield* supervisor.addChannel("bob", settings);
      const [aliceBefore, bobBefore] = yield* allRunning(supervisor, ["alice", "bob"]);

      yield* supervisor.request("alice", { type: "SCAN" });
      const restart = yield* eventually(Effect.sync(() => seen.find(isRestart("alice", "catalog"))));
      assert.deepInclude(restart, { attempt: 1, backoffMs: 20, reason: "crashed: page parser bug" });
      const crash = seen.find((event): event is ErrorReported => event._tag === "ErrorReported" && event.channel === "alice");
      assert.deepInclude(crash, { actor: "catalog", message: "crashed: page parser bug" });

      const aliceAfter = yield* eventually(
        Effect.map(supervisor.status("alice"), (status) => (status.state === "running" && status.children.catalog.restarts === 1 ? status : undefined)),
      );
      const before = sessions(aliceBefore!);
      const after = sessions(aliceAfter);
      assert.notStrictEqual(after.catalog, before.catalog);
      assert.strictEqual(after.processor, before.processor);
      assert.strictEqual(after.chat, before.chat);
      assert.strictEqual(after.channel, before.channel);
      assert.strictEqual(aliceAfter.restarts, 1);
      assert.deepInclude(aliceAfter.lastError, { actor: "catalog", message: "crashed: page parser bug" });

      const bobAfter = yield* supervisor.status("bob");
      assert.deepStrictEqual(sessions(bobAfter), sessions(bobBefore!));
      assert.strictEqual(bobAfter.state, "running");
      assert.strictEqual(bobAfter.restarts, 0);
      assert.isFalse(seen.some((event) => event.channel === "bob" && (event._tag === "ChildRestarted" || event._tag === "ErrorReported")));
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer({ catalog })));
  });

  it.live("an exception thrown outside any Effect is a crash like any other", () => {
    let crashes = 1;
    const catalog = Layer.succeed(
      CatalogWork,
      CatalogWork.of({
        scan: (channel) => {
          if (channel === "alice" && crashes-- > 0) throw new TypeError("cannot read properties of undefined (reading 'cursor')");
          return Effect.succeed({ found: 0, added: 0 });
        },
      }),
    );
    return Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const seen = yield* recordEvents;
      yield* supervisor.addChannel("alice", settings);
      yield* allRunning(supervisor, ["alice"]);
      yield* supervisor.request("alice", { type: "SCAN" });
      const restart = yield* eventually(Effect.sync(() => seen.find(isRestart("alice", "catalog"))));
      assert.include(restart.reason, "cannot read properties of undefined");
      yield* eventually(Effect.map(supervisor.status("alice"), (status) => (status.state === "running" ? status : undefined)));
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer({ catalog })));
  });

  it.live("a child that keeps throwing exceeds the restart intensity: its channel fails, the others keep running", () => {
    // The idle processor, but alice's queue holds a row that breaks the claim every time.
    const processor = Layer.effect(
      ProcessorWork,
      ProcessorWork.useSync((idle) =>
        ProcessorWork.of({
          ...idle,
          claimNext: (channel) => (channel === "alice" ? Effect.die(new Error("corrupt queue row")) : idle.claimNext(channel)),
        }),
      ),
    ).pipe(Layer.provide(ProcessorWork.layerIdle));
    return Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const seen = yield* recordEvents;
      yield* supervisor.addChannel("bob", settings);
      const [bobBefore] = yield* allRunning(supervisor, ["bob"]);
      yield* supervisor.addChannel("alice", settings);

      const escalation = yield* eventually(
        Effect.sync(() => seen.find((event) => event._tag === "ChannelEscalated" && event.channel === "alice")),
      );
      assert.deepInclude(escalation, {
        reason: "restart intensity exceeded: more than 3 restarts within 60s (last: processor corrupt queue row)",
        retryInMs: 600_000,
      });
      const restarts = seen.filter(isRestart("alice", "processor"));
      assert.deepStrictEqual(
        restarts.map((event) => [event.attempt, event.backoffMs]),
        [
          [1, 20],
          [2, 40],
          [3, 80],
        ],
      );

      const alice = yield* supervisor.status("alice");
      assert.strictEqual(alice.state, "failed");
      assert.strictEqual(alice.reason, escalation._tag === "ChannelEscalated" ? escalation.reason : "");
      assert.deepStrictEqual(
        Object.values(alice.children).map((child) => [child.status, child.state]),
        [
          ["stopped", null],
          ["stopped", null],
          ["stopped", null],
        ],
      );
      assert.strictEqual(alice.restarts, 3);

      const bob = yield* supervisor.status("bob");
      assert.strictEqual(bob.state, "running");
      assert.deepStrictEqual(sessions(bob), sessions(bobBefore!));
      assert.strictEqual(bob.restarts, 0);

      // Resuming retries the failed channel now; it fails again the same way.
      yield* supervisor.resume("alice");
      yield* eventually(
        Effect.sync(() => (seen.filter((event) => event._tag === "ChannelEscalated" && event.channel === "alice").length === 2 ? true : undefined)),
      );
      assert.strictEqual((yield* supervisor.status("bob")).state, "running");
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer({ processor })));
  });

  it.live("a channel actor that cannot even start is restarted with a backoff and reported, and the others keep running", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const seen = yield* recordEvents;
      yield* supervisor.addChannel("alice", settings);
      const [aliceBefore] = yield* allRunning(supervisor, ["alice"]);
      // Settings whose chat mode cannot be read: the channel's own logic throws while it starts.
      const poisoned = Object.defineProperty({ ...settings }, "chat", {
        get: () => {
          throw new Error("unreadable chat mode");
        },
      });
      yield* supervisor.addChannel("broken", poisoned);
      const crashes = () =>
        seen.filter((event): event is ErrorReported => event._tag === "ErrorReported" && event.channel === "broken" && event.actor === "channel");
      yield* eventually(Effect.sync(() => (crashes().length >= 3 ? true : undefined)));
      assert.strictEqual(crashes()[0]!.message, "channel actor crashed: unreadable chat mode");
      const alice = yield* supervisor.status("alice");
      assert.deepStrictEqual(sessions(alice), sessions(aliceBefore!));
      assert.strictEqual(alice.state, "running");

      // Removing it stops the restarts.
      yield* supervisor.removeChannel("broken");
      const after = crashes().length;
      yield* Effect.sleep(200);
      assert.strictEqual(crashes().length, after);
      assert.deepStrictEqual((yield* supervisor.list).map((status) => status.name), ["alice"]);
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));
});
