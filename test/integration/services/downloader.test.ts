import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deferred, Effect, Fiber } from "effect";
import { execa } from "execa";
import { fileChecksum } from "../../../src/services/checksum.ts";
import { runDownload } from "../../../src/services/downloader.ts";
import { probeFile, verifyDuration } from "../../../src/services/probe.ts";
import { vodFilePath } from "../../../src/services/vod-path.ts";
import type { DownloadProgress } from "../../../src/services/ytdlp-progress.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";

const VOD = "100001";
const RESTRICTED = "100002";
const SHORT = "100003";
const SECONDS = 48; // twelve 4-second segments

const sizeOf = (path: string) =>
  Effect.promise(() =>
    stat(path).then(
      (s) => s.size,
      () => undefined,
    ),
  );

/** yt-dlp processes whose command line mentions `needle`. */
const processesMentioning = (needle: string) =>
  Effect.promise(async () => {
    const ps = await execa("ps", ["-eo", "pid,args"], { reject: false });
    return ps.stdout.split("\n").filter((line) => line.includes("yt-dlp") && line.includes(needle));
  });

describe("yt-dlp downloader against the simulator's HLS VODs", () => {
  let sim: Simulator;
  let dir: string;
  const url = (id: string) => `${sim.urls.base}/vods/${id}/index.m3u8`;

  beforeAll(async () => {
    sim = await startSimulator({
      scenario: {
        channels: [
          {
            login: "alpha",
            vods: [
              { id: VOD, duration: `${SECONDS}s`, title: "100% chaos / ünïcode ☀️" },
              { id: RESTRICTED, duration: "8s", restricted: true },
              { id: SHORT, duration: "8s" },
            ],
          },
        ],
      },
      chat: false,
      uploadDir: null,
    });
    await sim.prepareVideo();
    dir = await mkdtemp(join(tmpdir(), "vt-downloader-"));
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.live("stops yt-dlp on interruption, keeps the partial file, and resumes from it", () =>
    Effect.gen(function* () {
      const outputPath = vodFilePath({
        dataDir: dir,
        channel: "alpha",
        vodId: VOD,
        date: new Date("2026-01-02T03:04:05Z"),
        title: "100% chaos / ünïcode ☀️",
      });
      // Slow segments so the interruption lands mid-download.
      const slow = sim.injectFault({ kind: "slow", path: `/vods/${VOD}/`, delayMs: 150, persistent: true });
      const midway = yield* Deferred.make<DownloadProgress>();
      const first = yield* Effect.forkChild(
        runDownload(
          {
            url: url(VOD),
            outputPath,
            onProgress: (p) => {
              if ((p.fragmentIndex ?? 0) >= 5) Deferred.doneUnsafe(midway, Effect.succeed(p));
            },
          },
          { killGraceMs: 2_000 },
        ),
      );
      yield* Deferred.await(midway);
      yield* Fiber.interrupt(first);
      sim.clearFault(slow);

      expect(yield* processesMentioning(outputPath)).toEqual([]);
      expect(yield* sizeOf(outputPath)).toBeUndefined();
      const partial = (yield* sizeOf(`${outputPath}.part`)) ?? 0;
      expect(partial).toBeGreaterThan(0);
      expect(yield* sizeOf(`${outputPath}.ytdl`)).toBeGreaterThan(0);

      const seen: Array<DownloadProgress> = [];
      const result = yield* runDownload({ url: url(VOD), outputPath, onProgress: (p) => seen.push(p) });
      expect(result.path).toBe(outputPath);
      expect(result.resumedFromBytes).toBe(partial);
      expect(result.alreadyComplete).toBe(false);
      expect(seen[0]!.downloadedBytes).toBeGreaterThanOrEqual(partial);
      expect(seen[0]!.fragmentIndex).toBeGreaterThanOrEqual(5);
      const last = result.lastProgress!;
      expect(last.status).toBe("finished");
      // The second run fetched only what was missing.
      expect(last.downloadedBytes - partial).toBeLessThan(last.downloadedBytes * 0.8);
      expect(yield* sizeOf(`${outputPath}.part`)).toBeUndefined();

      const probed = yield* probeFile(outputPath);
      expect(probed.hasVideo).toBe(true);
      expect(probed.formatName).toContain("mp4");
      yield* verifyDuration(SECONDS, probed.durationSeconds, 2);

      const again = yield* runDownload({ url: url(VOD), outputPath });
      expect(again.alreadyComplete).toBe(true);
      expect(again.sizeBytes).toBe(result.sizeBytes);

      // Byte for byte what an uninterrupted download gives: no fragment twice, none missing.
      const fresh = yield* runDownload({ url: url(VOD), outputPath: join(dir, "fresh.mp4") });
      expect((yield* fileChecksum(outputPath)).sha256).toBe((yield* fileChecksum(fresh.path)).sha256);
    }),
  );

  it.live("writes to the exact path given, even one yt-dlp would read as a template", () =>
    Effect.gen(function* () {
      const outputPath = join(dir, "odd", "%(title)s 100% [x].mp4");
      const result = yield* runDownload({ url: url(SHORT), outputPath });
      expect(result.path).toBe(outputPath);
      expect(yield* sizeOf(outputPath)).toBe(result.sizeBytes);
      expect(result.resumedFromBytes).toBe(0);
    }),
  );

  it.live("reports a VOD Twitch does not have (404) as permanent", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(runDownload({ url: url("999999999"), outputPath: join(dir, "missing.mp4") }));
      expect(error).toMatchObject({ _tag: "DownloadError", reason: "not-found", retryable: false, exitCode: 1 });
      expect(error.message).toContain("404");
      expect(error.outputTail.length).toBeGreaterThan(0);
    }),
  );

  it.live("reports a subscriber-only VOD (403 on the playlist) as permanent", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(runDownload({ url: url(RESTRICTED), outputPath: join(dir, "restricted.mp4") }));
      expect(error.reason).toBe("forbidden");
      expect(error.retryable).toBe(false);
    }),
  );

  it.live("aborts on a missing segment instead of skipping it, as a retryable failure", () =>
    Effect.gen(function* () {
      const outputPath = join(dir, "hole.mp4");
      const fault = sim.injectFault({ kind: "segment-404", vodId: VOD, segment: 3, persistent: true });
      const error = yield* Effect.flip(runDownload({ url: url(VOD), outputPath }, { retries: 1 }));
      sim.clearFault(fault);
      expect(error.reason).toBe("fragment");
      expect(error.retryable).toBe(true);
      expect(yield* sizeOf(outputPath)).toBeUndefined();
      expect(yield* sizeOf(`${outputPath}.part`)).toBeGreaterThan(0);
    }),
  );

  it.live("reports a missing yt-dlp without running anything", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        runDownload({ url: url(VOD), outputPath: join(dir, "none.mp4") }, { ytdlpPath: join(dir, "no-such-yt-dlp") }),
      );
      expect(error.reason).toBe("tool-missing");
      expect(error.exitCode).toBeNull();
    }),
  );
});
