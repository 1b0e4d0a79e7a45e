import { execFile } from "node:child_process";
import { mkdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { analyzeTs, type TsLayout } from "./ts-timestamps.ts";

/** A generated MPEG-TS segment, in memory, with its timestamp layout. */
export interface BaseSegment {
  readonly bytes: Buffer;
  readonly layout: TsLayout;
  readonly seconds: number;
  readonly bitrate: number;
}

const AUDIO_RATE = 48_000;
const AUDIO_BITRATE = 64_000;
const VERSION = "v1";

/**
 * ffmpeg arguments for `seconds` of test pattern and tone at `bitrate` bits/s in CBR:
 * x264 pads with filler NAL units (real payload that survives a remux) and the TS muxer
 * with null packets, so the file's size is bitrate × seconds. Audio is cut one AAC frame
 * short of the video so that back-to-back copies never overlap.
 */
export const ffmpegSegmentArgs = (seconds: number, bitrate: number, out: string): string[] => {
  const video = Math.max(50_000, Math.floor(bitrate * 0.92) - AUDIO_BITRATE);
  const audioSamples = (Math.floor((AUDIO_RATE * seconds) / 1024) - 1) * 1024;
  return [
    "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${AUDIO_RATE}`,
    "-t", String(seconds),
    "-map", "0:v", "-map", "1:a",
    "-af", `atrim=end_sample=${audioSamples}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
    "-b:v", String(video), "-minrate", String(video), "-maxrate", String(video), "-bufsize", String(video),
    "-x264-params", "nal-hrd=cbr:filler=1",
    "-c:a", "aac", "-b:a", String(AUDIO_BITRATE), "-ac", "1",
    "-f", "mpegts", "-muxrate", String(bitrate),
    out,
  ];
};

const run = (cmd: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`${cmd} failed: ${err.message}${stderr ? `\n${stderr}` : ""}`));
    });
  });

/**
 * Segments made once with ffmpeg per (length, bitrate) and kept on disk under
 * `cacheDir`, so a second run, or a second test file, reuses them. Concurrent requests
 * for the same segment share one ffmpeg run; files appear atomically (rename), so
 * processes sharing the folder never read half a file.
 */
export class SegmentCache {
  readonly #dir: string;
  readonly #ffmpeg: string;
  readonly #memory = new Map<string, Promise<BaseSegment>>();

  constructor(cacheDir: string, ffmpegPath = "ffmpeg") {
    this.#dir = join(cacheDir, `hls-${VERSION}`);
    this.#ffmpeg = ffmpegPath;
  }

  /** The segment of `seconds` (whole) at `bitrate` bits/s, generated if needed. */
  get(seconds: number, bitrate: number): Promise<BaseSegment> {
    const key = `seg-d${seconds}-b${bitrate}`;
    let p = this.#memory.get(key);
    if (p === undefined) {
      p = this.#load(key, seconds, bitrate);
      this.#memory.set(key, p);
      p.catch(() => this.#memory.delete(key));
    }
    return p;
  }

  async #load(key: string, seconds: number, bitrate: number): Promise<BaseSegment> {
    const file = join(this.#dir, `${key}.ts`);
    const exists = await stat(file).then((s) => s.size > 0, () => false);
    if (!exists) {
      await mkdir(this.#dir, { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await run(this.#ffmpeg, ffmpegSegmentArgs(seconds, bitrate, tmp));
      await rename(tmp, file);
    }
    const bytes = await readFile(file);
    return { bytes, layout: analyzeTs(bytes), seconds, bitrate };
  }
}
