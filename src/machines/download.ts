/**
 * One VOD through the pipeline: `queued` (waiting for a download slot) →
 * `preparing` → `downloading` (with progress) → `verifying` → `uploading`
 * (when uploads are on) → `done`.
 *
 * A stage that fails `retryable` waits in `backoff` and the VOD starts over
 * from `preparing` (yt-dlp resumes its partial file), up to `maxAttempts`
 * attempts; a `permanent` failure ends in `failed` at once and must not count
 * against the breaker. `CANCEL` ends any active state in `canceled`; leaving
 * the state stops its stage, which kills the subprocess. A crash in a stage is
 * not handled here: it errors the machine and its processor's supervisor
 * decides.
 *
 * The machine ends with a `DownloadOutcome` as its output.
 */
import type { UploadSettings } from "../services/channel-settings.ts";
import { assign, setup } from "xstate";
import type { Backoff } from "./backoff.ts";
import { backoffDelay } from "./backoff.ts";
import type { Failure } from "./failure.ts";
import { describeError, isExpectedFailure, isRetryableFailure } from "./failure.ts";
import { unbound } from "./unbound.ts";

/** A VOD claimed for download. */
export interface DownloadJob {
  /** Row id in `vods`. */
  readonly vodId: number;
  readonly twitchVodId: string;
  readonly title: string;
}

/** How far a download got; sent by the `download` stage as it runs. */
export interface DownloadProgress {
  readonly bytes: number;
  /** Expected size, when known. */
  readonly total: number | null;
  /** 0–100, when the total is known. */
  readonly percent: number | null;
  /** Bytes per second. */
  readonly speed: number | null;
  /** Seconds left. */
  readonly eta: number | null;
}

/** A downloaded file. */
export interface DownloadedFile {
  readonly path: string;
  readonly bytes: number;
}

/** How a download ended; the machine's output. */
export type DownloadOutcome =
  | { readonly status: "done"; readonly attempts: number; readonly file: DownloadedFile; readonly uploadUrl: string | null }
  | { readonly status: "failed"; readonly attempts: number; readonly permanent: boolean; readonly message: string }
  | { readonly status: "canceled"; readonly attempts: number };

export interface DownloadInput {
  readonly channel: string;
  readonly job: DownloadJob;
  /** Where and how to upload after verifying; null for no upload. */
  readonly upload: UploadSettings | null;
  /** Attempts before giving up on retryable failures. */
  readonly maxAttempts: number;
  readonly backoff: Backoff;
}

/** What every stage receives. */
export interface StageInput {
  readonly channel: string;
  readonly job: DownloadJob;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** What the later stages receive. */
export interface FileStageInput extends StageInput {
  readonly file: DownloadedFile;
}

/** What the upload stage receives. */
export interface UploadInput extends FileStageInput {
  readonly settings: UploadSettings;
}

export interface DownloadContext {
  readonly channel: string;
  readonly job: DownloadJob;
  readonly upload: UploadSettings | null;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly attempt: number;
  readonly progress: DownloadProgress | null;
  readonly file: DownloadedFile | null;
  readonly uploadUrl: string | null;
  readonly failure: Failure | null;
  readonly outcome: DownloadOutcome | null;
}

/**
 * `SLOT.ACQUIRED`: the slot actor got a download slot. `PROGRESS`: sent by the
 * download stage. `CANCEL`: stop now.
 */
export type DownloadEvent =
  | { readonly type: "SLOT.ACQUIRED" }
  | { readonly type: "PROGRESS"; readonly progress: DownloadProgress }
  | { readonly type: "CANCEL" };

const stageInput = ({ context }: { context: DownloadContext }): StageInput => ({
  channel: context.channel,
  job: context.job,
  attempt: context.attempt,
});

const fileStageInput = ({ context }: { context: DownloadContext }): FileStageInput => {
  // Unreachable without a file: verifying and uploading are only entered after the download produced one.
  if (context.file === null) throw new Error("download: no file to verify or upload");
  return { ...stageInput({ context }), file: context.file };
};

const errorParams = ({ event }: { readonly event: { readonly error: unknown } }) => ({ error: event.error });

// Every stage fails the same way: retry while attempts remain, give up on
// anything expected, and leave crashes unhandled for the supervisor.
const onStageError = [
  { guard: { type: "canRetry", params: errorParams }, target: "backoff", actions: { type: "recordFailure", params: errorParams } },
  {
    guard: { type: "handled", params: errorParams },
    target: "failed",
    actions: [
      { type: "recordFailure", params: errorParams },
      { type: "giveUp", params: errorParams },
    ],
  },
] as const;

/** The download machine; bind `slot`, `prepare`, `download`, `verify` and `upload` with `provide`. */
export const downloadMachine = setup({
  types: {
    context: {} as DownloadContext,
    events: {} as DownloadEvent,
    input: {} as DownloadInput,
    output: {} as DownloadOutcome,
  },
  actors: {
    /** Holds a download slot for as long as it runs; sends `SLOT.ACQUIRED` once it has one. */
    slot: unbound<void, { readonly channel: string; readonly job: DownloadJob }>("download.slot"),
    prepare: unbound<void, StageInput>("download.prepare"),
    /** Sends `PROGRESS` to its parent while it runs. */
    download: unbound<DownloadedFile, StageInput>("download.download"),
    verify: unbound<void, FileStageInput>("download.verify"),
    upload: unbound<{ readonly url: string | null }, UploadInput>("download.upload"),
  },
  actions: {
    recordFailure: assign({ failure: (_, params: { readonly error: unknown }) => (isExpectedFailure(params.error) ? params.error : null) }),
    giveUp: assign({
      outcome: ({ context }, params: { readonly error: unknown }) => ({
        status: "failed" as const,
        attempts: context.attempt,
        permanent: !isRetryableFailure(params.error),
        message: describeError(params.error),
      }),
    }),
  },
  guards: {
    canRetry: ({ context }, params: { readonly error: unknown }) =>
      isRetryableFailure(params.error) && context.attempt < context.maxAttempts,
    handled: (_, params: { readonly error: unknown }) => isExpectedFailure(params.error),
    uploads: ({ context }) => context.upload !== null,
  },
  delays: {
    retryDelay: ({ context }) => backoffDelay(context.backoff, context.attempt),
  },
}).createMachine({
  id: "download",
  context: ({ input }) => ({
    channel: input.channel,
    job: input.job,
    upload: input.upload,
    maxAttempts: Math.max(1, input.maxAttempts),
    backoff: input.backoff,
    attempt: 1,
    progress: null,
    file: null,
    uploadUrl: null,
    failure: null,
    outcome: null,
  }),
  invoke: {
    id: "slot",
    src: "slot",
    input: ({ context }) => ({ channel: context.channel, job: context.job }),
  },
  initial: "queued",
  output: ({ context }) => context.outcome ?? { status: "canceled", attempts: context.attempt },
  states: {
    queued: {
      on: { "SLOT.ACQUIRED": "preparing" },
    },
    preparing: {
      invoke: {
        src: "prepare",
        input: stageInput,
        onDone: "downloading",
        onError: onStageError,
      },
    },
    downloading: {
      invoke: {
        src: "download",
        input: stageInput,
        onDone: { target: "verifying", actions: assign({ file: ({ event }) => event.output }) },
        onError: onStageError,
      },
      on: {
        PROGRESS: { actions: assign({ progress: ({ event }) => event.progress }) },
      },
    },
    verifying: {
      invoke: {
        src: "verify",
        input: fileStageInput,
        onDone: [{ guard: "uploads", target: "uploading" }, { target: "done" }],
        onError: onStageError,
      },
    },
    uploading: {
      invoke: {
        src: "upload",
        input: ({ context }) => {
          // Unreachable: uploading is only entered when uploads are on.
          if (context.upload === null) throw new Error("download: uploading without upload settings");
          return { ...fileStageInput({ context }), settings: context.upload };
        },
        onDone: { target: "done", actions: assign({ uploadUrl: ({ event }) => event.output.url }) },
        onError: onStageError,
      },
    },
    backoff: {
      after: {
        retryDelay: { target: "preparing", actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
      },
    },
    done: {
      type: "final",
      entry: assign({
        outcome: ({ context }) =>
          context.file === null
            ? { status: "failed" as const, attempts: context.attempt, permanent: false, message: "finished without a file" }
            : { status: "done" as const, attempts: context.attempt, file: context.file, uploadUrl: context.uploadUrl },
      }),
    },
    failed: { type: "final" },
    canceled: {
      type: "final",
      entry: assign({ outcome: ({ context }) => ({ status: "canceled" as const, attempts: context.attempt }) }),
    },
  },
  on: {
    CANCEL: ".canceled",
  },
});
