import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/sim/clock.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { analyzeTs } from "../../../src/sim/ts-timestamps.ts";
import { appToken, helixGet, request } from "./sim-client.ts";

const run = promisify(execFile);

const probeSeconds = async (file: string): Promise<number> => {
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", file]);
  return Number(stdout.trim());
};

const bytes = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
};

describe("HLS video", () => {
  let sim: Simulator;
  let dir: string;
  const clock = new ManualClock();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sim-video-"));
    sim = await startSimulator({
      chat: false,
      clock,
      scenario: {
        video: { segmentSeconds: 2 },
        channels: [
          {
            login: "alpha",
            id: "1001",
            vods: [
              { id: "501", duration: 5, mutedSegments: [{ offset: 2, duration: 1 }] },
              { id: "502", duration: 4, bitrate: "2M" },
              { id: "503", duration: 3, restricted: true },
            ],
          },
          { login: "beta", id: "1002", live: true },
        ],
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists Twitch-style segments, muted ones by their -muted name", async () => {
    const r = await request(`${sim.urls.base}/vods/501/index.m3u8`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(r.text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual(["0.ts", "1-muted.ts", "2.ts"]);
    expect(r.text).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
    expect(r.text.trim().endsWith("#EXT-X-ENDLIST")).toBe(true);
    expect((await bytes(`${sim.urls.base}/vods/501/1.ts`)).status).toBe(403);
    expect((await bytes(`${sim.urls.base}/vods/501/1-muted.ts`)).status).toBe(200);
    expect((await bytes(`${sim.urls.base}/vods/501/3.ts`)).status).toBe(404);
    expect((await request(`${sim.urls.base}/vods/503/index.m3u8`)).status).toBe(403);
  });

  it("serves each segment as the next stretch of one continuous stream", async () => {
    const a = await bytes(`${sim.urls.base}/vods/501/0.ts`);
    const b = await bytes(`${sim.urls.base}/vods/501/1-muted.ts`);
    expect(a.headers.get("content-type")).toBe("video/MP2T");
    expect(b.body.length).toBe(a.body.length);
    expect(b.body.equals(a.body)).toBe(false);
    expect(analyzeTs(b.body).firstPts - analyzeTs(a.body).firstPts).toBe(2 * 90_000);
    const part = await bytes(`${sim.urls.base}/vods/501/0.ts`, { Range: "bytes=188-375" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 188-375/${a.body.length}`);
    expect(part.body.equals(a.body.subarray(188, 376))).toBe(true);
  });

  it("makes segments as large as the VOD's bitrate asks", async () => {
    const seg = await bytes(`${sim.urls.base}/vods/502/0.ts`);
    // 2 s at 2 Mbit/s: 500 kB, within the muxer's rounding.
    expect(seg.body.length).toBeGreaterThan(490_000);
    expect(seg.body.length).toBeLessThan(510_000);
  });

  it("is downloaded by real yt-dlp from the Helix url, through a 404 and a cut segment, at the right length", async () => {
    const token = await appToken(sim);
    const video = (await helixGet(sim, "videos?id=501", token)).json as { data: { url: string; duration: string }[] };
    expect(video.data[0]!.duration).toBe("5s");
    sim.injectFault({ kind: "segment-404", vodId: "501", segment: 1 });
    sim.injectFault({ kind: "segment-truncate", vodId: "501", segment: 2, fraction: 0.5 });
    const out = join(dir, "501.mp4");
    const { stdout } = await run("yt-dlp", ["--newline", "--no-part", "--fragment-retries", "5", "--retry-sleep", "fragment:0", "-o", out, video.data[0]!.url]);
    expect(stdout).toContain("[hlsnative] Total fragments: 3");
    expect(sim.faults()).toEqual([]);
    expect(Math.abs((await probeSeconds(out)) - 5)).toBeLessThan(0.25);
  });

  it("has a live playlist with a sliding window, and the recording VOD grows until the stream ends", async () => {
    expect((await request(`${sim.urls.base}/live/alpha/index.m3u8`)).status).toBe(404);
    clock.advance(21_000);
    const live = await request(`${sim.urls.base}/live/beta/index.m3u8`);
    expect(live.status).toBe(200);
    expect(live.text).toContain("#EXT-X-MEDIA-SEQUENCE:4");
    expect(live.text).not.toContain("#EXT-X-ENDLIST");
    expect(live.text.split("\n").filter((l) => l.endsWith(".ts"))).toEqual(["4.ts", "5.ts", "6.ts", "7.ts", "8.ts", "9.ts"]);
    expect((await bytes(`${sim.urls.base}/live/beta/9.ts`)).status).toBe(200);
    expect((await bytes(`${sim.urls.base}/live/beta/10.ts`)).status).toBe(404);

    const token = await appToken(sim);
    const vod = ((await helixGet(sim, "videos?user_id=1002", token)).json as { data: { id: string; duration: string }[] }).data[0]!;
    expect(vod.duration).toBe("21s");
    const growing = await request(`${sim.urls.base}/vods/${vod.id}/index.m3u8`);
    expect(growing.text).toContain("#EXT-X-PLAYLIST-TYPE:EVENT");
    expect(growing.text).not.toContain("#EXT-X-ENDLIST");
    expect(growing.text.split("\n").filter((l) => l.endsWith(".ts"))).toHaveLength(10);
    clock.advance(2_000);
    sim.setLive("beta", false);
    const done = await request(`${sim.urls.base}/vods/${vod.id}/index.m3u8`);
    expect(done.text.split("\n").filter((l) => l.endsWith(".ts"))).toHaveLength(12);
    expect(done.text).toContain("#EXT-X-ENDLIST");
    expect((await request(`${sim.urls.base}/live/beta/index.m3u8`)).status).toBe(404);
  });
});
