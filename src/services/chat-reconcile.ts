/**
 * Placeholder VODs and their reconciliation. While a stream is live its chat
 * is attached to a placeholder `vods` row keyed by the stream id (its archive
 * VOD is not known yet). After the stream, the archive VOD with that
 * `stream_id` is looked for (the catalog puts it in `vods`), retrying within a
 * window, and the chat and gaps are moved to it with `rel_timestamp` measured
 * from the archive's start, in one transaction; the placeholder goes.
 *
 * Reconciliation runs on its own: whatever becomes of it, the next stream is
 * recorded. A placeholder never reconciled keeps its chat and can be retried
 * later with `reconcilePending` (after a catalog scan, for instance).
 */
import { Clock, Duration, Effect, Option } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import { ChatSink } from "./chat-sink.ts";

/** The VOD a stream's chat is attached to while recording. */
export interface RecordingTarget {
  readonly streamId: string;
  /** `vods.id`: the placeholder, or the archive when it was already known. */
  readonly vodId: number;
  /** The VOD's start: `rel_timestamp` is measured from it. */
  readonly startedAt: Date;
  readonly placeholder: boolean;
}

/** What one stream's reconciliation did. */
export type ReconcileOutcome =
  /** Chat and gaps moved to the archive VOD. */
  | { readonly _tag: "Reconciled"; readonly vodId: number; readonly twitchVodId: string | null; readonly messages: number; readonly gaps: number }
  /** There was no placeholder for the stream (chat went straight to its archive, or it was reconciled before). */
  | { readonly _tag: "NothingToDo" }
  /** No archive VOD appeared within the window; the placeholder keeps the chat. */
  | { readonly _tag: "NotFound" };

/** Options of `reconcileStream`. */
export interface ReconcileOptions {
  /** Wait after the stream's end before the first look (`VOD_RECONCILE_DELAY`). Default 60 s. */
  readonly delayMs?: number;
  /** How long after the end to keep looking (`VOD_RECONCILE_WINDOW`). Default 15 min. */
  readonly windowMs?: number;
  /** Time between looks. Default 30 s. */
  readonly everyMs?: number;
  /** Runs before each look, e.g. asking the catalog to scan the channel now. */
  readonly beforeAttempt?: Effect.Effect<void>;
}

/** The archive VOD of a stream as found in `vods`. */
interface ArchiveVod {
  readonly id: number;
  readonly twitch_vod_id: string | null;
  readonly date: Date | null;
}

// Archives dated this close to a stream's start may be its VOD when the catalog
// did not record a stream id (the Go original matched on this alone).
const dateMatchWindowSeconds = 600;

/**
 * The VOD to attach a live stream's chat to: its archive when the catalog
 * already has it, else its placeholder (created once per stream, titled as the
 * stream). The stream's session row points at it.
 */
export const openStreamVod = Effect.fn("openStreamVod")(function* (
  channel: string,
  stream: { readonly streamId: string; readonly title: string; readonly startedAt: Date },
): Effect.fn.Return<RecordingTarget, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const archive = yield* findArchiveVod(channel, stream.streamId, stream.startedAt, false);
  let target: RecordingTarget;
  if (archive !== undefined) {
    target = { streamId: stream.streamId, vodId: archive.id, startedAt: archive.date ?? stream.startedAt, placeholder: false };
  } else {
    const rows = yield* sql<{ readonly id: number; readonly date: Date | null }>`
      INSERT INTO vods (channel, stream_id, title, date, is_placeholder)
      VALUES (${channel}, ${stream.streamId}, ${stream.title}, ${stream.startedAt}, true)
      ON CONFLICT (channel, stream_id) WHERE is_placeholder
      DO UPDATE SET title = excluded.title, updated_at = now()
      RETURNING id, date`;
    const row = rows[0] as { readonly id: number; readonly date: Date | null };
    target = { streamId: stream.streamId, vodId: row.id, startedAt: row.date ?? stream.startedAt, placeholder: true };
  }
  yield* sql`UPDATE streams SET vod_id = ${target.vodId}, updated_at = now() WHERE channel = ${channel} AND stream_id = ${stream.streamId}`;
  return target;
});

const findArchiveVod = Effect.fn("findArchiveVod")(function* (
  channel: string,
  streamId: string,
  startedAt: Date | undefined,
  byDate: boolean,
): Effect.fn.Return<ArchiveVod | undefined, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const exact = yield* sql<ArchiveVod>`
    SELECT id, twitch_vod_id, date FROM vods
    WHERE channel = ${channel} AND stream_id = ${streamId} AND NOT is_placeholder
    ORDER BY date NULLS LAST, id LIMIT 1`;
  if (exact[0] !== undefined || !byDate || startedAt === undefined) return exact[0];
  const near = yield* sql<ArchiveVod>`
    SELECT id, twitch_vod_id, date FROM vods
    WHERE channel = ${channel} AND stream_id IS NULL AND NOT is_placeholder AND date IS NOT NULL
      AND abs(EXTRACT(EPOCH FROM (date - ${startedAt}::timestamptz))) <= ${dateMatchWindowSeconds}
    ORDER BY abs(EXTRACT(EPOCH FROM (date - ${startedAt}::timestamptz))), id LIMIT 1`;
  return near[0];
});

/**
 * One look: when the stream has a placeholder and its archive VOD is in
 * `vods`, moves the chat and gaps to the archive (relative times from the
 * archive's start) and deletes the placeholder, all in one transaction.
 * Returns undefined when the archive is not known yet.
 */
export const moveStreamChat = Effect.fn("moveStreamChat")(function* (
  channel: string,
  streamId: string,
): Effect.fn.Return<ReconcileOutcome | undefined, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const placeholders = yield* sql<{ readonly id: number; readonly date: Date | null }>`
    SELECT id, date FROM vods WHERE channel = ${channel} AND stream_id = ${streamId} AND is_placeholder`;
  const placeholder = placeholders[0];
  if (placeholder === undefined) return { _tag: "NothingToDo" } as const;
  const archive = yield* findArchiveVod(channel, streamId, placeholder.date ?? undefined, true);
  if (archive === undefined) return undefined;
  const start = archive.date ?? placeholder.date;
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      // The placeholder row is locked first, so two reconcilers cannot both move it.
      const locked = yield* sql`SELECT id FROM vods WHERE id = ${placeholder.id} AND is_placeholder FOR UPDATE`;
      if (locked.length === 0) return { _tag: "NothingToDo" } as const;
      const moved = yield* sql<{ readonly n: number }>`
        WITH m AS (
          UPDATE chat_messages
          SET vod_id = ${archive.id}, stream_id = ${streamId},
            rel_timestamp = EXTRACT(EPOCH FROM (abs_timestamp - ${start}::timestamptz))
          WHERE vod_id = ${placeholder.id}
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM m`;
      const gaps = yield* sql<{ readonly n: number }>`
        WITH g AS (UPDATE chat_gaps SET vod_id = ${archive.id} WHERE vod_id = ${placeholder.id} RETURNING 1)
        SELECT count(*)::int AS n FROM g`;
      yield* sql`UPDATE streams SET vod_id = ${archive.id}, updated_at = now() WHERE channel = ${channel} AND stream_id = ${streamId}`;
      // An archive found by date learns its stream.
      yield* sql`UPDATE vods SET stream_id = ${streamId}, updated_at = now() WHERE id = ${archive.id} AND stream_id IS NULL`;
      yield* sql`DELETE FROM vods WHERE id = ${placeholder.id}`;
      return {
        _tag: "Reconciled",
        vodId: archive.id,
        twitchVodId: archive.twitch_vod_id,
        messages: moved[0]?.n ?? 0,
        gaps: gaps[0]?.n ?? 0,
      } as const;
    }),
  );
});

/**
 * Reconciles one ended stream: waits `delayMs`, then looks every `everyMs`
 * until `windowMs` after the call. Before moving, waits for the sink to have
 * stored everything it was given (the journal replayed), so no message of the
 * stream arrives at the placeholder after it is gone. Database errors count as
 * "not yet"; the outcome is never a failure.
 */
export const reconcileStream = Effect.fn("reconcileStream")(function* (
  channel: string,
  streamId: string,
  options?: ReconcileOptions,
): Effect.fn.Return<ReconcileOutcome, never, SqlClient | ChatSink> {
  const sink = yield* ChatSink;
  const delay = options?.delayMs ?? 60_000;
  const windowMs = options?.windowMs ?? 15 * 60_000;
  const every = options?.everyMs ?? 30_000;
  const deadline = (yield* Clock.currentTimeMillis) + windowMs;
  yield* Effect.sleep(Duration.millis(delay));
  for (;;) {
    if (options?.beforeAttempt !== undefined) yield* options.beforeAttempt;
    const left = Math.max(0, deadline - (yield* Clock.currentTimeMillis));
    const drained = yield* sink.drain.pipe(Effect.timeoutOption(Duration.millis(Math.max(left, 1_000))));
    if (Option.isSome(drained)) {
      const outcome = yield* moveStreamChat(channel, streamId).pipe(
        Effect.catchCause((cause) => Effect.as(Effect.logWarning("chat reconciliation attempt failed", { channel, streamId }, cause), undefined)),
      );
      if (outcome !== undefined) {
        if (outcome._tag === "Reconciled") yield* Effect.logInfo("chat reconciled with its VOD", { channel, streamId, ...outcome });
        return outcome;
      }
    }
    if ((yield* Clock.currentTimeMillis) + every > deadline) {
      yield* Effect.logWarning("no VOD found for the stream within the reconcile window; its chat stays on the placeholder", { channel, streamId });
      return { _tag: "NotFound" } as const;
    }
    yield* Effect.sleep(Duration.millis(every));
  }
});

/**
 * One look for every placeholder of ended streams (of one channel, or all):
 * for placeholders whose window passed, e.g. after a catalog scan found VODs.
 * Returns what was reconciled.
 */
export const reconcilePending = Effect.fn("reconcilePending")(function* (
  channel?: string,
): Effect.fn.Return<ReadonlyArray<{ readonly channel: string; readonly streamId: string; readonly outcome: ReconcileOutcome }>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const pending = yield* sql<{ readonly channel: string; readonly stream_id: string }>`
    SELECT v.channel, v.stream_id FROM vods v
    JOIN streams s ON s.channel = v.channel AND s.stream_id = v.stream_id
    WHERE v.is_placeholder AND s.ended_at IS NOT NULL
      ${channel === undefined ? sql.literal("") : sql`AND v.channel = ${channel}`}
    ORDER BY v.date`;
  const done: Array<{ readonly channel: string; readonly streamId: string; readonly outcome: ReconcileOutcome }> = [];
  for (const p of pending) {
    const outcome = yield* moveStreamChat(p.channel, p.stream_id);
    if (outcome !== undefined && outcome._tag === "Reconciled") done.push({ channel: p.channel, streamId: p.stream_id, outcome });
  }
  return done;
});
