import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/sim/clock.ts";
import { HelixRateLimiter, rateLimitHeaders } from "../../../src/sim/rate-limit.ts";

describe("HelixRateLimiter", () => {
  it("allows 800 requests at once, refuses the 801st and says when the bucket is full again", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const limiter = new HelixRateLimiter(clock, 800);
    for (let i = 1; i <= 800; i++) {
      const d = limiter.take("client");
      expect(d.allowed).toBe(true);
      expect(d.remaining).toBe(800 - i);
    }
    const refused = limiter.take("client");
    expect(refused).toEqual({ allowed: false, limit: 800, remaining: 0, reset: 1_700_000_060 });
    expect(rateLimitHeaders(refused)).toEqual({ "Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": "1700000060" });
  });

  it("refills continuously at the per-minute rate, per client id", () => {
    const clock = new ManualClock(0);
    const limiter = new HelixRateLimiter(clock, 60);
    for (let i = 0; i < 60; i++) limiter.take("a");
    expect(limiter.take("a").allowed).toBe(false);
    expect(limiter.take("b").allowed).toBe(true);
    clock.advance(10_000);
    const d = limiter.take("a");
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(9);
    clock.advance(3_600_000);
    expect(limiter.take("a").remaining).toBe(59);
  });

  it("reports an injected burst without touching the bucket", () => {
    const clock = new ManualClock(5_000);
    const limiter = new HelixRateLimiter(clock, 800);
    expect(limiter.burst()).toEqual({ allowed: false, limit: 800, remaining: 0, reset: 6 });
    expect(limiter.take("a").remaining).toBe(799);
  });
});
