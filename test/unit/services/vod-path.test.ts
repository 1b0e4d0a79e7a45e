import { basename, dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { channelVodDir, sanitizeTitle, truncateUtf8, vodFilePath } from "../../../src/services/vod-path.ts";

const dataDir = "/data";
const date = new Date("2024-10-15T23:59:59Z");
const pathFor = (title: string, extra: Partial<Parameters<typeof vodFilePath>[0]> = {}) =>
  vodFilePath({ dataDir, channel: "somechannel", vodId: "2223719525", date, title, ...extra });

/** The file must sit directly in the channel folder, whatever the title. */
const expectInsideChannelDir = (path: string, channel = "somechannel") => {
  expect(dirname(path)).toBe(join(dataDir, "vods", channel));
  expect(relative(join(dataDir, "vods", channel), path).startsWith("..")).toBe(false);
};

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

describe("vodFilePath", () => {
  it("names the file by UTC date, VOD id and title", () => {
    expect(pathFor("Minecraft + Sable")).toBe("/data/vods/somechannel/2024-10-15_2223719525_Minecraft + Sable.mp4");
    expect(pathFor("x", { ext: "mkv" })).toBe("/data/vods/somechannel/2024-10-15_2223719525_x.mkv");
    expect(channelVodDir("/data", "SomeChannel")).toBe("/data/vods/somechannel");
  });

  it.each([
    "../../../etc/passwd",
    "..",
    "../..",
    "a/../../b",
    "..\\..\\windows\\system32",
    "/absolute/path",
    "nested/dirs/title",
  ])("keeps traversal attempt %j inside the channel folder", (title) => {
    const path = pathFor(title);
    expectInsideChannelDir(path);
    const name = basename(path);
    expect(name).not.toContain("/");
    expect(name).not.toContain("\\");
    expect(name).not.toContain("..");
  });

  it("sanitizes the channel and the VOD id too", () => {
    const path = vodFilePath({ dataDir, channel: "../evil", vodId: "../../x", date, title: "t" });
    expect(dirname(path)).toBe(join(dataDir, "vods", "evil"));
    expect(basename(path)).toBe("2024-10-15_x_t.mp4");
  });
});

describe("sanitizeTitle", () => {
  it("drops control, bidi-override and zero-width characters", () => {
    expect(sanitizeTitle("a\u0000b\u0007c\u001bd\u007fe")).toBe("abcde");
    expect(sanitizeTitle("evil\u202Egnp.exe")).toBe("evilgnp.exe");
    expect(sanitizeTitle("zero\u200Bwidth\uFEFF")).toBe("zerowidth");
    expect(sanitizeTitle("line\nbreak\ttab")).toBe("line break tab");
  });

  it("replaces reserved characters, including yt-dlp's % template marker", () => {
    expect(sanitizeTitle('a<b>c:d"e|f?g*h')).toBe("a_b_c_d_e_f_g_h");
    expect(sanitizeTitle("100% %(title)s")).toBe("100_ _(title)s");
  });

  it("never starts with a dot or ends with a dot or space", () => {
    expect(sanitizeTitle(".hidden")).toBe("hidden");
    expect(sanitizeTitle("title. . .")).toBe("title");
    expect(sanitizeTitle("  spaced  out  ")).toBe("spaced out");
  });

  it("is never empty", () => {
    for (const title of ["", "   ", "...", "\u0000\u0001", "/", "\u202E", "../"]) {
      expect(sanitizeTitle(title)).toBe("untitled");
    }
  });

  it("avoids Windows device names", () => {
    expect(sanitizeTitle("CON")).toBe("_CON");
    expect(sanitizeTitle("nul.txt")).toBe("_nul.txt");
  });

  it("keeps unicode, normalized to NFC", () => {
    expect(sanitizeTitle("Español – ☀️ inwood hill park")).toBe("Español – ☀️ inwood hill park");
    expect(sanitizeTitle("Cafe\u0301")).toBe("Caf\u00e9");
    expect(sanitizeTitle("日本語のタイトル")).toBe("日本語のタイトル");
  });

  it("caps the length in UTF-8 bytes without splitting characters or emoji", () => {
    const long = "€".repeat(100); // 3 bytes each
    const cut = sanitizeTitle(long, 20);
    expect(bytes(cut)).toBeLessThanOrEqual(20);
    expect(cut).toBe("€".repeat(6));
    const family = "👨‍👩‍👧";
    expect(truncateUtf8(`ab${family}`, 10)).toBe("ab");
    expect(truncateUtf8("abc", 10)).toBe("abc");
  });

  it("keeps the whole file name under 255 bytes for the longest titles", () => {
    const path = pathFor("🎮".repeat(500));
    expect(bytes(basename(path))).toBeLessThanOrEqual(255);
    expectInsideChannelDir(path);
  });
});
