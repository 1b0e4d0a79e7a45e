import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanCatalog } from "../../../src/services/catalog-scan.ts";
import { fileChecksum } from "../../../src/services/checksum.ts";
import { probeFile } from "../../../src/services/probe.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { channelVodDir } from "../../../src/services/vod-path.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { drainChannel, type DriverRun } from "./pipeline-driver.ts";
import { type Pipeline, settingsWith, startPipeline } from "./pipeline-harness.ts";
import { insertVod } from "./vod-fixtures.ts";

const day = (n: number) => `2024-03-${String(n).padStart(2, "0")}T12:00:00Z`;

let sim: Simulator;
let pipeline: Pipeline;

const run = <A, E>(effect: Effect.Effect<A, E, Parameters<Pipeline["runtime"]["runPromise"]>[0] extends Effect.Effect<unknown, unknown, infer R> ? R : never>) =>
  pipeline.runtime.runPromise(effect);

const row = (id: number) => run(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.get(id)));

const catalog = (channel: string) => run(scanCatalog(channel, { max: 0, maxAgeDays: 0 }));

const vodIdsOf = async (channel: string) =>
  (await run(Effect.flatMap(Effect.service(SqlClient), (sql) => sql<{ readonly id: number }>`SELECT id FROM vods WHERE channel = ${channel} ORDER BY date`))).map(
    (r) => r.id,
  );

beforeAll(async () => {
  sim = await startSimulator({
    chat: false,
    scenario: {
      channels: [
        { login: "alpha", id: "2001", vods: [{ id: "7001", duration: "12s", createdAt: day(1) }, { id: "7002", duration: "8s", createdAt: day(2) }] },
        {
          login: "bravo",
          id: "2002",
          vods: [
            { id: "7003", duration: "8s", createdAt: day(3), title: "../../etc/passwd <b>?*|</b> 🎮 stream" },
            { id: "7004", duration: "12s", createdAt: day(4) },
          ],
        },
        { login: "charlie", id: "2003", vods: [{ id: "7005", duration: "8s", createdAt: day(5) }] },
        { login: "subonly", id: "2004", vods: [{ id: "7006", duration: "8s", createdAt: day(6), restricted: true }] },
        { login: "flaky", id: "2005", vods: [{ id: "7007", duration: "8s", createdAt: day(7) }] },
        { login: "tuber", id: "2006", vods: [{ id: "7008", duration: "12s", createdAt: day(8), title: "x".repeat(140) }] },
        { login: "resumer", id: "2007", vods: [{ id: "7009", duration: "40s", createdAt: day(9), bitrate: "2M" }] },
      ],
    },
    uploadDir: null,
  });
  await sim.prepareVideo();
  pipeline = await startPipeline(sim, { slots: 2, uploadChunkBytes: 4 * 1024 * 1024 });
});
afterAll(async () => {
  await pipeline?.close();
  await sim?.stop();
});

const expectVerified = async (id: number, channel: string, expectedSeconds: number) => {
  const vod = await row(id);
  expect(vod?.processed).toBe(true);
  expect(vod?.downloadState).toBe("done");
  expect(vod?.processingError).toBeNull();
  const path = vod?.filePath ?? "";
  expect(path.startsWith(channelVodDir(pipeline.dataDir, channel) + "/")).toBe(true);
  expect(path).toMatch(new RegExp(`/2024-03-\\d\\d_${vod?.twitchVodId}_[^/]+\\.mp4$`));
  const sum = await Effect.runPromise(fileChecksum(path));
  expect(vod?.sha256).toBe(sum.sha256);
  expect(vod?.fileSize).toBe(sum.size);
  const media = await Effect.runPromise(probeFile(path));
  expect(media.hasVideo).toBe(true);
  expect(Math.abs((media.durationSeconds ?? 0) - expectedSeconds)).toBeLessThan(1.5);
  return vod!;
};

describe("VOD processing against the simulator", () => {
  it("three channels: every VOD downloaded, ffprobe-valid, checksummed and processed", async () => {
    for (const channel of ["alpha", "bravo", "charlie"]) expect((await catalog(channel)).added).toBeGreaterThan(0);
    const runs = await Promise.all(["alpha", "bravo", "charlie"].map((channel) => drainChannel(pipeline.runtime, channel, settingsWith())));
    expect(runs.map((r) => r.length)).toEqual([2, 2, 1]);
    for (const r of runs.flat()) {
      expect(r.outcome).toMatchObject({ status: "done" });
      expect(r.stages).toEqual(["queued", "preparing", "downloading", "verifying", "done"]);
      expect(r.progress.length).toBeGreaterThan(0);
      expect(r.progress[r.progress.length - 1]?.percent).toBe(100);
    }
    const seconds: Record<string, number> = { "7001": 12, "7002": 8, "7003": 8, "7004": 12, "7005": 8 };
    for (const channel of ["alpha", "bravo", "charlie"]) {
      for (const id of await vodIdsOf(channel)) {
        const vod = await row(id);
        await expectVerified(id, channel, seconds[vod!.twitchVodId!]!);
      }
    }
    // A hostile title stays one safe file name inside its channel's folder.
    const hostile = await row((await vodIdsOf("bravo"))[0]!);
    expect(hostile?.filePath).toContain(join("vods", "bravo", "2024-03-03_7003_"));
    const metric = async (name: string) => (await pipeline.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    const succeeded = await metric("vodtender_downloads_succeeded_total");
    expect(succeeded.reduce((sum, v) => sum + v.value, 0)).toBe(5);
    const bytes = await metric("vodtender_download_bytes_total");
    expect(bytes.find((v) => v.labels["channel"] === "alpha")?.value).toBeGreaterThan(100_000);
    const depth = await metric("vodtender_vod_queue_depth");
    expect(depth.find((v) => v.labels["channel"] === "alpha")?.value).toBe(0);
  });

  it("a subscriber-only VOD fails permanently on its first attempt and is not claimed again", async () => {
    await catalog("subonly");
    const runs = await drainChannel(pipeline.runtime, "subonly", settingsWith());
    expect(runs).toHaveLength(1);
    expect(runs[0]?.outcome).toMatchObject({ status: "failed", permanent: true, attempts: 1 });
    const vod = await row(runs[0]!.vodId);
    expect(vod?.failedPermanently).toBe(true);
    expect(vod?.downloadState).toBe("failed");
    expect(vod?.downloadRetries).toBe(0);
    expect(vod?.processingError).toMatch(/subscriber|forbidden/i);
    expect(await drainChannel(pipeline.runtime, "subonly", settingsWith())).toHaveLength(0);
  });

  it("a VOD Twitch no longer has fails permanently before anything is downloaded", async () => {
    const id = await run(insertVod({ channel: "ghost", twitch_vod_id: "999999999", url: `${sim.urls.base}/vods/999999999/index.m3u8` }));
    const runs = await drainChannel(pipeline.runtime, "ghost", settingsWith());
    expect(runs[0]?.outcome).toMatchObject({ status: "failed", permanent: true, attempts: 1 });
    expect(runs[0]?.stages).not.toContain("downloading");
    const vod = await row(id);
    expect(vod?.processingError).toMatch(/no longer exists on Twitch/);
    expect(vod?.failedPermanently).toBe(true);
  });

  it("transient failures are counted, retried with backoff, and the VOD completes", async () => {
    await catalog("flaky");
    sim.injectFault({ kind: "http-error", path: "/vods/7007/index.m3u8", status: 503, count: 2 });
    const runs = await drainChannel(pipeline.runtime, "flaky", settingsWith(), { maxAttempts: 4, backoffMs: 50 });
    expect(runs).toHaveLength(1);
    expect(runs[0]?.outcome).toMatchObject({ status: "done", attempts: 3 });
    expect(runs[0]?.stages.filter((stage) => stage === "backoff")).toHaveLength(2);
    const vod = await expectVerified(runs[0]!.vodId, "flaky", 8);
    expect(vod.downloadRetries).toBe(2);
    const failed = (await pipeline.metrics.downloadsFailed.get()).values.filter((v) => v.labels["channel"] === "flaky");
    expect(failed).toEqual([expect.objectContaining({ value: 2, labels: { channel: "flaky", kind: "retryable" } })]);
  });

  it("a canceled download keeps its partial file; reprocessed, it resumes from it", async () => {
    await catalog("resumer");
    // Slow segments give time to cancel partway.
    sim.injectFault({ kind: "slow", path: "/vods/7009/", delayMs: 400, count: 1000, persistent: true });
    let bytesAtCancel = 0;
    const first: Array<DriverRun> = await drainChannel(pipeline.runtime, "resumer", settingsWith(), {
      onStage: (stage, cancel) => {
        if (stage !== "downloading") return;
        const timer = setInterval(async () => {
          const vod = await row((await vodIdsOf("resumer"))[0]!);
          // Well into the download: about half of it is on disk.
          if ((vod?.downloadBytes ?? 0) > 0.4 * (vod?.downloadTotal ?? Number.POSITIVE_INFINITY)) {
            clearInterval(timer);
            bytesAtCancel = vod!.downloadBytes;
            cancel();
          }
        }, 100);
      },
    });
    expect(first[0]?.outcome.status).toBe("canceled");
    const canceled = await row(first[0]!.vodId);
    expect(canceled?.downloadState).toBe("canceled");
    const part = await stat(`${canceled!.filePath}.part`);
    expect(part.size).toBeGreaterThan(0);
    expect(bytesAtCancel).toBeGreaterThan(0);
    // Canceled VODs wait for an operator.
    expect(await drainChannel(pipeline.runtime, "resumer", settingsWith())).toHaveLength(0);

    await run(Effect.flatMap(Effect.service(VodsRepository), (vods) => vods.reprocess(first[0]!.vodId)));
    const before = (await pipeline.metrics.downloadBytes.get()).values.find((v) => v.labels["channel"] === "resumer")?.value ?? 0;
    const writesBefore = pipeline.progressWrites.get(first[0]!.vodId) ?? 0;
    const second = await drainChannel(pipeline.runtime, "resumer", settingsWith());
    expect(second[0]?.outcome.status).toBe("done");
    // Every update reached the listener; the database got at most one a second.
    const seconds = (second[0]!.stageTimes[3]! - second[0]!.stageTimes[2]!) / 1000;
    const writes = (pipeline.progressWrites.get(first[0]!.vodId) ?? 0) - writesBefore;
    expect(second[0]!.progress.length).toBeGreaterThan(writes);
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(Math.floor(seconds) + 1);
    sim.clearFaults();
    const vod = await expectVerified(second[0]!.vodId, "resumer", 40);
    const after = (await pipeline.metrics.downloadBytes.get()).values.find((v) => v.labels["channel"] === "resumer")?.value ?? 0;
    // The second run fetched what the first had not.
    // The second run fetched only what the first had not (whole fragments are kept; a cut one is fetched again).
    expect(part.size).toBeGreaterThan(0.3 * vod.fileSize!);
    expect(after - before).toBeLessThan(0.8 * vod.fileSize!);
    expect(second[0]?.progress[0]?.bytes).toBeGreaterThan(0);
  });
});
