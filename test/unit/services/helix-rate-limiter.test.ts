import { describe, expect, it } from "vitest";
import { parseRateHeaders, RateBudget, type RateHeaders, type RateTicket } from "../../../src/services/helix-rate-limiter.ts";

const T0 = 1_700_000_000_000;

const headers = (remaining: number, resetAt: number, limit = 800): RateHeaders => ({
  limit,
  remaining,
  resetAt,
  retryAfterMs: undefined,
});

const go = (budget: RateBudget, now: number): RateTicket => {
  const decision = budget.decide(now);
  if (decision._tag !== "Go") throw new Error(`expected Go at ${now}, got Wait until ${decision.until}`);
  return decision.ticket;
};

/** How many requests the budget lets go at `now` before any answer arrives. */
const grantable = (budget: RateBudget, now: number): number => {
  let granted = 0;
  while (budget.decide(now)._tag === "Go") granted++;
  return granted;
};

describe("parseRateHeaders", () => {
  it("reads Twitch's headers case-insensitively, reset in epoch seconds", () => {
    const parsed = parseRateHeaders(
      new Headers({ "Ratelimit-Limit": "800", "ratelimit-remaining": "799", "RateLimit-Reset": "1511282710" }),
      T0,
    );
    expect(parsed).toEqual({ limit: 800, remaining: 799, resetAt: 1_511_282_710_000, retryAfterMs: undefined });
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRateHeaders(new Headers({ "Retry-After": "2" }), T0).retryAfterMs).toBe(2000);
    const date = new Date(T0 + 5000).toUTCString();
    expect(parseRateHeaders(new Headers({ "Retry-After": date }), T0).retryAfterMs).toBe(5000);
    expect(parseRateHeaders(new Headers(), T0)).toEqual({
      limit: undefined,
      remaining: undefined,
      resetAt: undefined,
      retryAfterMs: undefined,
    });
  });
});

describe("RateBudget", () => {
  it("sends a single probe until the first answer tells the budget", () => {
    const budget = new RateBudget();
    const probe = go(budget, T0);
    expect(budget.decide(T0)).toEqual({ _tag: "Wait", until: undefined });
    budget.settle(probe, headers(799, T0 + 1000), 200, T0 + 5);
    expect(budget.available(T0 + 5)).toBe(799);
    expect(budget.decide(T0 + 5)._tag).toBe("Go");
  });

  it("never hands out more points than the last answer reported, however many ask at once", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(10, T0 + 60_000, 10), 200, T0);
    expect(grantable(budget, T0)).toBe(10);
    const wait = budget.decide(T0);
    expect(wait._tag).toBe("Wait");
  });

  it("counts requests still in flight against the reported remaining points", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(5, T0 + 60_000, 5), 200, T0);
    const first = go(budget, T0);
    go(budget, T0);
    go(budget, T0);
    // Helix answered `first` before it saw the other two: remaining 4 of which 2 are ours already.
    budget.settle(first, headers(4, T0 + 60_000, 5), 200, T0 + 1);
    expect(budget.available(T0 + 1)).toBe(2);
  });

  it("refills at the rate implied by the reset time, never ahead of it", () => {
    const budget = new RateBudget();
    // 60 points a minute, empty now, full in 60 s: one point a second.
    budget.settle(go(budget, T0), headers(0, T0 + 60_000, 60), 200, T0);
    const wait = budget.decide(T0);
    expect(wait).toEqual({ _tag: "Wait", until: T0 + 1000 });
    expect(budget.available(T0 + 999)).toBe(0);
    expect(budget.decide(T0 + 1000)._tag).toBe("Go");
    expect(budget.decide(T0 + 1000)).toEqual({ _tag: "Wait", until: T0 + 2000 });
    expect(budget.available(T0 + 30_000)).toBe(29);
    expect(budget.available(T0 + 60_000)).toBe(59);
  });

  it("takes the refill rate from Helix's numbers, not from the in-flight adjusted estimate", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(60, T0 + 1, 60), 200, T0);
    const answered = go(budget, T0);
    for (let i = 0; i < 10; i++) go(budget, T0);
    // 30 left, full in 30 s: one point a second; ten requests were still in flight.
    budget.settle(answered, headers(30, T0 + 30_000, 60), 200, T0);
    expect(budget.available(T0)).toBe(20);
    expect(budget.available(T0 + 3000)).toBe(23);
    expect(budget.available(T0 + 29_999)).toBe(49);
    expect(budget.available(T0 + 30_000)).toBe(50);
  });

  it("trusts a late answer to an older request only to lower the estimate", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(100, T0 + 60_000, 100), 200, T0);
    const older = go(budget, T0);
    const newer = go(budget, T0);
    budget.settle(newer, headers(50, T0 + 60_000, 100), 200, T0 + 1);
    expect(budget.available(T0 + 1)).toBe(49);
    budget.settle(older, headers(90, T0 + 60_000, 100), 200, T0 + 2);
    expect(budget.available(T0 + 2)).toBe(49);
  });

  it("holds everything after a 429 until the reported reset", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(500, T0 + 10_000), 200, T0);
    const limited = go(budget, T0);
    budget.settle(limited, headers(0, T0 + 3000), 429, T0 + 10);
    expect(budget.decide(T0 + 10)).toEqual({ _tag: "Wait", until: T0 + 3000 });
    expect(budget.decide(T0 + 2999)).toEqual({ _tag: "Wait", until: T0 + 3000 });
    expect(budget.decide(T0 + 3000)._tag).toBe("Go");
  });

  it("waits at least the minimum backoff after a 429 whose reset is already past", () => {
    const budget = new RateBudget({ minBackoffMs: 400 });
    budget.settle(go(budget, T0), headers(0, T0 - 5000), 429, T0);
    expect(budget.decide(T0)).toEqual({ _tag: "Wait", until: T0 + 400 });
  });

  it("caps a wait for a reset far in the future", () => {
    const budget = new RateBudget({ maxWaitMs: 2000 });
    budget.settle(go(budget, T0), headers(0, T0 + 3_600_000), 429, T0);
    expect(budget.decide(T0)).toEqual({ _tag: "Wait", until: T0 + 2000 });
  });

  it("starts over with a probe when the points are spent and every answer was lost", () => {
    const budget = new RateBudget();
    budget.settle(go(budget, T0), headers(1, T0 + 1000, 1), 200, T0);
    budget.release(go(budget, T0));
    expect(budget.decide(T0 + 2000)._tag).toBe("Go");
    expect(budget.decide(T0 + 2000)).toEqual({ _tag: "Wait", until: undefined });
  });

  it("lets requests run concurrently when the server sends no rate headers at all", () => {
    const budget = new RateBudget({ concurrencyWithoutHeaders: 3 });
    budget.settle(go(budget, T0), { limit: undefined, remaining: undefined, resetAt: undefined, retryAfterMs: undefined }, 200, T0);
    expect(grantable(budget, T0)).toBe(3);
  });
});
