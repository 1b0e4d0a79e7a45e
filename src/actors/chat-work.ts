/**
 * What a channel's chat actor asks of the world: follow the channel's live
 * status, record its chat while asked to, and re-point a finished stream's
 * chat to its VOD. Live status comes from one shared poller and chat from a
 * shared connection pool, so a channel's subscription is a registration, not a
 * fiber or a socket of its own.
 */
import { Context, Effect, Layer } from "effect";
import type { Scope } from "effect";
import type { LiveStream } from "../machines/chat.ts";
import type { WorkError } from "./work-error.ts";

/** A live-status change of a channel. */
export type LiveChange = { readonly live: true; readonly stream: LiveStream } | { readonly live: false };

/** What a recording reports while it runs. */
export interface RecordingEvents {
  /** The channel's chat is joined; messages are being recorded. */
  readonly connected: () => void;
  /** Messages per minute over the last minute. */
  readonly rate: (perMinute: number) => void;
}

/** The chat's work. */
export class ChatWork extends Context.Service<
  ChatWork,
  {
    /**
     * Registers for the channel's live status; `onChange` is called with the
     * current status soon after and on every change. The registration lasts
     * until the scope closes.
     */
    readonly watchLive: (channel: string, onChange: (change: LiveChange) => void) => Effect.Effect<void, WorkError, Scope.Scope>;
    /**
     * Joins the channel's chat and records it until the scope closes; completes
     * when the connection ends (the actor reconnects), fails when it cannot
     * connect. With a `stream` the chat goes to that stream's VOD; with `null`
     * (mode `always`) the recording follows the live status itself, attaching
     * each stream's chat to its VOD and reconciling it after the stream.
     */
    readonly record: (channel: string, stream: LiveStream | null, events: RecordingEvents) => Effect.Effect<void, WorkError, Scope.Scope>;
    /** Moves a finished stream's chat from its placeholder to its VOD; `matched: false` while the VOD is not published. */
    readonly reconcile: (channel: string, stream: LiveStream, attempt: number) => Effect.Effect<{ readonly matched: boolean }, WorkError, Scope.Scope>;
  }
>()("vod-tender/actors/ChatWork") {
  /**
   * Chat of channels that never go live: the status registration reports
   * offline once, a recording (mode `always`) joins nothing and waits. For
   * tests and benchmarks of the actor tree.
   */
  static readonly layerIdle: Layer.Layer<ChatWork> = Layer.succeed(
    ChatWork,
    ChatWork.of({
      watchLive: () => Effect.void,
      record: (_channel, _stream, events) => Effect.andThen(Effect.sync(events.connected), Effect.never),
      reconcile: () => Effect.succeed({ matched: true }),
    }),
  );
}
