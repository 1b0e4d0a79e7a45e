import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../../src/services/duration.ts";

describe("parseDuration (Go time.ParseDuration syntax)", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["6h", 21_600_000],
    ["1h30m", 5_400_000],
    ["1h2m3s", 3_723_000],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["5.s", 5_000],
    ["250ms", 250],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["2000000ns", 2],
    ["0", 0],
    ["+0", 0],
    ["-1m", -60_000],
    [" 10s ", 10_000],
  ])("%s = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "30", "2d", "1h 30m", "h", ".s", "1.h.5", "ms5", "1hh", "--1s", "1e3s"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [30_000, "30s"],
    [60_000, "1m"],
    [90_500, "1m30.5s"],
    [5_400_000, "1h30m"],
    [21_600_000, "6h"],
    [-2_000, "-2s"],
  ])("%d ms = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_599_999, 86_400_000, 0.25]) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, 6);
    }
  });
});
