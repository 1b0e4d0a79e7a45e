/**
 * The `streams` table: one row per live session as the live-status poller saw
 * it (start, end, peak viewers, every title and category it had), and the VOD
 * its chat is attached to.
 */
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

/** One title/category a session had, from `at` on. */
export interface StreamTitleChange {
  readonly at: string;
  readonly title: string | null;
  readonly game_name: string | null;
}

/** A `streams` row. */
export interface StreamRow {
  readonly id: number;
  readonly channel: string;
  readonly stream_id: string;
  readonly started_at: Date;
  readonly ended_at: Date | null;
  readonly title: string | null;
  readonly game_id: string | null;
  readonly game_name: string | null;
  readonly peak_viewers: number | null;
  readonly last_seen_at: Date | null;
  readonly vod_id: number | null;
  readonly title_history: ReadonlyArray<StreamTitleChange>;
}

/** What one poll saw of a live session. */
export interface StreamSighting {
  readonly streamId: string;
  readonly startedAt: Date;
  readonly title: string | null;
  readonly gameId: string | null;
  readonly gameName: string | null;
  readonly viewerCount: number | null;
}

const columns =
  "id, channel, stream_id, started_at, ended_at, title, game_id, game_name, peak_viewers, last_seen_at, vod_id, title_history";

/**
 * Records a sighting: opens the session on first sight, otherwise refreshes
 * `last_seen_at`, raises `peak_viewers` and appends to `title_history` when the
 * title or category changed. A session seen again after being closed reopens.
 * The stream's placeholder VOD, if it has one, takes the new title (an
 * archive VOD keeps the catalog's).
 */
export const recordStreamSighting = Effect.fn("recordStreamSighting")(function* (
  channel: string,
  seen: StreamSighting,
  at: Date,
): Effect.fn.Return<StreamRow, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const change = JSON.stringify([{ at: at.toISOString(), title: seen.title, game_name: seen.gameName }]);
  const rows = yield* sql<StreamRow>`
    WITH session AS (
      INSERT INTO streams AS s (channel, stream_id, started_at, title, game_id, game_name, peak_viewers, last_seen_at, title_history)
      VALUES (${channel}, ${seen.streamId}, ${seen.startedAt}, ${seen.title}, ${seen.gameId}, ${seen.gameName},
        ${seen.viewerCount}, ${at}, ${change}::jsonb)
      ON CONFLICT (channel, stream_id) DO UPDATE SET
        last_seen_at = GREATEST(s.last_seen_at, excluded.last_seen_at),
        ended_at = NULL,
        peak_viewers = GREATEST(s.peak_viewers, excluded.peak_viewers),
        title = excluded.title,
        game_id = excluded.game_id,
        game_name = excluded.game_name,
        title_history = CASE
          WHEN s.title IS DISTINCT FROM excluded.title OR s.game_name IS DISTINCT FROM excluded.game_name
          THEN s.title_history || excluded.title_history
          ELSE s.title_history END,
        updated_at = now()
      RETURNING ${sql.literal(columns)}
    ), renamed AS (
      UPDATE vods SET title = session.title, updated_at = now()
      FROM session
      WHERE vods.channel = session.channel AND vods.stream_id = session.stream_id AND vods.is_placeholder
        AND session.title IS NOT NULL AND vods.title IS DISTINCT FROM session.title
    )
    SELECT * FROM session`;
  return rows[0] as StreamRow;
});

/** Closes a session at `endedAt` (its last sighting when the poller noticed late). No-op when already closed. */
export const closeStream = Effect.fn("closeStream")(function* (
  channel: string,
  streamId: string,
  endedAt: Date,
): Effect.fn.Return<void, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  yield* sql`
    UPDATE streams SET ended_at = ${endedAt}, updated_at = now()
    WHERE channel = ${channel} AND stream_id = ${streamId} AND ended_at IS NULL`;
});

/**
 * Closes every open session not seen since `seenBefore`, at its last sighting:
 * sessions whose end was never observed (the process was down, the channel
 * was removed). Returns the sessions closed.
 */
export const closeStaleStreams = Effect.fn("closeStaleStreams")(function* (
  seenBefore: Date,
  options?: { readonly except?: ReadonlyArray<{ readonly channel: string; readonly streamId: string }> },
): Effect.fn.Return<ReadonlyArray<StreamRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  // Logins cannot contain "/", so "channel/stream" names a session unambiguously.
  const keep = (options?.except ?? []).map((s) => `${s.channel}/${s.streamId}`);
  return yield* sql<StreamRow>`
    UPDATE streams SET ended_at = COALESCE(last_seen_at, started_at), updated_at = now()
    WHERE ended_at IS NULL AND COALESCE(last_seen_at, started_at) < ${seenBefore}
      AND NOT ((channel || '/' || stream_id) = ANY(${keep}::text[]))
    RETURNING ${sql.literal(columns)}`;
});

/**
 * Closes the open sessions of channels known to be offline now, at their last
 * sighting; returns them. For sessions whose end the poller did not see (it
 * was not running).
 */
export const closeOpenStreamsOf = Effect.fn("closeOpenStreamsOf")(function* (
  channels: ReadonlyArray<string>,
): Effect.fn.Return<ReadonlyArray<StreamRow>, SqlError, SqlClient> {
  if (channels.length === 0) return [];
  const sql = yield* SqlClient;
  return yield* sql<StreamRow>`
    UPDATE streams SET ended_at = COALESCE(last_seen_at, started_at), updated_at = now()
    WHERE ended_at IS NULL AND channel = ANY(${[...channels]}::text[])
    RETURNING ${sql.literal(columns)}`;
});

/** Sessions still open (no end recorded), oldest first. */
export const openStreams = Effect.fn("openStreams")(function* (): Effect.fn.Return<ReadonlyArray<StreamRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<StreamRow>`SELECT ${sql.literal(columns)} FROM streams WHERE ended_at IS NULL ORDER BY started_at`;
});

/** One session, or undefined. */
export const findStream = Effect.fn("findStream")(function* (
  channel: string,
  streamId: string,
): Effect.fn.Return<StreamRow | undefined, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const rows = yield* sql<StreamRow>`
    SELECT ${sql.literal(columns)} FROM streams WHERE channel = ${channel} AND stream_id = ${streamId}`;
  return rows[0];
});

/** A channel's sessions, newest first. */
export const streamsOfChannel = Effect.fn("streamsOfChannel")(function* (
  channel: string,
  limit = 50,
): Effect.fn.Return<ReadonlyArray<StreamRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql<StreamRow>`
    SELECT ${sql.literal(columns)} FROM streams WHERE channel = ${channel} ORDER BY started_at DESC LIMIT ${limit}`;
});

/** Points a session at the VOD (placeholder or archive) that holds its chat. */
export const setStreamVod = Effect.fn("setStreamVod")(function* (
  channel: string,
  streamId: string,
  vodId: number,
): Effect.fn.Return<void, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  yield* sql`
    UPDATE streams SET vod_id = ${vodId}, updated_at = now() WHERE channel = ${channel} AND stream_id = ${streamId}`;
});
