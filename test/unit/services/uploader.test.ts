import { describe, expect, it } from "vitest";
import { nextOffsetFromRange, youtubeDescription, youtubeTitle } from "../../../src/services/uploader.ts";

describe("youtubeTitle", () => {
  it("keeps short titles as they are", () => {
    expect(youtubeTitle("2024-10-15 Minecraft + Sable")).toBe("2024-10-15 Minecraft + Sable");
  });

  it("cuts at 100 characters (counting code points, not UTF-16 units) with an ellipsis", () => {
    const title = youtubeTitle("🎮".repeat(150));
    expect([...title]).toHaveLength(100);
    expect(title.endsWith("...")).toBe(true);
    expect(youtubeTitle("a".repeat(100))).toBe("a".repeat(100));
    expect([...youtubeTitle("a".repeat(101))]).toHaveLength(100);
  });

  it("drops what YouTube refuses and control characters, and is never empty", () => {
    expect(youtubeTitle("<script>alert</script>")).toBe("scriptalert/script");
    expect(youtubeTitle("line\nbreak\u0000\u202E")).toBe("line break");
    expect(youtubeTitle("  \u0007 ")).toBe("Untitled VOD");
  });
});

describe("youtubeDescription", () => {
  it("drops angle brackets and keeps at most 5000 bytes without splitting characters", () => {
    expect(youtubeDescription("a <b> c")).toBe("a b c");
    const long = youtubeDescription("€".repeat(3000));
    expect(Buffer.byteLength(long, "utf8")).toBeLessThanOrEqual(5000);
    expect(long).toBe("€".repeat(1666));
  });
});

describe("nextOffsetFromRange", () => {
  it("reads the next byte to send from a 308's Range header", () => {
    expect(nextOffsetFromRange("bytes=0-262143")).toBe(262144);
    expect(nextOffsetFromRange("bytes=0-0")).toBe(1);
    expect(nextOffsetFromRange(null)).toBe(0);
  });
});
