/**
 * Runs the VOD pipeline the way a channel's processor does, for tests that
 * come before the process is assembled: the real download machine
 * (`src/machines/download.ts`) with its stages bound to `VodProcessing` and
 * its slot to `DownloadSlots`, one VOD of a channel at a time, `finish` with
 * the machine's outcome. Stage failures reach the machine as `Failure`s, as
 * the actor layer delivers them.
 */
import { Cause, Effect, Exit, Fiber, type ManagedRuntime } from "effect";
import { createActor, fromPromise, toPromise } from "xstate";
import { downloadMachine, type DownloadJob, type DownloadOutcome, type DownloadProgress } from "../../../src/machines/download.ts";
import { failure } from "../../../src/machines/failure.ts";
import type { ChannelSettings } from "../../../src/services/channel-settings.ts";
import { DownloadSlots } from "../../../src/services/download-slots.ts";
import { type ClaimedVod, VodProcessing, VodWorkError } from "../../../src/services/vod-processing.ts";

/** What the driver observed of one VOD. */
export interface DriverRun {
  readonly vodId: number;
  readonly outcome: DownloadOutcome;
  readonly progress: Array<DownloadProgress>;
  readonly stages: Array<string>;
  /** When each stage was entered (ms since the epoch), in order. */
  readonly stageTimes: Array<number>;
}

type Runtime = ManagedRuntime.ManagedRuntime<VodProcessing | DownloadSlots, unknown>;

const asPromise = <A>(runtime: Runtime, effect: Effect.Effect<A, VodWorkError, VodProcessing | DownloadSlots>, signal: AbortSignal) =>
  runtime.runPromiseExit(effect, { signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value;
    const error = Cause.findErrorOption(exit.cause);
    if (error._tag === "Some" && error.value instanceof VodWorkError) {
      throw failure(error.value.retryable ? "retryable" : "permanent", error.value.message);
    }
    throw failure("crash", Cause.pretty(exit.cause));
  });

/** Options of one run. */
export interface DriverOptions {
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  /** Called on every stage change, with a way to cancel the VOD. */
  readonly onStage?: (stage: string, cancel: () => void) => void;
  /** Asked before each claim; false stops draining. */
  readonly keepGoing?: () => boolean;
}

/** Runs one claimed VOD through the download machine and finishes its claim with the outcome. */
export const runClaimed = async (
  runtime: Runtime,
  channel: string,
  settings: ChannelSettings,
  claimed: ClaimedVod,
  options: DriverOptions = {},
): Promise<DriverRun> => {
  const progress: Array<DownloadProgress> = [];
  const stages: Array<string> = [];
  const stageTimes: Array<number> = [];
  const machine = downloadMachine.provide({
    actors: {
      // Holds the slot for as long as the machine runs; stopping the machine aborts it and frees the slot.
      slot: fromPromise<void, { readonly channel: string; readonly job: DownloadJob }>(
        ({ input, self, signal }) =>
          new Promise<void>(() => {
            const fiber = runtime.runFork(
              Effect.gen(function* () {
                const slots = yield* Effect.service(DownloadSlots);
                yield* slots.acquire(input.channel);
                self._parent?.send({ type: "SLOT.ACQUIRED" });
                return yield* Effect.never;
              }).pipe(Effect.scoped),
            );
            signal.addEventListener("abort", () => void runtime.runFork(Fiber.interrupt(fiber)));
          }),
      ),
      prepare: fromPromise(({ input, signal }) =>
        asPromise(runtime, Effect.flatMap(Effect.service(VodProcessing), (p) => p.prepare(input.job.vodId)), signal),
      ),
      download: fromPromise(({ input, signal, self }) =>
        asPromise(
          runtime,
          Effect.flatMap(Effect.service(VodProcessing), (p) =>
            p.download(input.job.vodId, (update) => {
              progress.push(update);
              self._parent?.send({ type: "PROGRESS", progress: update });
            }),
          ),
          signal,
        ),
      ),
      verify: fromPromise(({ input, signal }) =>
        asPromise(runtime, Effect.flatMap(Effect.service(VodProcessing), (p) => p.verify(input.job.vodId, input.file)), signal),
      ),
      upload: fromPromise(({ input, signal }) =>
        asPromise(runtime, Effect.flatMap(Effect.service(VodProcessing), (p) => p.upload(input.job.vodId, input.file, input.settings).pipe(Effect.map((r) => ({ url: r.url ?? "" })))), signal),
      ),
    },
  });
  const actor = createActor(machine, {
    input: {
      channel,
      job: claimed.job,
      upload: claimed.upload ? settings.upload : null,
      maxAttempts: options.maxAttempts ?? 3,
      backoff: { baseMs: options.backoffMs ?? 50, maxMs: 500 },
    },
  });
  actor.subscribe({
    next: (snapshot) => {
      const stage = typeof snapshot.value === "string" ? snapshot.value : JSON.stringify(snapshot.value);
      if (stages[stages.length - 1] !== stage) {
        stages.push(stage);
        stageTimes.push(Date.now());
        options.onStage?.(stage, () => actor.send({ type: "CANCEL" }));
      }
    },
    error: () => {},
  });
  actor.start();
  const outcome = await toPromise(actor);
  await runtime.runPromise(
    Effect.flatMap(Effect.service(VodProcessing), (p) =>
      p.finish(
        claimed.job.vodId,
        outcome.status === "failed" ? { status: "failed", permanent: outcome.permanent, message: outcome.message } : outcome,
      ),
    ),
  );
  return { vodId: claimed.job.vodId, outcome, progress, stages, stageTimes };
};

/** Processes a channel's queue until it is empty; returns every run. */
export const drainChannel = async (
  runtime: Runtime,
  channel: string,
  settings: ChannelSettings,
  options: DriverOptions = {},
): Promise<Array<DriverRun>> => {
  const runs: Array<DriverRun> = [];
  while (options.keepGoing?.() ?? true) {
    const claimed = await runtime.runPromise(Effect.flatMap(Effect.service(VodProcessing), (p) => p.claimNext(channel, settings)));
    if (claimed === undefined) return runs;
    runs.push(await runClaimed(runtime, channel, settings, claimed, options));
  }
  return runs;
};
