/**
 * Download slots: `MAX_CONCURRENT_DOWNLOADS` permits shared by every channel
 * of the process, handed out fairly.
 *
 * When a slot frees up and several channels wait, the channel served least
 * recently gets it (a channel never served comes first); on equal turns the
 * channel with the higher `priority` setting wins, then the one that has
 * waited longest. So a channel with 500 queued VODs cannot starve one with a
 * single VOD: the single VOD starts within one slot turn. Within a channel,
 * waiters are served in arrival order.
 *
 * Effect's `PartitionedSemaphore` also rotates between partitions, but in key
 * insertion order and without priorities or a view of who holds what, which
 * the status API and the metrics need; hence this small pool.
 */
import { Context, Effect, Layer } from "effect";
import type { Scope } from "effect";

/** Who holds and who waits, per channel. */
export interface SlotSnapshot {
  readonly capacity: number;
  readonly inUse: number;
  /** Slots held per channel. */
  readonly holding: Readonly<Record<string, number>>;
  /** Waiters per channel. */
  readonly waiting: Readonly<Record<string, number>>;
}

/** The pool's operations. */
export interface DownloadSlotsService {
  /**
   * Waits for a slot for `channel` and holds it until the surrounding scope
   * closes. Interrupting the wait gives up the place in line (and a slot
   * granted at that very moment goes to the next waiter).
   */
  readonly acquire: (channel: string, priority?: number) => Effect.Effect<void, never, Scope.Scope>;
  /** Runs `effect` holding a slot for `channel`. */
  readonly withSlot: (
    channel: string,
    priority?: number,
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Scope.Scope>>;
  readonly snapshot: Effect.Effect<SlotSnapshot>;
}

interface Waiter {
  readonly channel: string;
  readonly priority: number;
  readonly arrival: number;
  granted: boolean;
  readonly wake: () => void;
}

/**
 * The pool's bookkeeping, free of Effect so it can be reasoned about (and
 * tested) step by step: `request` either grants at once or queues, `release`
 * hands the slot to the next waiter by the rules above.
 */
export class SlotPool {
  readonly capacity: number;
  #inUse = 0;
  #arrivals = 0;
  #turn = 0;
  readonly #lastServed = new Map<string, number>();
  readonly #waiting: Array<Waiter> = [];
  readonly #holding = new Map<string, number>();

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** Asks for a slot: granted at once (true) when one is free and nobody waits; else queued until `wake`. */
  request(channel: string, priority: number, wake: () => void): { readonly granted: boolean; readonly waiter: Waiter | undefined } {
    if (this.#inUse < this.capacity && this.#waiting.length === 0) {
      this.#grant(channel);
      return { granted: true, waiter: undefined };
    }
    const waiter: Waiter = { channel, priority, arrival: this.#arrivals++, granted: false, wake };
    this.#waiting.push(waiter);
    return { granted: false, waiter };
  }

  /** Leaves the line without a slot; a waiter granted meanwhile gives its slot back instead. */
  cancel(waiter: Waiter): void {
    if (waiter.granted) return this.release(waiter.channel);
    const index = this.#waiting.indexOf(waiter);
    if (index >= 0) this.#waiting.splice(index, 1);
  }

  /** Returns a slot held by `channel` and passes it on. */
  release(channel: string): void {
    const held = this.#holding.get(channel) ?? 0;
    if (held <= 1) this.#holding.delete(channel);
    else this.#holding.set(channel, held - 1);
    this.#inUse = Math.max(0, this.#inUse - 1);
    while (this.#inUse < this.capacity && this.#waiting.length > 0) {
      const next = this.#pickNext();
      this.#waiting.splice(this.#waiting.indexOf(next), 1);
      next.granted = true;
      this.#grant(next.channel);
      next.wake();
    }
  }

  snapshot(): SlotSnapshot {
    const waiting: Record<string, number> = {};
    for (const waiter of this.#waiting) waiting[waiter.channel] = (waiting[waiter.channel] ?? 0) + 1;
    return { capacity: this.capacity, inUse: this.#inUse, holding: Object.fromEntries(this.#holding), waiting };
  }

  #grant(channel: string): void {
    this.#inUse++;
    this.#holding.set(channel, (this.#holding.get(channel) ?? 0) + 1);
    this.#lastServed.set(channel, ++this.#turn);
  }

  // Least recently served channel first; then priority; then arrival.
  #pickNext(): Waiter {
    let best = this.#waiting[0] as Waiter;
    for (const waiter of this.#waiting) {
      const served = this.#lastServed.get(waiter.channel) ?? 0;
      const bestServed = this.#lastServed.get(best.channel) ?? 0;
      if (
        served < bestServed ||
        (served === bestServed && (waiter.priority > best.priority || (waiter.priority === best.priority && waiter.arrival < best.arrival)))
      ) {
        best = waiter;
      }
    }
    return best;
  }

  /** Forgets channels that neither hold nor wait, so the turn table does not grow with every channel ever seen. */
  prune(): void {
    const active = new Set([...this.#holding.keys(), ...this.#waiting.map((waiter) => waiter.channel)]);
    for (const channel of this.#lastServed.keys()) if (!active.has(channel)) this.#lastServed.delete(channel);
  }
}

/** Builds a pool of `capacity` slots. */
export const makeDownloadSlots = (capacity: number): Effect.Effect<DownloadSlotsService> =>
  Effect.sync(() => {
    const pool = new SlotPool(capacity);
    let releases = 0;

    const take = (channel: string, priority: number) =>
      Effect.callback<void>((resume) => {
        const { granted, waiter } = pool.request(channel, priority, () => resume(Effect.void));
        if (granted || waiter === undefined) return resume(Effect.void);
        return Effect.sync(() => pool.cancel(waiter));
      });

    const giveBack = (channel: string) =>
      Effect.sync(() => {
        pool.release(channel);
        // A channel idle for a whole round loses its turn record; that only makes it first in line again.
        if (++releases % 1024 === 0) pool.prune();
      });

    const acquire = (channel: string, priority = 0): Effect.Effect<void, never, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.andThen(restore(take(channel, priority)), Effect.addFinalizer(() => giveBack(channel))),
      );

    const withSlot =
      (channel: string, priority = 0) =>
      <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.scoped(Effect.andThen(acquire(channel, priority), effect));

    return { acquire, withSlot, snapshot: Effect.sync(() => pool.snapshot()) };
  });

/** The process's download slots. */
export class DownloadSlots extends Context.Service<DownloadSlots, DownloadSlotsService>()("vod-tender/services/DownloadSlots") {
  /** A pool of `capacity` (`MAX_CONCURRENT_DOWNLOADS`) slots. */
  static readonly layer = (capacity: number): Layer.Layer<DownloadSlots> => Layer.effect(DownloadSlots, makeDownloadSlots(capacity));
}
