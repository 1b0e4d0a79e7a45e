/**
 * Time source of the simulator. Token expiry, rate-limit buckets, live schedules and
 * `tmi-sent-ts` read it; chat pacing does not (it follows real elapsed time so a frozen
 * clock does not stop the chat).
 */
export interface SimClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: SimClock = { now: () => Date.now() };

/**
 * A clock that only moves when told to. Use it in tests that need exact rate-limit or
 * token-expiry behaviour on a busy machine.
 */
export class ManualClock implements SimClock {
  #now: number;

  /** Starts at `start` (epoch milliseconds), the wall clock by default. */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms;
  }

  /** Sets the clock to an absolute instant. */
  set(epochMs: number): void {
    this.#now = epochMs;
  }
}
