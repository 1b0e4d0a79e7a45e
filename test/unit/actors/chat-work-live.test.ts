import { describe, expect, it } from "vitest";
import { chatReconcilePolicy } from "../../../src/actors/chat-work-live.ts";

describe("chatReconcilePolicy", () => {
  it("looks from the delay on, every retry, while the look is within the window", () => {
    // Defaults: 1 min, then every 30 s until 15 min after the stream: 1:00, 1:30, ..., 15:00.
    expect(chatReconcilePolicy({ delayMs: 60_000, windowMs: 15 * 60_000 })).toEqual({ delayMs: 60_000, retryMs: 30_000, maxAttempts: 29 });
    expect(chatReconcilePolicy({ delayMs: 0, windowMs: 90_000, retryMs: 30_000 })).toEqual({ delayMs: 0, retryMs: 30_000, maxAttempts: 4 });
    expect(chatReconcilePolicy({ delayMs: 10_000, windowMs: 39_999, retryMs: 10_000 }).maxAttempts).toBe(3);
  });

  it("always looks once, even when the delay is past the window", () => {
    expect(chatReconcilePolicy({ delayMs: 120_000, windowMs: 60_000 }).maxAttempts).toBe(1);
  });
});
