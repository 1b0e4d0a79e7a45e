import { describe, expect, it } from "vitest";
import { formatTwitchDuration, parseTwitchDuration } from "../../../src/sim/twitch-duration.ts";

// Values seen in real and sample Helix responses (wire/helix/video_duration_format.md).
const observed: [string, number][] = [
  ["3m21s", 201],
  ["50s", 50],
  ["4h27m50s", 16070],
  ["1h0m0s", 3600],
];

describe("Twitch video durations", () => {
  it("are written as Helix writes them", () => {
    for (const [text, seconds] of observed) expect(formatTwitchDuration(seconds)).toBe(text);
    expect(formatTwitchDuration(0)).toBe("0s");
    expect(formatTwitchDuration(3661.9)).toBe("1h1m1s");
  });

  it("are read back", () => {
    for (const [text, seconds] of observed) expect(parseTwitchDuration(text)).toBe(seconds);
    expect(parseTwitchDuration("2h")).toBe(7200);
  });

  it("reject other forms", () => {
    for (const bad of ["", "PT3M21S", "3:21", "1h2x"]) expect(parseTwitchDuration(bad)).toBeUndefined();
  });
});
