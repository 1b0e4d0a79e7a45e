import { describe, expect, it } from "vitest";
import { OutputLines, parseProgressLine, PROGRESS_TEMPLATE } from "../../../src/services/ytdlp-progress.ts";

// Printed by yt-dlp 2023.03.04 for PROGRESS_TEMPLATE while fetching a 20-fragment HLS VOD.
const TEMPLATE_LINES = {
  firstBytes:
    'vt-progress {"status":"downloading","downloaded":1024,"total":null,"estimate":1184400.0,"speed":204853.9204426214,"eta":5,"elapsed":0.004998683929443359,"frag":0,"frags":20}',
  fragmentOne:
    'vt-progress {"status":"downloading","downloaded":59220,"total":null,"estimate":1184400.0,"speed":4536245.943458251,"eta":0,"elapsed":0.013054847717285156,"frag":1,"frags":20}',
  finished:
    'vt-progress {"status":"finished","downloaded":1159960,"total":1159960,"estimate":null,"speed":4242709.128283478,"eta":null,"elapsed":0.27340078353881836,"frag":null,"frags":null}',
};

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const KiB = 1024;

describe("parseProgressLine: the machine-readable template", () => {
  it("asks yt-dlp only for numeric fields and the status, with null defaults", () => {
    expect(PROGRESS_TEMPLATE.startsWith("download:vt-progress {")).toBe(true);
    expect(PROGRESS_TEMPLATE).not.toMatch(/%\(info\./);
    for (const field of PROGRESS_TEMPLATE.matchAll(/%\(progress\.(\w+)([^)]*)\)s/g)) {
      if (field[1] !== "status") expect(field[2]).toBe("|null");
    }
  });

  it("reads a fragment update with an estimated total", () => {
    expect(parseProgressLine(TEMPLATE_LINES.firstBytes)).toEqual({
      status: "downloading",
      downloadedBytes: 1024,
      totalBytes: 1184400,
      totalIsEstimate: true,
      percent: (1024 / 1184400) * 100,
      speedBytesPerSecond: 204853.9204426214,
      etaSeconds: 5,
      fragmentIndex: 0,
      fragmentCount: 20,
    });
    expect(parseProgressLine(TEMPLATE_LINES.fragmentOne)?.fragmentIndex).toBe(1);
  });

  it("reads the finished line, where only the exact total is set", () => {
    expect(parseProgressLine(TEMPLATE_LINES.finished)).toEqual({
      status: "finished",
      downloadedBytes: 1159960,
      totalBytes: 1159960,
      totalIsEstimate: false,
      percent: 100,
      speedBytesPerSecond: 4242709.128283478,
      etaSeconds: undefined,
      fragmentIndex: undefined,
      fragmentCount: undefined,
    });
  });

  it("ignores broken or foreign template output", () => {
    expect(parseProgressLine('vt-progress {"status":"downloading","downloaded":NA}')).toBeUndefined();
    expect(parseProgressLine('vt-progress {"status":"error","downloaded":5}')).toBeUndefined();
    expect(parseProgressLine("vt-progress not json")).toBeUndefined();
  });
});

describe("parseProgressLine: yt-dlp's default progress line", () => {
  it("reads a Twitch fragment line with an estimated total", () => {
    const p = parseProgressLine("[download]   0.8% of ~14.47GiB at 15.55MiB/s ETA 05:57 (frag 16/1950)");
    expect(p).toMatchObject({
      status: "downloading",
      percent: 0.8,
      totalIsEstimate: true,
      etaSeconds: 5 * 60 + 57,
      fragmentIndex: 16,
      fragmentCount: 1950,
    });
    expect(p?.totalBytes).toBe(Math.round(14.47 * GiB));
    expect(p?.speedBytesPerSecond).toBe(Math.round(15.55 * MiB));
    expect(p?.downloadedBytes).toBe(Math.round((Math.round(14.47 * GiB) * 0.8) / 100));
  });

  it("reads the padded estimate form ('of ~ 976.12MiB')", () => {
    const p = parseProgressLine("[download]  58.8% of ~ 976.12MiB at 1.35MiB/s ETA 07:24 (frag 161/274)");
    expect(p).toMatchObject({ percent: 58.8, totalIsEstimate: true, fragmentIndex: 161, fragmentCount: 274 });
    expect(p?.totalBytes).toBe(Math.round(976.12 * MiB));
  });

  it.each([
    ["[download]  38.6% of   25.97MiB at    2.79MiB/s ETA 00:05", 38.6, 25.97 * MiB, 2.79 * MiB, 5],
    ["[download]  85.6% of 24.79MiB at 46.73KiB/s ETA 01:18", 85.6, 24.79 * MiB, 46.73 * KiB, 78],
    ["[download]  66.8% of 8.71MiB at 977.23KiB/s ETA 00:03", 66.8, 8.71 * MiB, 977.23 * KiB, 3],
    ["[download] 100% of 8.71MiB at  1.06MiB/s ETA 00:00    ", 100, 8.71 * MiB, 1.06 * MiB, 0],
  ])("reads %j", (line, percent, total, speed, eta) => {
    const p = parseProgressLine(line);
    expect(p).toMatchObject({ status: "downloading", percent, totalIsEstimate: false, etaSeconds: eta });
    expect(p?.totalBytes).toBe(Math.round(total));
    expect(p?.speedBytesPerSecond).toBe(Math.round(speed));
  });

  it.each([
    ["[download] 100% of 8.71MiB in 00:08               ", 8.71 * MiB],
    ["[download] 100% of 1.42GiB in 04:03", 1.42 * GiB],
    ["[download] 100% of  728.15MiB in 00:00:22 at 32.25MiB/s", 728.15 * MiB],
    ["[download] 100% of 38.28MiB", 38.28 * MiB],
  ])("reads the completion line %j", (line, total) => {
    const p = parseProgressLine(line);
    expect(p?.status).toBe("finished");
    expect(p?.percent).toBe(100);
    expect(p?.totalBytes).toBe(Math.round(total));
    expect(p?.downloadedBytes).toBe(Math.round(total));
  });

  it.each([
    "[download] Destination: HIGHER STAKES - DAY 4 OF HEATER SEASON !partypoker [v1419404222].mp4",
    "[download] Ultra High Definition Video from the International Space Station-84Jkt5RwRUc 315.f315.webm has already been downloaded",
    "[download] Got error: HTTP Error 404: Not Found. Retrying fragment 6 (1/1)...",
    "[hlsnative] Total fragments: 1950",
    "[twitch:vod] 1419404222: Downloading m3u8 information",
    "WARNING: The download speed shown is only of one thread. This is a known issue and patches are welcome",
    '[FixupM3u8] Fixing MPEG-TS in MP4 container of "C:\\ASSASSINS PRIDE Episodio 10 – Biblioteca laberinto.mp4"',
    "ERROR: unable to download video data: HTTP Error 404: Not Found",
    "",
  ])("ignores the non-progress line %j", (line) => {
    expect(parseProgressLine(line)).toBeUndefined();
  });
});

describe("OutputLines", () => {
  it("splits on \\n, \\r\\n and the \\r yt-dlp rewrites lines with", () => {
    const lines = new OutputLines();
    expect(lines.push("[download]  22.9% of 8.71MiB\r[download]  41.9% of 8.71MiB\r")).toEqual([
      "[download]  22.9% of 8.71MiB",
      "[download]  41.9% of 8.71MiB",
    ]);
    expect(lines.push("one\r\ntwo\nthr")).toEqual(["one", "two"]);
    expect(lines.push("ee\n")).toEqual(["three"]);
    expect(lines.push("tail without newline")).toEqual([]);
    expect(lines.flush()).toEqual(["tail without newline"]);
  });

  it("keeps a multi-byte character cut between chunks whole", () => {
    const bytes = Buffer.from("Biblioteca – laberinto\n", "utf8");
    const cut = bytes.indexOf(0xe2) + 1; // inside the en dash
    const lines = new OutputLines();
    expect(lines.push(bytes.subarray(0, cut))).toEqual([]);
    expect(lines.push(bytes.subarray(cut))).toEqual(["Biblioteca – laberinto"]);
  });
});
