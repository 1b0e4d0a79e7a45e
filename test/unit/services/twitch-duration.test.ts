import { describe, expect, it } from "vitest";
import { formatTwitchDuration, parseTwitchDuration } from "../../../src/services/twitch-duration.ts";

describe("parseTwitchDuration", () => {
  it.each([
    ["3h2m1s", 3 * 3600 + 2 * 60 + 1],
    ["45m", 2700],
    ["59s", 59],
    ["2h", 7200],
    // Values seen in real and documented Helix bodies.
    ["4h27m50s", 4 * 3600 + 27 * 60 + 50],
    ["3m21s", 201],
    ["50s", 50],
    ["1h0m0s", 3600],
    ["1h2m3s", 3723],
    ["", 0],
  ])("reads %j as %d seconds", (text, seconds) => {
    expect(parseTwitchDuration(text)).toBe(seconds);
  });

  it.each(["PT1H2M", "1m2h", "1h1h", "abc", "-5s", "1.5s", "3 h"])("rejects %j", (text) => {
    expect(parseTwitchDuration(text)).toBeUndefined();
  });
});

describe("formatTwitchDuration", () => {
  it.each([
    [0, "0s"],
    [59, "59s"],
    [2700, "45m0s"],
    [3600, "1h0m0s"],
    [10921, "3h2m1s"],
    [16070, "4h27m50s"],
    [61.9, "1m1s"],
    [-3, "0s"],
  ])("writes %d seconds as %j", (seconds, text) => {
    expect(formatTwitchDuration(seconds)).toBe(text);
  });

  it("round-trips through the parser", () => {
    for (const seconds of [0, 1, 59, 60, 61, 3599, 3600, 3601, 86_399, 360_000]) {
      expect(parseTwitchDuration(formatTwitchDuration(seconds))).toBe(seconds);
    }
  });
});
