/**
 * The chat services the live `ChatWork` stands on, built from plain options:
 * `LiveStatus` polling Helix's `/streams` through the shared client,
 * `ChatSink` with its journal, `ChatConnections` following the sink's
 * pressure, and `ChatRecorder` over both.
 *
 * Built in that order and released in reverse: recordings end, then the
 * connections close, then the sink writes out what it still holds. `Metrics`
 * is used when it is in the context the layer is built in (the sink's stored
 * messages, ingest latency and journal depth; the recorder's gaps).
 */
import { Effect, Layer, Redacted } from "effect";
import type { SqlClient } from "effect/sql/SqlClient";
import { ChatConnections, type ChatConnectionsOptions } from "../services/chat-connections.ts";
import type { ChatJournalError } from "../services/chat-journal.ts";
import { ChatRecorder, type ChatRecorderOptions } from "../services/chat-recorder.ts";
import { ChatSink, type ChatSinkOptions } from "../services/chat-sink.ts";
import { Helix } from "../services/helix.ts";
import { LiveStatus, type LiveStatusOptions } from "../services/live-status.ts";

/** A chat login and its token (`TWITCH_BOT_USERNAME`, `TWITCH_OAUTH_TOKEN`, with or without `oauth:`). */
export interface ChatIdentity {
  readonly username: string;
  readonly token: Redacted.Redacted<string>;
}

/** What the chat services are built from. */
export interface ChatServicesOptions {
  /** Chat WebSocket (`TWITCH_IRC_URL`). */
  readonly ircUrl: string;
  /** `CHAT_CHANNELS_PER_CONNECTION`; default 50. */
  readonly channelsPerConnection?: number | undefined;
  /** Anonymous (read-only, enough to record) when absent. */
  readonly identity?: ChatIdentity | undefined;
  /** The sink's journal folder, normally `$DATA_DIR/chat-journal`. */
  readonly journalDirectory: string;
  /** `CHAT_AUTO_POLL_INTERVAL`; default 30 s. */
  readonly pollIntervalMs?: number | undefined;
  /** Finer settings of each part, for tests and benchmarks. */
  readonly liveStatus?: Omit<LiveStatusOptions, "fetchStreams" | "intervalMs"> | undefined;
  readonly sink?: Omit<ChatSinkOptions, "journalDirectory"> | undefined;
  readonly connections?: Omit<ChatConnectionsOptions, "url" | "channelsPerConnection" | "identity"> | undefined;
  readonly recorder?: ChatRecorderOptions | undefined;
}

/** Every chat service `chatWorkLive` needs; fails to build when the journal folder cannot be used. */
export const chatServicesLayer = (
  options: ChatServicesOptions,
): Layer.Layer<LiveStatus | ChatRecorder | ChatConnections | ChatSink, ChatJournalError, Helix | SqlClient> => {
  const liveStatus = Layer.unwrap(
    Effect.map(Effect.service(Helix), (helix) =>
      LiveStatus.layer({
        ...options.liveStatus,
        ...(options.pollIntervalMs === undefined ? {} : { intervalMs: options.pollIntervalMs }),
        fetchStreams: (logins) => helix.getStreams({ logins }),
      }),
    ),
  );
  const identity = options.identity;
  const connections = ChatConnections.layer({
    ...options.connections,
    url: options.ircUrl,
    ...(options.channelsPerConnection === undefined ? {} : { channelsPerConnection: options.channelsPerConnection }),
    // Read at every (re)connect, so the secret stays wrapped until then.
    ...(identity === undefined ? {} : { identity: { username: identity.username, password: () => Redacted.value(identity.token) } }),
  });
  const sink = ChatSink.layer({ ...options.sink, journalDirectory: options.journalDirectory });
  const recording = ChatRecorder.layer(options.recorder).pipe(Layer.provideMerge(connections), Layer.provideMerge(sink));
  return Layer.merge(liveStatus, recording);
};
