/**
 * The `chat_gaps` table: windows in which a live channel's chat was not being
 * recorded, so a reader of a VOD's chat knows exactly what is missing. A gap
 * is written open (no end) the moment it starts, so a crash leaves evidence,
 * and closed when recording resumes.
 */
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

/** Why chat was not recorded. */
export type ChatGapReason =
  /** The IRC connection dropped (network, server close). */
  | "disconnect"
  /** Twitch asked the connection to reconnect (RECONNECT). */
  | "reconnect"
  /** The process was not running (or not recording) while the stream was live. */
  | "restart"
  /** The stream was already live when recording started. */
  | "late-join";

/** A `chat_gaps` row. */
export interface ChatGapRow {
  readonly id: number;
  readonly channel: string;
  readonly vod_id: number | null;
  readonly stream_id: string | null;
  readonly started_at: Date;
  readonly ended_at: Date | null;
  readonly reason: ChatGapReason;
}

const columns = "id, channel, vod_id, stream_id, started_at, ended_at, reason";

/** Where a gap belongs. */
export interface ChatGapScope {
  readonly channel: string;
  readonly streamId: string | null;
  readonly vodId: number | null;
}

/** Opens a gap (no end yet); returns its id. */
export const openChatGap = Effect.fn("openChatGap")(function* (
  scope: ChatGapScope,
  startedAt: Date,
  reason: ChatGapReason,
): Effect.fn.Return<number, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const rows = yield* sql<{ readonly id: number }>`
    INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, reason)
    VALUES (${scope.channel}, ${scope.vodId}, ${scope.streamId}, ${startedAt}, ${reason})
    RETURNING id`;
  return rows[0]?.id as number;
});

/** Records a finished gap in one go (one already known to be over); returns its id. */
export const insertChatGap = Effect.fn("insertChatGap")(function* (
  scope: ChatGapScope,
  startedAt: Date,
  endedAt: Date,
  reason: ChatGapReason,
): Effect.fn.Return<number, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const rows = yield* sql<{ readonly id: number }>`
    INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, ended_at, reason)
    VALUES (${scope.channel}, ${scope.vodId}, ${scope.streamId}, ${startedAt}, ${endedAt}, ${reason})
    RETURNING id`;
  return rows[0]?.id as number;
});

/** Closes one gap; an end before the start is clamped to the start. */
export const closeChatGap = Effect.fn("closeChatGap")(function* (
  id: number,
  endedAt: Date,
): Effect.fn.Return<void, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  yield* sql`
    UPDATE chat_gaps SET ended_at = GREATEST(started_at, ${endedAt}::timestamptz)
    WHERE id = ${id} AND ended_at IS NULL`;
});

/**
 * Closes every open gap of a channel at `endedAt` (gaps a previous run left
 * open when it stopped); returns them as closed.
 */
export const closeOpenChatGaps = Effect.fn("closeOpenChatGaps")(function* (
  channel: string,
  endedAt: Date,
): Effect.fn.Return<ReadonlyArray<ChatGapRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<ChatGapRow>`
    UPDATE chat_gaps SET ended_at = GREATEST(started_at, ${endedAt}::timestamptz)
    WHERE channel = ${channel} AND ended_at IS NULL
    RETURNING ${sql.literal(columns)}`;
});

/** Gaps of one VOD, in time order. */
export const chatGapsOfVod = Effect.fn("chatGapsOfVod")(function* (
  vodId: number,
): Effect.fn.Return<ReadonlyArray<ChatGapRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<ChatGapRow>`
    SELECT ${sql.literal(columns)} FROM chat_gaps WHERE vod_id = ${vodId} ORDER BY started_at, id`;
});

/** Gaps of one live session, in time order. */
export const chatGapsOfStream = Effect.fn("chatGapsOfStream")(function* (
  channel: string,
  streamId: string,
): Effect.fn.Return<ReadonlyArray<ChatGapRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<ChatGapRow>`
    SELECT ${sql.literal(columns)} FROM chat_gaps
    WHERE channel = ${channel} AND stream_id = ${streamId} ORDER BY started_at, id`;
});

/** Gaps of a channel overlapping `[from, to)`, in time order. */
export const chatGapsOfChannel = Effect.fn("chatGapsOfChannel")(function* (
  channel: string,
  from: Date,
  to: Date,
): Effect.fn.Return<ReadonlyArray<ChatGapRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<ChatGapRow>`
    SELECT ${sql.literal(columns)} FROM chat_gaps
    WHERE channel = ${channel} AND started_at < ${to} AND COALESCE(ended_at, 'infinity') > ${from}
    ORDER BY started_at, id`;
});

/** The last moment a channel's chat was known to be recorded for a stream (kv `chat_coverage`). */
export interface ChatCoverage {
  readonly streamId: string;
  readonly at: Date;
}

const coverageKey = "chat_coverage";

/**
 * Remembers that `channel`'s chat was recorded for `streamId` up to `at`, so a
 * run that starts later knows where its restart gap begins.
 */
export const saveChatCoverage = Effect.fn("saveChatCoverage")(function* (
  channel: string,
  coverage: ChatCoverage,
): Effect.fn.Return<void, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const value = JSON.stringify({ streamId: coverage.streamId, at: coverage.at.toISOString() });
  yield* sql`
    INSERT INTO kv (channel, key, value, updated_at) VALUES (${channel}, ${coverageKey}, ${value}, now())
    ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value, updated_at = now()`;
});

/** The coverage saved for a channel, or undefined. */
export const loadChatCoverage = Effect.fn("loadChatCoverage")(function* (
  channel: string,
): Effect.fn.Return<ChatCoverage | undefined, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const rows = yield* sql<{ readonly value: string }>`SELECT value FROM kv WHERE channel = ${channel} AND key = ${coverageKey}`;
  const value = rows[0]?.value;
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { streamId?: unknown; at?: unknown };
    if (typeof parsed.streamId !== "string" || typeof parsed.at !== "string") return undefined;
    const at = new Date(parsed.at);
    return Number.isNaN(at.getTime()) ? undefined : { streamId: parsed.streamId, at };
  } catch {
    return undefined;
  }
});

/** Open gaps of a channel (left by a run that stopped while chat was down), oldest first. */
export const openChatGapsOf = Effect.fn("openChatGapsOf")(function* (
  channel: string,
): Effect.fn.Return<ReadonlyArray<ChatGapRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<ChatGapRow>`
    SELECT ${sql.literal(columns)} FROM chat_gaps WHERE channel = ${channel} AND ended_at IS NULL ORDER BY started_at, id`;
});

/** Saves many channels' coverage in one statement (the recorder's periodic mark). */
export const saveChatCoverages = Effect.fn("saveChatCoverages")(function* (
  entries: ReadonlyArray<{ readonly channel: string; readonly coverage: ChatCoverage }>,
): Effect.fn.Return<void, SqlError, SqlClient> {
  if (entries.length === 0) return;
  const sql = yield* SqlClient;
  const channels = entries.map((e) => e.channel);
  const values = entries.map((e) => JSON.stringify({ streamId: e.coverage.streamId, at: e.coverage.at.toISOString() }));
  yield* sql`
    INSERT INTO kv (channel, key, value, updated_at)
    SELECT c, ${coverageKey}, v, now() FROM unnest(${channels}::text[], ${values}::text[]) AS t(c, v)
    ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value, updated_at = now()`;
});
