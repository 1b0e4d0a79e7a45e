/**
 * The processor's work, done for real: `ProcessorWork` bound to the VOD
 * pipeline (`VodProcessing`: claims in `vods`, yt-dlp, ffprobe, YouTube) and
 * the process's fair `DownloadSlots`.
 *
 * The processor machine decides to upload from the channel's settings alone;
 * whether this VOD is due (not on YouTube yet, not `skip_upload`, a credential
 * at hand, the daily cap not reached) is decided by the upload stage, which
 * answers an empty URL when it skipped. `finish` then marks the VOD processed
 * (or puts it off until the cap allows its upload).
 */
import { Effect, Layer } from "effect";
import type { DownloadJob, DownloadOutcome } from "../machines/download.ts";
import { DownloadSlots } from "../services/download-slots.ts";
import { VodProcessing, type VodOutcome, type VodWorkError } from "../services/vod-processing.ts";
import { ProcessorWork } from "./processor-work.ts";
import { WorkError } from "./work-error.ts";

const toWorkError = (error: VodWorkError): WorkError => new WorkError({ message: error.message, retryable: error.retryable });

const outcomeOf = (outcome: DownloadOutcome): VodOutcome =>
  outcome.status === "failed" ? { status: "failed", permanent: outcome.permanent, message: outcome.message } : { status: outcome.status };

/** `ProcessorWork` over `VodProcessing` and `DownloadSlots`. */
export const processorWorkLive: Layer.Layer<ProcessorWork, never, VodProcessing | DownloadSlots> = Layer.effect(
  ProcessorWork,
  Effect.gen(function* () {
    const processing = yield* VodProcessing;
    const slots = yield* DownloadSlots;
    return ProcessorWork.of({
      claimNext: (channel) =>
        processing.claimNext(channel).pipe(
          Effect.map((claimed): DownloadJob | null => claimed?.job ?? null),
          Effect.mapError(toWorkError),
        ),
      acquireSlot: (channel) => slots.acquire(channel),
      prepare: (_channel, job) => processing.prepare(job.vodId).pipe(Effect.mapError(toWorkError)),
      download: (_channel, job, _attempt, onProgress) => processing.download(job.vodId, onProgress).pipe(Effect.mapError(toWorkError)),
      verify: (_channel, job, file) => processing.verify(job.vodId, file).pipe(Effect.mapError(toWorkError)),
      upload: (_channel, job, file, settings) =>
        processing.upload(job.vodId, file, settings).pipe(
          Effect.map((result) => ({ url: result.url })),
          Effect.mapError(toWorkError),
        ),
      finish: (_channel, job, outcome) => processing.finish(job.vodId, outcomeOf(outcome)).pipe(Effect.mapError(toWorkError)),
    });
  }),
);
