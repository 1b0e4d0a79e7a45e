import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { fileChecksum } from "../../../src/services/checksum.ts";
import { runDownload } from "../../../src/services/downloader.ts";
import { FragmentLedger, readResumeState, repairResumeState } from "../../../src/services/ytdlp-resume.ts";
import type { DownloadProgress } from "../../../src/services/ytdlp-progress.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";

const VOD = "200001";
const SEGMENTS = 6; // 24 s in 4-second segments
const APPENDED = 3; // fragments already in the .part

/** A progress update as yt-dlp sends it when fragment `index` has just finished. */
const fragmentDone = (index: number, bytes: number): DownloadProgress => ({
  status: "downloading",
  downloadedBytes: bytes,
  totalBytes: undefined,
  totalIsEstimate: true,
  percent: undefined,
  speedBytesPerSecond: undefined,
  etaSeconds: undefined,
  fragmentIndex: index,
  fragmentCount: SEGMENTS,
});

describe("resume state left by an interrupted yt-dlp", () => {
  let sim: Simulator;
  let dir: string;
  let segments: Array<Buffer>;
  let expected: string;
  const url = () => `${sim.urls.base}/vods/${VOD}/index.m3u8`;

  beforeAll(async () => {
    sim = await startSimulator({
      scenario: { channels: [{ login: "alpha", vods: [{ id: VOD, duration: `${SEGMENTS * 4}s` }] }] },
      chat: false,
      uploadDir: null,
    });
    await sim.prepareVideo();
    dir = await mkdtemp(join(tmpdir(), "vt-resume-"));
    segments = await Promise.all(
      Array.from({ length: SEGMENTS }, async (_, n) =>
        Buffer.from(await (await fetch(`${sim.urls.base}/vods/${VOD}/${n}.ts`)).arrayBuffer()),
      ),
    );
    const fresh = await Effect.runPromise(runDownload({ url: url(), outputPath: join(dir, "fresh.mp4") }));
    expected = (await Effect.runPromise(fileChecksum(fresh.path))).sha256;
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes what yt-dlp leaves after appending `APPENDED` fragments, with the given `.ytdl` text. */
  const leaveBehind = async (name: string, ytdl: string) => {
    const outputPath = join(dir, name);
    await writeFile(`${outputPath}.part`, Buffer.concat(segments.slice(0, APPENDED)));
    await writeFile(`${outputPath}.ytdl`, ytdl);
    return outputPath;
  };

  /** A ledger as the interrupted run would have built it from its progress updates. */
  const ledgerOfInterruptedRun = () => {
    const ledger = new FragmentLedger({ partBytes: 0, fragmentIndex: undefined, ytdl: "missing", extraState: {} });
    let bytes = 0;
    for (let i = 1; i <= APPENDED; i++) {
      bytes += segments[i - 1]!.length;
      ledger.observe(fragmentDone(i, bytes));
    }
    return ledger;
  };

  const ytdlText = (index: number) => JSON.stringify({ downloader: { current_fragment: { index }, extra_state: {} } });

  it.live("moves a .ytdl left one fragment behind forward, so no fragment is appended twice", () =>
    Effect.gen(function* () {
      const outputPath = yield* Effect.promise(() => leaveBehind("behind.mp4", ytdlText(APPENDED - 1)));
      expect(yield* Effect.promise(() => repairResumeState(outputPath, ledgerOfInterruptedRun()))).toBe("repaired");
      expect((yield* Effect.promise(() => readResumeState(outputPath))).fragmentIndex).toBe(APPENDED);
      const result = yield* runDownload({ url: url(), outputPath });
      expect(result.resumedFromBytes).toBe(Buffer.concat(segments.slice(0, APPENDED)).length);
      expect((yield* fileChecksum(outputPath)).sha256).toBe(expected);
    }),
  );

  it.live("rewrites a .ytdl emptied by a kill, so the .part is kept and resumed", () =>
    Effect.gen(function* () {
      const outputPath = yield* Effect.promise(() => leaveBehind("emptied.mp4", ""));
      expect(yield* Effect.promise(() => repairResumeState(outputPath, ledgerOfInterruptedRun()))).toBe("repaired");
      const state = yield* Effect.promise(() => readResumeState(outputPath));
      expect(state).toMatchObject({ fragmentIndex: APPENDED, ytdl: "ok" });
      const result = yield* runDownload({ url: url(), outputPath });
      expect(result.resumedFromBytes).toBeGreaterThan(0);
      expect((yield* fileChecksum(outputPath)).sha256).toBe(expected);
    }),
  );

  it.live("leaves a consistent state alone", () =>
    Effect.gen(function* () {
      const outputPath = yield* Effect.promise(() => leaveBehind("consistent.mp4", ytdlText(APPENDED)));
      expect(yield* Effect.promise(() => repairResumeState(outputPath, ledgerOfInterruptedRun()))).toBe("consistent");
      expect(yield* Effect.promise(() => readFile(`${outputPath}.ytdl`, "utf8"))).toBe(ytdlText(APPENDED));
    }),
  );

  it.live("discards a .part whose .ytdl is unreadable when no boundary is known, instead of letting yt-dlp append to it", () =>
    Effect.gen(function* () {
      // A previous process died mid-rewrite; this run has no ledger of it.
      const outputPath = yield* Effect.promise(() => leaveBehind("orphan.mp4", '{"downloader": {"curr'));
      const result = yield* runDownload({ url: url(), outputPath });
      expect(result.resumedFromBytes).toBe(0);
      expect((yield* fileChecksum(outputPath)).sha256).toBe(expected);
      expect(yield* Effect.promise(() => stat(`${outputPath}.part`).then(() => true, () => false))).toBe(false);
    }),
  );
});
