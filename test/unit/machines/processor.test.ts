import { describe, expect, it } from "vitest";
import { SimulatedClock, fromPromise } from "xstate";
import type { BreakerRestore } from "../../../src/machines/breaker.ts";
import { breakerMachine } from "../../../src/machines/breaker.ts";
import type { DownloadJob, DownloadOutcome, DownloadedFile, StageInput } from "../../../src/machines/download.ts";
import { downloadMachine } from "../../../src/machines/download.ts";
import { failure } from "../../../src/machines/failure.ts";
import type { Failure } from "../../../src/machines/failure.ts";
import type { ProcessorInput, ToolStatus } from "../../../src/machines/processor.ts";
import { processorMachine } from "../../../src/machines/processor.ts";
import { settle, underParent } from "./machine-harness.ts";

const COOLDOWN = 300_000;

const input = (overrides: Partial<ProcessorInput["settings"]> = {}, pollIntervalMs = 0): ProcessorInput => ({
  channel: "alice",
  settings: { download: true, upload: { enabled: false, privacy: "private", deleteAfterUpload: false }, ...overrides },
  policy: {
    circuit: { threshold: 2, cooldownMs: COOLDOWN },
    download: { maxAttempts: 1, backoff: { baseMs: 1_000, maxMs: 10_000 } },
    toolRecheckMs: 60_000,
    pollIntervalMs,
  },
});

/**
 * A processor whose queue holds `jobs`, whose downloads answer from `results`
 * (one per job, "hang" to keep running), and whose tool check answers from
 * `tools`.
 */
const fixture = (options: { jobs?: Array<DownloadJob>; results?: Array<DownloadedFile | Failure | "hang">; tools?: Array<ToolStatus> }) => {
  const jobs = options.jobs ?? [];
  const results = options.results ?? [];
  const tools = options.tools ?? [];
  const claims: Array<string> = [];
  const finished: Array<{ vodId: number; outcome: DownloadOutcome }> = [];
  const downloads: Array<{ vodId: number; stopped: boolean }> = [];
  const machine = processorMachine.provide({
    actors: {
      breaker: breakerMachine.provide({
        actors: { load: fromPromise<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>(async () => ({ state: "closed", failures: 0, openRemainingMs: 0 })) },
      }),
      download: downloadMachine.provide({
        actors: {
          slot: fromPromise(({ self }) => {
            queueMicrotask(() => self._parent?.send({ type: "SLOT.ACQUIRED" }));
            return new Promise<void>(() => {});
          }),
          prepare: fromPromise<void, StageInput>(async () => {}),
          download: fromPromise<DownloadedFile, StageInput>(({ input, signal }) => {
            const record = { vodId: input.job.vodId, stopped: false };
            downloads.push(record);
            signal.addEventListener("abort", () => (record.stopped = true));
            const next = results.shift() ?? { path: `/data/${input.job.twitchVodId}.mp4`, bytes: 10 };
            if (next === "hang") return new Promise(() => {});
            return "path" in next ? Promise.resolve(next) : Promise.reject(next);
          }),
          verify: fromPromise(async () => {}),
        },
      }),
      checkTools: fromPromise<ToolStatus, { readonly channel: string }>(async () => tools.shift() ?? { missing: [] }),
      claimNext: fromPromise<DownloadJob | null, { readonly channel: string }>(async ({ input }) => {
        claims.push(input.channel);
        return jobs.shift() ?? null;
      }),
      finish: fromPromise<void, { readonly channel: string; readonly job: DownloadJob; readonly outcome: DownloadOutcome }>(async ({ input }) => {
        finished.push({ vodId: input.job.vodId, outcome: input.outcome });
      }),
    },
  });
  return { machine, claims, finished, downloads, jobs, results };
};

const job = (vodId: number): DownloadJob => ({ vodId, twitchVodId: `v${vodId}`, title: `VOD ${vodId}` });

describe("processor", () => {
  it("is degraded while a tool is missing, says why, and recovers when it appears", async () => {
    const clock = new SimulatedClock();
    const f = fixture({ tools: [{ missing: [{ tool: "yt-dlp", reason: "yt-dlp not found on PATH" }] }] });
    const run = underParent(f.machine, input(), clock);
    await settle();
    expect(run.value()).toBe("degraded");
    expect(run.received).toContainEqual({ type: "CHILD.DEGRADED", child: "processor", reason: "yt-dlp: yt-dlp not found on PATH" });
    expect(f.claims).toHaveLength(0);
    clock.increment(60_000);
    await settle();
    expect(run.received).toContainEqual({ type: "CHILD.READY", child: "processor" });
    expect(f.claims).toHaveLength(1);
    run.stop();
  });

  it("claims at start, downloads each VOD, records its outcome, and claims again until the queue is empty", async () => {
    const clock = new SimulatedClock();
    const f = fixture({ jobs: [job(1), job(2)] });
    const run = underParent(f.machine, input(), clock);
    await settle(20);
    expect(f.finished.map((entry) => [entry.vodId, entry.outcome.status])).toEqual([
      [1, "done"],
      [2, "done"],
    ]);
    expect(f.claims).toHaveLength(3);
    expect(run.value()).toBe("idle");
    expect(run.context().wake).toBe(false);

    f.jobs.push(job(3));
    run.send({ type: "WAKE" });
    await settle(20);
    expect(f.finished.map((entry) => entry.vodId)).toEqual([1, 2, 3]);
    run.stop();
  });

  it("opens its breaker after repeated failures, stops claiming, and probes once after the cooldown", async () => {
    const clock = new SimulatedClock();
    const f = fixture({
      jobs: [job(1), job(2), job(3)],
      results: [failure("retryable", "HTTP 500"), failure("retryable", "HTTP 500")],
    });
    const run = underParent(f.machine, input(), clock);
    await settle(20);
    expect(run.context().breaker).toBe("open");
    expect(f.finished.map((entry) => entry.outcome.status)).toEqual(["failed", "failed"]);
    const claimsWhileOpen = f.claims.length;
    run.send({ type: "WAKE" });
    await settle(10);
    expect(f.claims).toHaveLength(claimsWhileOpen);

    clock.increment(COOLDOWN);
    await settle(20);
    // The probe (job 3) succeeded: closed again, and the queue drained.
    expect(f.finished.map((entry) => [entry.vodId, entry.outcome.status])).toEqual([
      [1, "failed"],
      [2, "failed"],
      [3, "done"],
    ]);
    expect(run.context().breaker).toBe("closed");
    run.stop();
  });

  it("permanent failures do not count against the breaker", async () => {
    const clock = new SimulatedClock();
    const f = fixture({
      jobs: [job(1), job(2), job(3)],
      results: [failure("permanent", "VOD deleted"), failure("permanent", "VOD deleted"), failure("permanent", "VOD deleted")],
    });
    const run = underParent(f.machine, input(), clock);
    await settle(30);
    expect(f.finished).toHaveLength(3);
    expect(run.context().breaker).toBe("closed");
    run.stop();
  });

  it("cancels the running download by VOD id and records the cancel", async () => {
    const clock = new SimulatedClock();
    const f = fixture({ jobs: [job(7)], results: ["hang"] });
    const run = underParent(f.machine, input(), clock);
    await settle(10);
    expect(run.value()).toBe("downloading");
    run.send({ type: "CANCEL", vodId: 8 });
    expect(run.value()).toBe("downloading");
    run.send({ type: "CANCEL", vodId: 7 });
    await settle(10);
    expect(f.downloads[0]!.stopped).toBe(true);
    expect(f.finished).toEqual([{ vodId: 7, outcome: { status: "canceled", attempts: 1 } }]);
    expect(run.context().breaker).toBe("closed");
    run.stop();
  });

  it("does not claim while downloads are off, and starts when they are turned on", async () => {
    const clock = new SimulatedClock();
    const f = fixture({ jobs: [job(1)], tools: [{ missing: [{ tool: "ffmpeg", reason: "not found" }] }] });
    const run = underParent(f.machine, input({ download: false }), clock);
    await settle(10);
    // Missing tools do not matter to a processor that does not download.
    expect(run.value()).toBe("idle");
    expect(f.claims).toHaveLength(0);
    run.send({ type: "SETTINGS", settings: input().settings });
    await settle(10);
    expect(f.finished.map((entry) => entry.vodId)).toEqual([1]);
    run.stop();
  });

  it("looks for work on its poll interval when nothing wakes it", async () => {
    const clock = new SimulatedClock();
    const f = fixture({});
    const run = underParent(f.machine, input({}, 60_000), clock);
    await settle(10);
    expect(f.claims).toHaveLength(1);
    f.jobs.push(job(4));
    clock.increment(59_999);
    await settle(10);
    expect(f.claims).toHaveLength(1);
    clock.increment(1);
    await settle(20);
    expect(f.finished.map((entry) => entry.vodId)).toEqual([4]);
    run.stop();
  });
});
