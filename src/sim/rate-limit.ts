import type { SimClock } from "./clock.ts";

/** The verdict on one request and the values of the three `Ratelimit-*` headers. */
export interface RateDecision {
  readonly allowed: boolean;
  /** `Ratelimit-Limit`: points added per minute (also the bucket size). */
  readonly limit: number;
  /** `Ratelimit-Remaining`: whole points left after this request. */
  readonly remaining: number;
  /** `Ratelimit-Reset`: Unix seconds at which the bucket is full again. */
  readonly reset: number;
}

interface Bucket {
  points: number;
  at: number;
}

/**
 * Helix's token bucket, one per client id: `pointsPerMinute` points, refilled
 * continuously at that rate, one point a request (as Twitch documents). Time comes from
 * the sim clock, so a frozen `ManualClock` makes "the 801st request" exact.
 */
export class HelixRateLimiter {
  readonly #clock: SimClock;
  readonly #buckets = new Map<string, Bucket>();
  #capacity: number;

  constructor(clock: SimClock, pointsPerMinute: number) {
    this.#clock = clock;
    this.#capacity = pointsPerMinute;
  }

  /** Changes the bucket size and refill rate for every client. */
  setPointsPerMinute(n: number): void {
    this.#capacity = n;
  }

  #bucket(clientId: string, now: number): Bucket {
    let b = this.#buckets.get(clientId);
    if (b === undefined) {
      b = { points: this.#capacity, at: now };
      this.#buckets.set(clientId, b);
    } else if (now > b.at) {
      b.points = Math.min(this.#capacity, b.points + ((now - b.at) * this.#capacity) / 60_000);
      b.at = now;
    }
    return b;
  }

  #decision(b: Bucket, now: number, allowed: boolean): RateDecision {
    const msToFull = ((this.#capacity - b.points) * 60_000) / this.#capacity;
    return {
      allowed,
      limit: this.#capacity,
      remaining: Math.max(0, Math.floor(b.points)),
      reset: Math.ceil((now + msToFull) / 1000),
    };
  }

  /** Spends `points` when the bucket has them. */
  take(clientId: string, points = 1): RateDecision {
    const now = this.#clock.now();
    const b = this.#bucket(clientId, now);
    if (b.points >= points) {
      b.points -= points;
      return this.#decision(b, now, true);
    }
    return this.#decision(b, now, false);
  }

  /**
   * Headers for an injected 429 that the bucket did not cause: nothing remaining, reset
   * in one second. The bucket itself is left alone, so requests succeed after the burst.
   */
  burst(): RateDecision {
    const now = this.#clock.now();
    return { allowed: false, limit: this.#capacity, remaining: 0, reset: Math.ceil(now / 1000) + 1 };
  }
}

/** The three headers Helix sends on every answer. */
export const rateLimitHeaders = (d: RateDecision): Record<string, string> => ({
  "Ratelimit-Limit": String(d.limit),
  "Ratelimit-Remaining": String(d.remaining),
  "Ratelimit-Reset": String(d.reset),
});
