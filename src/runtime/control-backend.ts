/**
 * `ControlBackend`: everything the control plane (the `/control` server, `ctl`,
 * the console, the channels-file reconciler) needs from the rest of the runtime,
 * as one interface. The live binding (control-backend-live.ts) maps it onto the
 * Supervisor and the repositories; tests use an in-memory one. Keeping the control
 * plane behind this seam means it never imports an actor or a repository.
 */
import { Schema } from "effect";
import type { Effect } from "effect";
import type { ChannelSettings, ChannelSource, ChannelSpec } from "../services/channel-settings.ts";
import type {
  ChannelStatus,
  ChatHit,
  ChatPage,
  ControlEvent,
  VodSummary,
} from "./control-protocol.ts";

/**
 * A command failed for a reason the caller should see: the `code` becomes the
 * reply's error code and `message` its text, so say what was wrong and what to do.
 */
export class ControlError extends Schema.TaggedError<ControlError>()("ControlError", {
  code: Schema.Literals([
    "not_found",
    "conflict",
    "forbidden",
    "unavailable",
    "invalid_params",
    "timeout",
    "internal",
  ]),
  message: Schema.String,
}) {}

/**
 * A change to a running channel; anything left out stays as it is. Settings
 * arrive resolved: the control plane applies patches over the current values.
 */
export interface ChannelChange {
  readonly settings?: ChannelSettings;
  /** A channel moves source when, say, the file takes over one added through control. */
  readonly source?: ChannelSource;
}

export interface VodQuery {
  readonly channel?: string;
  readonly limit?: number;
  readonly offset?: number;
}

/** One page of VODs, newest first, and how many there are in all. */
export interface VodPage {
  readonly vods: ReadonlyArray<VodSummary>;
  readonly total: number;
}

export interface ChatQuery {
  readonly query: string;
  readonly channel?: string;
  readonly vodId?: number;
  readonly limit?: number;
}

/** A window of one VOD's chat, in seconds into the VOD (`to` excluded). */
export interface VodChatQuery {
  readonly id: number;
  readonly from?: number;
  readonly to?: number;
  readonly limit?: number;
}

/** One row of `audit_log`: who did what, to what, and how it ended. */
export interface AuditEntry {
  /** Who: a control connection ("ctl alice@host from 127.0.0.1"), "channels-file", "sighup". */
  readonly actor: string;
  /** The command, e.g. `channels.add`. */
  readonly action: string;
  readonly channel: string | null;
  /** Another target than a channel (a VOD id), when there is one. */
  readonly target: string | null;
  readonly params: unknown;
  readonly result: "ok" | "error";
  readonly error: string | null;
  readonly at: Date;
}

/** A listener of runtime events; must not throw and must return quickly. */
export type ControlEventListener = (event: ControlEvent) => void;

/** The runtime as the control plane sees it; each function serves one command. */
export interface ControlBackend {
  readonly channels: {
    /** Every running channel (paused ones included). */
    readonly list: () => Effect.Effect<ReadonlyArray<ChannelStatus>, ControlError>;
    /** One channel; fails with `not_found` when it is not running. */
    readonly status: (name: string) => Effect.Effect<ChannelStatus, ControlError>;
    /**
     * Starts a channel and records it under its source (settings resolved, so the
     * backend needs no defaults); `conflict` when it already runs.
     */
    readonly add: (spec: ChannelSpec) => Effect.Effect<ChannelStatus, ControlError>;
    /** Stops a channel cleanly and forgets it. */
    readonly remove: (name: string) => Effect.Effect<void, ControlError>;
    readonly pause: (name: string) => Effect.Effect<ChannelStatus, ControlError>;
    readonly resume: (name: string) => Effect.Effect<ChannelStatus, ControlError>;
    /** Applies changed settings; children whose settings did not change keep running. */
    readonly update: (name: string, change: ChannelChange) => Effect.Effect<ChannelStatus, ControlError>;
    /** Channels added through the control channel, as persisted (they survive restarts). */
    readonly persisted: () => Effect.Effect<ReadonlyArray<ChannelSpec>, ControlError>;
  };
  readonly vods: {
    readonly list: (query: VodQuery) => Effect.Effect<VodPage, ControlError>;
    /** Wakes the processors of one channel (or all); returns the channels woken. */
    readonly scan: (channel: string | undefined) => Effect.Effect<ReadonlyArray<string>, ControlError>;
    /** Asks a channel's catalog to scan Helix now (it runs in the background). */
    readonly catalog: (channel: string) => Effect.Effect<void, ControlError>;
    readonly reprocess: (id: number) => Effect.Effect<VodSummary, ControlError>;
    /** Stops a download in flight; false when the VOD was not downloading. */
    readonly cancel: (id: number) => Effect.Effect<boolean, ControlError>;
    readonly prioritize: (id: number, priority: number) => Effect.Effect<VodSummary, ControlError>;
  };
  readonly breaker: {
    /** Closes a channel's breaker and clears its failure count. */
    readonly reset: (channel: string) => Effect.Effect<void, ControlError>;
  };
  readonly chat: {
    readonly search: (query: ChatQuery) => Effect.Effect<ReadonlyArray<ChatHit>, ControlError>;
    /** A page of a VOD's chat (default 200 messages) with the VOD's gaps; `not_found` for an unknown VOD. */
    readonly vod: (query: VodChatQuery) => Effect.Effect<ChatPage, ControlError>;
  };
  /**
   * Listens to runtime events (transitions, restarts, progress, chat rates,
   * errors); returns the function that stops listening. `channel` and `config`
   * events come from the control plane itself, which makes those changes.
   */
  readonly events: (listener: ControlEventListener) => () => void;
  /** Writes one audit row. A failure here is logged by the caller, never hidden. */
  readonly audit: (entry: AuditEntry) => Effect.Effect<void, ControlError>;
}
