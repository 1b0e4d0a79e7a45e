import { assert, describe, it } from "@effect/vitest";
import { Deferred, Effect, Fiber } from "effect";
import { makeKeyedLock } from "../../../src/actors/keyed-lock.ts";

describe("keyed lock", () => {
  it.live("runs operations on one key one at a time, in order, and other keys meanwhile", () =>
    Effect.gen(function* () {
      const lock = makeKeyedLock();
      const log: Array<string> = [];
      const gate = yield* Deferred.make<void>();
      const first = yield* Effect.forkChild(lock.withLock("alice", Effect.sync(() => log.push("alice 1 start")).pipe(Effect.andThen(Deferred.await(gate)), Effect.andThen(Effect.sync(() => log.push("alice 1 end"))))));
      yield* Effect.yieldNow;
      const second = yield* Effect.forkChild(lock.withLock("alice", Effect.sync(() => log.push("alice 2"))));
      yield* lock.withLock("bob", Effect.sync(() => log.push("bob")));
      assert.deepStrictEqual(log, ["alice 1 start", "bob"]);
      assert.strictEqual(lock.size(), 1);
      yield* Deferred.succeed(gate, undefined);
      yield* Fiber.join(first);
      yield* Fiber.join(second);
      assert.deepStrictEqual(log, ["alice 1 start", "bob", "alice 1 end", "alice 2"]);
      assert.strictEqual(lock.size(), 0);
    }));

  it.live("releases the key when the operation fails or is interrupted", () =>
    Effect.gen(function* () {
      const lock = makeKeyedLock();
      yield* Effect.flip(lock.withLock("alice", Effect.fail("nope")));
      const hung = yield* Effect.forkChild(lock.withLock("alice", Effect.never));
      yield* Effect.yieldNow;
      yield* Fiber.interrupt(hung);
      assert.strictEqual(lock.size(), 0);
      assert.strictEqual(yield* lock.withLock("alice", Effect.succeed("free")), "free");
    }));
});
