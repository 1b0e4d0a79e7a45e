/**
 * What a channel's processor actor asks of the world: claim the next VOD,
 * hold a download slot, run the pipeline's stages, record the outcome. The
 * machines decide order, retries and the breaker; the implementation does the
 * I/O (the `vods` table, yt-dlp, ffprobe, YouTube).
 *
 * Every stage may use its `Scope` for what it starts (a subprocess, a socket):
 * the scope closes when the stage ends or is interrupted — by a cancel, a
 * pause, a removal or a shutdown — which is how subprocesses get killed.
 */
import { Context, Effect, Layer } from "effect";
import type { Scope } from "effect";
import type { UploadSettings } from "../services/channel-settings.ts";
import type { DownloadJob, DownloadOutcome, DownloadProgress, DownloadedFile } from "../machines/download.ts";
import type { WorkError } from "./work-error.ts";
import { permanent } from "./work-error.ts";

/** The processor's work. */
export class ProcessorWork extends Context.Service<
  ProcessorWork,
  {
    /** The channel's next VOD due for download (and marks it taken), or null when none is. */
    readonly claimNext: (channel: string) => Effect.Effect<DownloadJob | null, WorkError, Scope.Scope>;
    /**
     * Waits for a download slot and holds it in the given scope: the slot is
     * released when the scope closes (the download ended, was cancelled, or
     * its actor stopped). Slots are shared fairly by all channels.
     */
    readonly acquireSlot: (channel: string, job: DownloadJob) => Effect.Effect<void, never, Scope.Scope>;
    /** Gets ready for an attempt (directories, stale partial files). */
    readonly prepare: (channel: string, job: DownloadJob, attempt: number) => Effect.Effect<void, WorkError, Scope.Scope>;
    /** Downloads the VOD, reporting progress as it goes. */
    readonly download: (
      channel: string,
      job: DownloadJob,
      attempt: number,
      onProgress: (progress: DownloadProgress) => void,
    ) => Effect.Effect<DownloadedFile, WorkError, Scope.Scope>;
    /** Checks the downloaded file (duration, streams). */
    readonly verify: (channel: string, job: DownloadJob, file: DownloadedFile) => Effect.Effect<void, WorkError, Scope.Scope>;
    /** Uploads the file; returns the video's URL, or null when no upload was due (already on YouTube, skipped, capped, no credential). */
    readonly upload: (
      channel: string,
      job: DownloadJob,
      file: DownloadedFile,
      settings: UploadSettings,
    ) => Effect.Effect<{ readonly url: string | null }, WorkError, Scope.Scope>;
    /** Records how the VOD ended (state, retries, path, URL, error). */
    readonly finish: (channel: string, job: DownloadJob, outcome: DownloadOutcome) => Effect.Effect<void, WorkError, Scope.Scope>;
  }
>()("vod-tender/actors/ProcessorWork") {
  /**
   * A processor with an empty queue: nothing is ever claimed, so the stages
   * are never reached (and refuse if they are). For tests and benchmarks of
   * the actor tree.
   */
  static readonly layerIdle: Layer.Layer<ProcessorWork> = Layer.succeed(
    ProcessorWork,
    ProcessorWork.of({
      claimNext: () => Effect.succeed(null),
      acquireSlot: () => Effect.void,
      prepare: () => Effect.fail(permanent("this processor has no VOD source")),
      download: () => Effect.fail(permanent("this processor has no VOD source")),
      verify: () => Effect.fail(permanent("this processor has no VOD source")),
      upload: () => Effect.fail(permanent("this processor has no VOD source")),
      finish: () => Effect.void,
    }),
  );
}
