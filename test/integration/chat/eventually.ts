/**
 * Waits for a condition that real sockets and timers make true eventually;
 * fails with `what` after `timeoutMs` (generous: a slow machine must not fail it).
 */
import { Effect } from "effect";

export const eventually = (condition: () => boolean, timeoutMs = 20_000, what = "condition"): Effect.Effect<void> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      yield* Effect.sleep("20 millis");
    }
  });

/** The same for a condition that needs an effect to check (a query). */
export const eventuallyEffect = <E, R>(condition: Effect.Effect<boolean, E, R>, timeoutMs = 20_000, what = "condition"): Effect.Effect<void, E, R> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs;
    while (!(yield* condition)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      yield* Effect.sleep("50 millis");
    }
  });
