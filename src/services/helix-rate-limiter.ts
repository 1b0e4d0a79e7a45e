/**
 * The one Helix rate budget of the process, shared by every channel.
 *
 * Helix meters requests per client id with a token bucket (800 points a minute
 * by default, one point a request) and reports it on every answer:
 * `Ratelimit-Limit` (bucket size and refill per minute), `Ratelimit-Remaining`
 * and `Ratelimit-Reset` (epoch seconds when the bucket is full again). The Go
 * original only logged these; here every request reserves a point locally
 * before it is sent, so many concurrent callers cannot overdraw the bucket
 * between two answers.
 *
 * Between answers the budget is estimated conservatively: the last reported
 * remaining points plus the refill Helix's own numbers imply (linear up to full
 * at the reset time; the reported remaining is rounded down and the reset up,
 * so the estimate never runs ahead of the real bucket), minus requests that
 * were still in flight at that answer (Helix may not have counted them yet) and
 * points reserved since. Until the first answer
 * nothing is known, so one request goes alone to learn the budget. After a 429
 * nothing is sent before the reported reset.
 */
import { Clock, Deferred, Duration, Effect } from "effect";

/** The rate-limit headers of one answer, parsed. */
export interface RateHeaders {
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
  /** Epoch milliseconds when the bucket is full again. */
  readonly resetAt: number | undefined;
  /** `Retry-After`, in milliseconds, when present. */
  readonly retryAfterMs: number | undefined;
}

const headerNumber = (headers: Headers, name: string): number | undefined => {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
};

/** Reads `Ratelimit-*` and `Retry-After` (seconds or HTTP date) from a response. */
export const parseRateHeaders = (headers: Headers, now: number): RateHeaders => {
  const reset = headerNumber(headers, "ratelimit-reset");
  const retryAfterRaw = headers.get("retry-after");
  let retryAfterMs: number | undefined;
  if (retryAfterRaw !== null) {
    const seconds = Number(retryAfterRaw);
    const date = Date.parse(retryAfterRaw);
    retryAfterMs = Number.isFinite(seconds) ? seconds * 1000 : Number.isFinite(date) ? date - now : undefined;
  }
  return {
    limit: headerNumber(headers, "ratelimit-limit"),
    remaining: headerNumber(headers, "ratelimit-remaining"),
    resetAt: reset === undefined ? undefined : reset * 1000,
    retryAfterMs,
  };
};

/** Tunables of the budget. */
export interface RateBudgetOptions {
  /** Upper bound on any single wait, against a reset far in the future (clock skew). Default 65 s. */
  readonly maxWaitMs?: number | undefined;
  /** Least wait after a 429 whose reset is already past. Default 500 ms. */
  readonly minBackoffMs?: number | undefined;
  /** Requests allowed in flight while Helix sends no rate headers at all. Default 16. */
  readonly concurrencyWithoutHeaders?: number | undefined;
}

/** A reserved point; hand it back with `settle` (answer received) or `release` (no answer). */
export interface RateTicket {
  readonly seq: number;
  done: boolean;
}

/** What the budget looks like now (for logs, metrics and tests). */
export interface RateBudgetSnapshot {
  readonly limit: number | undefined;
  /** Points the limiter would still hand out now; undefined before the first answer. */
  readonly available: number | undefined;
  readonly inFlight: number;
  /** Epoch milliseconds before which nothing is sent (after a 429); 0 when not blocked. */
  readonly blockedUntil: number;
}

/** The outcome of asking for a point at a given time. */
export type RateDecision =
  | { readonly _tag: "Go"; readonly ticket: RateTicket }
  /** Try again at `until` (epoch ms), or when an answer arrives (`until` undefined: only then). */
  | { readonly _tag: "Wait"; readonly until: number | undefined };

/**
 * The bookkeeping, with time passed in explicitly so it can be reasoned about
 * (and tested) without a clock. Not thread-safe by itself; the Effect wrapper
 * calls it without yielding between a decision and its reservation.
 */
export class RateBudget {
  readonly #maxWaitMs: number;
  readonly #minBackoffMs: number;
  readonly #concurrencyWithoutHeaders: number;
  #limit: number | undefined;
  // Snapshot of the last trusted answer: `#points` left at `#at`, refilling at `#rate`
  // points per ms until full at `#resetAt`; `#owed` requests were in flight then and
  // may not have been counted yet; `#spent` points were reserved since.
  #points: number | undefined;
  #at = 0;
  #resetAt = 0;
  #rate = 0;
  #owed = 0;
  #spent = 0;
  #inFlight = 0;
  #seq = 0;
  #appliedSeq = 0;
  #blockedUntil = 0;
  #headersAbsent = false;

  constructor(options: RateBudgetOptions = {}) {
    this.#maxWaitMs = options.maxWaitMs ?? 65_000;
    this.#minBackoffMs = options.minBackoffMs ?? 500;
    this.#concurrencyWithoutHeaders = options.concurrencyWithoutHeaders ?? 16;
  }

  /** Points the bucket holds at `now` by the last snapshot, before any request counted against it. */
  #bucket(now: number): number {
    const points = this.#points ?? 0;
    const limit = this.#limit ?? points;
    if (now >= this.#resetAt) return Math.max(limit, points);
    return Math.min(limit, points + Math.max(0, now - this.#at) * this.#rate);
  }

  /** Points that can be reserved at `now`; undefined before the budget is known. */
  available(now: number): number | undefined {
    if (this.#points === undefined) return undefined;
    return Math.floor(this.#bucket(now)) - this.#owed - this.#spent;
  }

  /** When one more point will be free, assuming no answer arrives meanwhile. */
  #nextPointAt(now: number): number {
    const needed = this.#owed + this.#spent + 1;
    const points = this.#points ?? 0;
    if (this.#rate <= 0 || needed > (this.#limit ?? points)) return this.#resetAt;
    const at = this.#at + (needed - points) / this.#rate;
    return Math.min(Math.max(at, now + 1), this.#resetAt);
  }

  #snapshot(points: number, resetAt: number, now: number): void {
    const limit = this.#limit ?? points;
    this.#points = points;
    this.#at = now;
    this.#resetAt = resetAt;
    // Helix's bucket refills continuously to full at the reset time; the remaining
    // count is rounded down and the reset up, so this rate never runs ahead of it.
    this.#rate = resetAt > now ? Math.max(0, limit - points) / (resetAt - now) : 0;
    this.#owed = this.#inFlight;
    this.#spent = 0;
  }

  /** Reserves a point at `now`, or says how long to wait. */
  decide(now: number): RateDecision {
    if (now < this.#blockedUntil) return { _tag: "Wait", until: Math.min(this.#blockedUntil, now + this.#maxWaitMs) };
    const available = this.available(now);
    if (available === undefined) {
      const cap = this.#headersAbsent ? this.#concurrencyWithoutHeaders : 1;
      return this.#inFlight < cap ? this.#go() : { _tag: "Wait", until: undefined };
    }
    if (available > 0) {
      this.#spent++;
      return this.#go();
    }
    const until = this.#nextPointAt(now);
    if (until <= now) {
      // Full again by the clock yet empty here: in-flight requests hold the points,
      // so wait for their answers. With none in flight (their answers were lost)
      // the estimate has nothing left to learn from; start over with a probe.
      if (this.#inFlight > 0) return { _tag: "Wait", until: undefined };
      this.#points = undefined;
      return this.#go();
    }
    return { _tag: "Wait", until: Math.min(until, now + this.#maxWaitMs) };
  }

  #go(): RateDecision {
    this.#inFlight++;
    return { _tag: "Go", ticket: { seq: ++this.#seq, done: false } };
  }

  /** Records the answer to a ticket's request. */
  settle(ticket: RateTicket, headers: RateHeaders, status: number, now: number): void {
    if (ticket.done) return;
    ticket.done = true;
    this.#inFlight--;
    if (headers.limit !== undefined) this.#limit = headers.limit;
    if (status === 429) {
      let until = headers.resetAt ?? now + (headers.retryAfterMs ?? 1_000);
      if (headers.retryAfterMs !== undefined) until = Math.max(until, now + headers.retryAfterMs);
      this.#blockedUntil = Math.min(Math.max(until, now + this.#minBackoffMs), now + this.#maxWaitMs);
      this.#snapshot(0, this.#blockedUntil, now);
      this.#appliedSeq = this.#seq;
      return;
    }
    if (headers.remaining !== undefined && headers.resetAt !== undefined) {
      this.#headersAbsent = false;
      if (ticket.seq > this.#appliedSeq || this.#points === undefined) {
        this.#appliedSeq = ticket.seq;
        this.#snapshot(headers.remaining, headers.resetAt, now);
      } else {
        // An older answer overtaken by a newer one: only trust it to lower the estimate.
        const reported = headers.remaining - this.#inFlight;
        const current = this.available(now) ?? reported;
        if (reported < current) this.#spent += current - reported;
      }
    } else if (this.#points === undefined) {
      this.#headersAbsent = true;
    }
  }

  /** Gives a ticket back without an answer (network error, interruption); its point stays spent. */
  release(ticket: RateTicket): void {
    if (ticket.done) return;
    ticket.done = true;
    this.#inFlight--;
  }

  /** The budget as seen at `now`. */
  snapshot(now: number): RateBudgetSnapshot {
    return {
      limit: this.#limit,
      available: this.available(now),
      inFlight: this.#inFlight,
      blockedUntil: now < this.#blockedUntil ? this.#blockedUntil : 0,
    };
  }
}

/** The shared limiter as Effects: waiting for a point, and recording answers. */
export interface HelixRateLimiter {
  /** Waits until a point is reserved. */
  readonly acquire: Effect.Effect<RateTicket>;
  /** Records the answer (its headers and status) to the request sent with `ticket`. */
  readonly settle: (ticket: RateTicket, headers: Headers, status: number) => Effect.Effect<RateHeaders>;
  /** Returns a ticket whose request got no answer. */
  readonly release: (ticket: RateTicket) => Effect.Effect<void>;
  readonly snapshot: Effect.Effect<RateBudgetSnapshot>;
}

/** Builds the process-wide limiter; build one and share it between all Helix callers. */
export const makeHelixRateLimiter = (options: RateBudgetOptions = {}): Effect.Effect<HelixRateLimiter> =>
  Effect.sync(() => {
    const budget = new RateBudget(options);
    // Completed and replaced whenever an answer changes what waiters may do.
    let changed = Deferred.makeUnsafe<void>();
    const notify = () => {
      const previous = changed;
      changed = Deferred.makeUnsafe<void>();
      Deferred.doneUnsafe(previous, Effect.void);
    };

    const acquire: Effect.Effect<RateTicket> = Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis;
        const decision = budget.decide(now);
        if (decision._tag === "Go") return decision.ticket;
        const wake = Deferred.await(changed);
        if (decision.until === undefined) {
          yield* wake;
        } else {
          yield* Effect.raceFirst(wake, Effect.sleep(Duration.millis(Math.max(1, decision.until - now))));
        }
      }
    });

    const settle = (ticket: RateTicket, headers: Headers, status: number) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const parsed = parseRateHeaders(headers, now);
        budget.settle(ticket, parsed, status, now);
        notify();
        return parsed;
      });

    const release = (ticket: RateTicket) =>
      Effect.sync(() => {
        if (ticket.done) return;
        budget.release(ticket);
        notify();
      });

    const snapshot = Effect.map(Clock.currentTimeMillis, (now) => budget.snapshot(now));

    return { acquire, settle, release, snapshot };
  });
