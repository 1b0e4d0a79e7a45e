/**
 * A channel's chat recorder: `offline` ↔ `live`. While live it is
 * `connecting` → `recording`, and `reconnecting` (with backoff) whenever the
 * connection ends or fails; after the stream it is `reconciling`: it waits for
 * Twitch to publish the VOD and re-points the chat recorded against the
 * placeholder to it, retrying for a while.
 *
 * Live status comes from the `watchLive` actor (one shared poller for every
 * channel, bound by the actor layer), which sends `LIVE`/`OFFLINE`. In mode
 * `always` it records whether or not the channel is live; in mode `off` it
 * does nothing at all.
 */
import type { ChatMode } from "../services/channel-settings.ts";
import { assign, sendParent, setup } from "xstate";
import type { Backoff } from "./backoff.ts";
import { backoffDelay, timerDelay } from "./backoff.ts";
import type { ChildReport } from "./child-report.ts";
import { describeError, isExpectedFailure } from "./failure.ts";
import { unbound } from "./unbound.ts";

/** A live session of a channel. */
export interface LiveStream {
  /** Twitch stream id. */
  readonly id: string;
  /** ISO instant the stream started. */
  readonly startedAt: string;
  readonly title: string;
}

/** How long to look for a stream's VOD after it ends. */
export interface ReconcilePolicy {
  /** Wait after the stream ends before the first look. */
  readonly delayMs: number;
  /** Wait between looks. */
  readonly retryMs: number;
  /** Looks before giving up. */
  readonly maxAttempts: number;
}

export interface ChatInput {
  readonly channel: string;
  readonly mode: ChatMode;
  readonly reconnect: Backoff;
  readonly reconcile: ReconcilePolicy;
}

/**
 * What `record` receives: the stream being recorded, or null in mode `always`,
 * whose one recording outlives streams and so follows the live status itself
 * (the machine cannot hand a running recording the next stream).
 */
export interface RecordInput {
  readonly channel: string;
  readonly stream: LiveStream | null;
}

/** What `reconcile` receives. */
export interface ReconcileInput {
  readonly channel: string;
  readonly stream: LiveStream;
  /** 1 for the first look. */
  readonly attempt: number;
}

export interface ChatContext {
  readonly channel: string;
  readonly mode: ChatMode;
  readonly reconnect: Backoff;
  readonly reconcile: ReconcilePolicy;
  readonly stream: LiveStream | null;
  /** The stream whose VOD is being looked for. */
  readonly ended: LiveStream | null;
  /** Consecutive connection attempts that did not reach `recording`. */
  readonly reconnects: number;
  readonly reconcileAttempts: number;
  /** Messages per minute over the last minute, while recording. */
  readonly ratePerMinute: number | null;
  readonly lastError: string | null;
}

/**
 * `LIVE`/`OFFLINE`: from `watchLive`. `CONNECTED`, `RATE`: from `record`.
 */
export type ChatEvent =
  | { readonly type: "LIVE"; readonly stream: LiveStream }
  | { readonly type: "OFFLINE" }
  | { readonly type: "CONNECTED" }
  | { readonly type: "RATE"; readonly perMinute: number };

/** The chat machine; bind `watchLive`, `record` and `reconcile` with `provide`. */
export const chatMachine = setup({
  types: {
    context: {} as ChatContext,
    events: {} as ChatEvent,
    input: {} as ChatInput,
  },
  actors: {
    /** Subscribes to the channel's live status for as long as it runs; sends `LIVE` and `OFFLINE`. */
    watchLive: unbound<void, { readonly channel: string }>("chat.watchLive"),
    /** Joins the channel's chat and records it until the connection ends; sends `CONNECTED` and `RATE`. */
    record: unbound<void, RecordInput>("chat.record"),
    /** Re-points a finished stream's chat to its VOD; `matched: false` when the VOD is not published yet. */
    reconcile: unbound<{ readonly matched: boolean }, ReconcileInput>("chat.reconcile"),
  },
  actions: {
    /** Reports a failure worth an operator's attention; bound by the actor layer. */
    reportError: (_args, _params: { readonly message: string }) => {},
    ready: sendParent({ type: "CHILD.READY", child: "chat" } satisfies ChildReport),
  },
  guards: {
    off: ({ context }) => context.mode === "off",
    always: ({ context }) => context.mode === "always",
    handled: (_, params: { readonly error: unknown }) => isExpectedFailure(params.error),
    lookAgain: ({ context }) => context.reconcileAttempts < context.reconcile.maxAttempts,
  },
  delays: {
    reconnectDelay: ({ context }) => backoffDelay(context.reconnect, context.reconnects),
    reconcileDelay: ({ context }) =>
      timerDelay(context.reconcileAttempts === 0 ? context.reconcile.delayMs : context.reconcile.retryMs),
  },
}).createMachine({
  id: "chat",
  context: ({ input }) => ({
    channel: input.channel,
    mode: input.mode,
    reconnect: input.reconnect,
    reconcile: input.reconcile,
    stream: null,
    ended: null,
    reconnects: 0,
    reconcileAttempts: 0,
    ratePerMinute: null,
    lastError: null,
  }),
  initial: "init",
  states: {
    init: { always: [{ guard: "off", target: "off" }, { target: "watching" }] },
    off: { entry: "ready" },
    watching: {
      entry: "ready",
      invoke: { id: "liveStatus", src: "watchLive", input: ({ context }) => ({ channel: context.channel }) },
      initial: "choosing",
      states: {
        choosing: { always: [{ guard: "always", target: "live" }, { target: "offline" }] },
        offline: {
          on: { LIVE: { target: "live", actions: assign({ stream: ({ event }) => event.stream }) } },
        },
        live: {
          initial: "session",
          states: {
            session: {
              invoke: {
                src: "record",
                input: ({ context }) => ({ channel: context.channel, stream: context.mode === "always" ? null : context.stream }),
                // The connection ended (Twitch closed it, a network blip): connect again.
                onDone: "reconnecting",
                onError: {
                  guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
                  target: "reconnecting",
                  actions: assign({ lastError: ({ event }) => describeError(event.error) }),
                },
              },
              initial: "connecting",
              states: {
                connecting: { on: { CONNECTED: "recording" } },
                recording: { entry: assign({ reconnects: 0 }) },
              },
            },
            reconnecting: {
              entry: assign({ reconnects: ({ context }) => context.reconnects + 1, ratePerMinute: null }),
              after: { reconnectDelay: "session" },
            },
          },
          on: {
            LIVE: { actions: assign({ stream: ({ event }) => event.stream }) },
            OFFLINE: [
              { guard: "always", actions: assign({ stream: null }) },
              { target: "reconcileWait", actions: assign({ ended: ({ context }) => context.stream, stream: null, reconcileAttempts: 0 }) },
            ],
            RATE: { actions: assign({ ratePerMinute: ({ event }) => event.perMinute }) },
          },
          exit: assign({ ratePerMinute: null, reconnects: 0 }),
        },
        reconcileWait: {
          always: { guard: ({ context }) => context.ended === null, target: "offline" },
          after: { reconcileDelay: "reconciling" },
          on: { LIVE: { target: "live", actions: [assign({ stream: ({ event }) => event.stream }), { type: "reportError", params: ({ context }) => ({ message: `stopped looking for the VOD of stream ${context.ended?.id}: a new stream started` }) }] } },
        },
        reconciling: {
          entry: assign({ reconcileAttempts: ({ context }) => context.reconcileAttempts + 1 }),
          invoke: {
            src: "reconcile",
            input: ({ context }) => {
              // Unreachable: reconcileWait leaves for offline when there is no ended stream.
              if (context.ended === null) throw new Error("chat: nothing to reconcile");
              return { channel: context.channel, stream: context.ended, attempt: context.reconcileAttempts };
            },
            onDone: [
              { guard: ({ event }) => event.output.matched, target: "offline", actions: assign({ ended: null }) },
              { guard: "lookAgain", target: "reconcileWait" },
              { target: "offline", actions: [{ type: "reportError", params: ({ context }) => ({ message: `no VOD found for stream ${context.ended?.id}; its chat stays on the placeholder` }) }, assign({ ended: null })] },
            ],
            onError: [
              {
                guard: ({ context, event }) => isExpectedFailure(event.error) && context.reconcileAttempts < context.reconcile.maxAttempts,
                target: "reconcileWait",
                actions: assign({ lastError: ({ event }) => describeError(event.error) }),
              },
              {
                guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
                target: "offline",
                actions: [{ type: "reportError", params: ({ event }) => ({ message: `reconcile failed: ${describeError(event.error)}` }) }, assign({ ended: null })],
              },
            ],
          },
          on: { LIVE: { target: "live", actions: [assign({ stream: ({ event }) => event.stream }), { type: "reportError", params: ({ context }) => ({ message: `stopped looking for the VOD of stream ${context.ended?.id}: a new stream started` }) }] } },
        },
      },
    },
  },
});
