/**
 * A channel's processor: checks its tools, then claims VODs one at a time and
 * runs each through a `download` child, feeding the outcome to its `breaker`
 * child.
 *
 * `checkingTools` → `idle` ⇄ `claiming` → `downloading` → `finishing` → `idle`.
 * Missing tools (yt-dlp, ffmpeg, ffprobe) leave it `degraded` with the reason,
 * checking again now and then. It claims when woken (`WAKE`: at start, after a
 * catalog scan, after each VOD, every `pollIntervalMs` while idle) and only
 * while downloads are enabled and the
 * breaker lets work through: `closed`, or `halfOpen` for the single probe.
 * Retryable failures that exhausted their attempts count against the breaker;
 * permanent failures and cancels do not.
 */
import type { UploadSettings } from "../services/channel-settings.ts";
import { assign, enqueueActions, sendParent, sendTo, setup } from "xstate";
import type { Backoff } from "./backoff.ts";
import { timerDelay } from "./backoff.ts";
import { breakerMachine, breakerStateOf } from "./breaker.ts";
import type { ChildReport } from "./child-report.ts";
import { downloadMachine } from "./download.ts";
import type { DownloadJob, DownloadOutcome } from "./download.ts";
import { describeError, isExpectedFailure } from "./failure.ts";
import { unbound } from "./unbound.ts";

/** Limits shared by every channel's processor. */
export interface ProcessorPolicy {
  readonly circuit: { readonly threshold: number; readonly cooldownMs: number };
  readonly download: { readonly maxAttempts: number; readonly backoff: Backoff };
  /** How often a processor missing a tool looks again. */
  readonly toolRecheckMs: number;
  /** How often an idle processor looks for work when nothing wakes it (0 = only when woken). */
  readonly pollIntervalMs: number;
}

/** The part of a channel's settings the processor uses. */
export interface ProcessorSettings {
  readonly download: boolean;
  readonly upload: UploadSettings;
}

export interface ProcessorInput {
  readonly channel: string;
  readonly settings: ProcessorSettings;
  readonly policy: ProcessorPolicy;
}

/** What `checkTools` found: the missing tools and why, empty when all are usable. */
export interface ToolStatus {
  readonly missing: ReadonlyArray<{ readonly tool: string; readonly reason: string }>;
}

/** The breaker as the processor sees it; `loading` until it has read its stored state. */
export type BreakerView = "loading" | "closed" | "open" | "halfOpen" | "probing";

export interface ProcessorContext {
  readonly channel: string;
  readonly settings: ProcessorSettings;
  readonly policy: ProcessorPolicy;
  readonly breaker: BreakerView;
  /** Why the processor is degraded, when it is. */
  readonly degraded: string | null;
  /** Something may be waiting: claim when the breaker allows. */
  readonly wake: boolean;
  readonly job: DownloadJob | null;
  readonly lastOutcome: DownloadOutcome | null;
  readonly lastError: string | null;
}

/**
 * `WAKE`: there may be work. `CANCEL`: stop the download of `vodId` if it is
 * the one running. `SETTINGS`: new settings, used from the next VOD on.
 * `BREAKER.RESET`: an operator closed the breaker.
 */
export type ProcessorEvent =
  | { readonly type: "WAKE" }
  | { readonly type: "CANCEL"; readonly vodId: number }
  | { readonly type: "SETTINGS"; readonly settings: ProcessorSettings }
  | { readonly type: "BREAKER.RESET" };

const describeMissing = (status: ToolStatus): string =>
  status.missing.map((entry) => `${entry.tool}: ${entry.reason}`).join("; ");

/** The processor machine; bind `checkTools`, `claimNext`, `finish`, and the `breaker`'s and `download`'s actors, with `provide`. */
export const processorMachine = setup({
  types: {
    context: {} as ProcessorContext,
    events: {} as ProcessorEvent,
    input: {} as ProcessorInput,
  },
  actors: {
    breaker: breakerMachine,
    download: downloadMachine,
    checkTools: unbound<ToolStatus, { readonly channel: string }>("processor.checkTools"),
    /** The next VOD to download, or null when none is due. */
    claimNext: unbound<DownloadJob | null, { readonly channel: string }>("processor.claimNext"),
    /** Records how a VOD ended (state, retries, file, upload URL). */
    finish: unbound<void, { readonly channel: string; readonly job: DownloadJob; readonly outcome: DownloadOutcome }>("processor.finish"),
  },
  actions: {
    /** Reports a failure worth an operator's attention; bound by the actor layer. */
    reportError: (_args, _params: { readonly message: string }) => {},
    ready: sendParent({ type: "CHILD.READY", child: "processor" } satisfies ChildReport),
    /** Tells the breaker what the download's outcome means for it. */
    feedBreaker: sendTo("breaker", (_, params: { readonly outcome: DownloadOutcome }) => {
      const { outcome } = params;
      if (outcome.status === "done") return { type: "SUCCESS" as const };
      if (outcome.status === "failed" && !outcome.permanent) return { type: "FAILURE" as const };
      return { type: "RELEASE" as const };
    }),
  },
  guards: {
    shouldClaim: ({ context }) =>
      context.wake && context.settings.download && (context.breaker === "closed" || context.breaker === "halfOpen"),
    // Missing tools only matter to a processor that downloads.
    toolsMissing: ({ context }, params: { readonly status: ToolStatus }) =>
      context.settings.download && params.status.missing.length > 0,
    handled: (_, params: { readonly error: unknown }) => isExpectedFailure(params.error),
  },
  delays: {
    toolRecheck: ({ context }) => timerDelay(context.policy.toolRecheckMs),
    pollInterval: ({ context }) => timerDelay(context.policy.pollIntervalMs),
  },
}).createMachine({
  id: "processor",
  context: ({ input }) => ({
    channel: input.channel,
    settings: input.settings,
    policy: input.policy,
    breaker: "loading",
    degraded: null,
    wake: true,
    job: null,
    lastOutcome: null,
    lastError: null,
  }),
  invoke: {
    id: "breaker",
    src: "breaker",
    input: ({ context }) => ({
      channel: context.channel,
      threshold: context.policy.circuit.threshold,
      cooldownMs: context.policy.circuit.cooldownMs,
    }),
    onSnapshot: {
      actions: assign(({ context, event }) => {
        const breaker = breakerStateOf(event.snapshot.value) ?? "loading";
        // A breaker that lets work through again means the failed VODs are due.
        const reopened = breaker !== context.breaker && (breaker === "closed" || breaker === "halfOpen");
        return { breaker, wake: context.wake || reopened };
      }),
    },
  },
  initial: "checkingTools",
  states: {
    checkingTools: {
      invoke: {
        src: "checkTools",
        input: ({ context }) => ({ channel: context.channel }),
        onDone: [
          {
            guard: { type: "toolsMissing", params: ({ event }) => ({ status: event.output }) },
            target: "degraded",
            actions: assign({ degraded: ({ event }) => describeMissing(event.output) }),
          },
          { target: "idle", actions: [assign({ degraded: null }), "ready"] },
        ],
        onError: {
          guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
          target: "degraded",
          actions: assign({ degraded: ({ event }) => `cannot check tools: ${describeError(event.error)}` }),
        },
      },
    },
    degraded: {
      entry: sendParent(({ context }) => ({ type: "CHILD.DEGRADED", child: "processor", reason: context.degraded ?? "degraded" }) satisfies ChildReport),
      after: { toolRecheck: "checkingTools" },
    },
    idle: {
      always: { guard: "shouldClaim", target: "claiming" },
      after: {
        pollInterval: { guard: ({ context }) => context.policy.pollIntervalMs > 0, target: "idle", reenter: true, actions: assign({ wake: true }) },
      },
      on: { WAKE: { actions: assign({ wake: true }) } },
    },
    claiming: {
      invoke: {
        src: "claimNext",
        input: ({ context }) => ({ channel: context.channel }),
        onDone: [
          { guard: ({ event }) => event.output === null, target: "idle", actions: assign({ wake: false }) },
          {
            target: "downloading",
            actions: [
              assign({ job: ({ event }) => event.output, wake: true }),
              // The one attempt a half-open breaker lets through.
              enqueueActions(({ context, enqueue }) => {
                if (context.breaker === "halfOpen") enqueue.sendTo("breaker", { type: "PROBE" });
              }),
            ],
          },
        ],
        onError: {
          guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
          target: "idle",
          actions: [
            assign({ wake: false, lastError: ({ event }) => describeError(event.error) }),
            { type: "reportError", params: ({ event }) => ({ message: `claiming a VOD failed: ${describeError(event.error)}` }) },
          ],
        },
      },
      on: { WAKE: { actions: assign({ wake: true }) } },
    },
    downloading: {
      invoke: {
        id: "download",
        src: "download",
        input: ({ context }) => {
          // Unreachable: downloading is only entered with a claimed job.
          if (context.job === null) throw new Error("processor: downloading without a job");
          return {
            channel: context.channel,
            job: context.job,
            upload: context.settings.upload.enabled ? context.settings.upload : null,
            maxAttempts: context.policy.download.maxAttempts,
            backoff: context.policy.download.backoff,
          };
        },
        onDone: {
          target: "finishing",
          actions: [
            assign({ lastOutcome: ({ event }) => event.output }),
            { type: "feedBreaker", params: ({ event }) => ({ outcome: event.output }) },
          ],
        },
      },
      on: {
        CANCEL: { guard: ({ context, event }) => context.job?.vodId === event.vodId, actions: sendTo("download", { type: "CANCEL" }) },
        WAKE: { actions: assign({ wake: true }) },
      },
    },
    finishing: {
      invoke: {
        src: "finish",
        input: ({ context }) => {
          // Unreachable: finishing is only entered from downloading, which set both.
          if (context.job === null || context.lastOutcome === null) throw new Error("processor: nothing to finish");
          return { channel: context.channel, job: context.job, outcome: context.lastOutcome };
        },
        onDone: { target: "idle", actions: assign({ job: null }) },
        onError: {
          guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
          target: "idle",
          actions: [
            assign({ job: null, lastError: ({ event }) => describeError(event.error) }),
            { type: "reportError", params: ({ event }) => ({ message: `recording a download's outcome failed: ${describeError(event.error)}` }) },
          ],
        },
      },
      on: { WAKE: { actions: assign({ wake: true }) } },
    },
  },
  on: {
    SETTINGS: { actions: assign({ settings: ({ event }) => event.settings, wake: true }) },
    "BREAKER.RESET": { actions: sendTo("breaker", { type: "RESET" }) },
  },
});
