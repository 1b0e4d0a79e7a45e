import { assert, describe, it } from "@effect/vitest";
import { Deferred, Effect, Exit, Fiber } from "effect";
import { ActorAccounting, ActorScope } from "../../../src/actors/actor-scope.ts";

/** Waits (a bounded number of scheduler turns) until `condition` holds. */
const until = (condition: () => boolean) =>
  Effect.gen(function* () {
    for (let turn = 0; turn < 1_000 && !condition(); turn++) yield* Effect.sleep(1);
    assert.isTrue(condition());
  });

const make = Effect.gen(function* () {
  const accounting = new ActorAccounting();
  const services = yield* Effect.context<never>();
  return { accounting, scope: new ActorScope("alice/processor", services, accounting) };
});

describe("ActorScope", () => {
  it.live("runs work in fibers it counts, and releases each run's resources when it ends", () =>
    Effect.gen(function* () {
      const { accounting, scope } = yield* make;
      const released: Array<string> = [];
      const gate = yield* Deferred.make<void>();
      const fiber = scope.run(
        Effect.acquireRelease(Effect.succeed("socket"), (name) => Effect.sync(() => released.push(name))).pipe(
          Effect.andThen(Deferred.await(gate)),
          Effect.as(42),
        ),
      );
      assert.strictEqual(accounting.fibers, 1);
      assert.strictEqual(scope.running, 1);
      yield* Deferred.succeed(gate, undefined);
      assert.strictEqual(yield* Fiber.join(fiber), 42);
      assert.deepStrictEqual(released, ["socket"]);
      assert.strictEqual(accounting.fibers, 0);
      assert.strictEqual(accounting.scopes, 1);
    }));

  it.live("close interrupts running work, runs its finalizers, and reports a clean teardown", () =>
    Effect.gen(function* () {
      const { accounting, scope } = yield* make;
      const finalized: Array<string> = [];
      const started = yield* Deferred.make<void>();
      const fiber = scope.run(
        Effect.acquireRelease(Effect.succeed("yt-dlp"), (name) => Effect.sync(() => finalized.push(`killed ${name}`))).pipe(
          Effect.andThen(Deferred.succeed(started, undefined)),
          Effect.andThen(Effect.never),
        ),
      );
      yield* Deferred.await(started);
      const report = yield* scope.close(5_000);
      assert.deepStrictEqual(report, { actor: "alice/processor", abandoned: 0 });
      assert.deepStrictEqual(finalized, ["killed yt-dlp"]);
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)));
      assert.strictEqual(accounting.fibers, 0);
      assert.strictEqual(accounting.scopes, 0);
      assert.isTrue(scope.closed);
    }));

  it.live("close gives up on a finalizer that never finishes, and says how much was abandoned", () =>
    Effect.gen(function* () {
      const { scope } = yield* make;
      const started = yield* Deferred.make<void>();
      scope.run(
        Effect.acquireRelease(Effect.void, () => Effect.never).pipe(
          Effect.andThen(Deferred.succeed(started, undefined)),
          Effect.andThen(Effect.never),
        ),
      );
      yield* Deferred.await(started);
      const report = yield* scope.close(50);
      assert.strictEqual(report.abandoned, 1);
      // A second close waits for the same teardown and gives up the same way.
      assert.strictEqual((yield* scope.close(10)).abandoned, 1);
    }));

  it.live("holds what an effect acquired until released, or until the actor closes", () =>
    Effect.gen(function* () {
      const { accounting, scope } = yield* make;
      const events: Array<string> = [];
      const subscribe = (name: string) =>
        Effect.acquireRelease(Effect.sync(() => events.push(`+${name}`)), () => Effect.sync(() => events.push(`-${name}`)));
      const first = scope.hold(subscribe("live-status"));
      yield* Fiber.join(first.fiber);
      assert.deepStrictEqual(events, ["+live-status"]);
      assert.strictEqual(accounting.holds, 1);
      first.release();
      yield* until(() => events.length === 2);
      assert.deepStrictEqual(events, ["+live-status", "-live-status"]);
      assert.strictEqual(accounting.holds, 0);

      const second = scope.hold(subscribe("slot"));
      yield* Fiber.join(second.fiber);
      yield* scope.close(5_000);
      assert.deepStrictEqual(events.slice(2), ["+slot", "-slot"]);
      assert.strictEqual(accounting.holds, 0);
      // Releasing after the close changes nothing.
      second.release();
      assert.strictEqual(accounting.holds, 0);
    }));

  it.live("a hold whose acquisition fails holds nothing", () =>
    Effect.gen(function* () {
      const { accounting, scope } = yield* make;
      const held = scope.hold(Effect.fail("refused"));
      assert.isTrue(Exit.isFailure(yield* Fiber.await(held.fiber)));
      assert.strictEqual(accounting.holds, 0);
    }));

  it.live("work started after close is interrupted before it runs", () =>
    Effect.gen(function* () {
      const { scope } = yield* make;
      yield* scope.close(1_000);
      let ran = false;
      const fiber = scope.run(Effect.sync(() => (ran = true)));
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)));
      assert.isFalse(ran);
    }));
});
