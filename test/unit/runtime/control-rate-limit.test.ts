import { describe, expect, it } from "vitest";
import { makeRateLimiter } from "../../../src/runtime/control-rate-limit.ts";

describe("makeRateLimiter", () => {
  it("allows a burst, then the sustained rate, and says when the next request may come", () => {
    let now = 0;
    const limiter = makeRateLimiter({ perSecond: 10, burst: 3, now: () => now });
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, true, false]);
    expect(limiter.retryAfterMs()).toBe(100);
    now = 50;
    expect(limiter.take()).toBe(false);
    now = 100;
    expect(limiter.take()).toBe(true);
    expect(limiter.take()).toBe(false);
  });

  it("refills no higher than the burst however long the connection was idle", () => {
    let now = 0;
    const limiter = makeRateLimiter({ perSecond: 100, burst: 2, now: () => now });
    now = 60_000;
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false]);
  });
});
