/**
 * One lock per key: operations on the same channel run one at a time, in
 * arrival order, while operations on different channels run concurrently.
 * A key's lock exists only while someone holds or waits for it.
 */
import { Effect, Semaphore } from "effect";

/** Runs effects exclusively per key. */
export interface KeyedLock {
  readonly withLock: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;
  /** Keys currently held or waited for. */
  readonly size: () => number;
}

/** Makes a keyed lock. */
export const makeKeyedLock = (): KeyedLock => {
  const locks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>();
  return {
    withLock: (key, effect) =>
      Effect.suspend(() => {
        let lock = locks.get(key);
        if (lock === undefined) {
          lock = { semaphore: Semaphore.makeUnsafe(1), users: 0 };
          locks.set(key, lock);
        }
        const held = lock;
        held.users += 1;
        return held.semaphore.withPermit(effect).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              held.users -= 1;
              if (held.users === 0) locks.delete(key);
            }),
          ),
        );
      }),
    size: () => locks.size,
  };
};
