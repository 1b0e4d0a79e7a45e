/**
 * Chat retention (`CHAT_RETENTION_DAYS`, off by default): chat older than the
 * retention is removed by dropping whole monthly partitions of
 * `chat_messages`, never by a bulk DELETE. A month is dropped once all of it
 * is older than the cut-off, so up to a month more than asked is kept.
 */
import { Clock, Duration, Effect, Schedule } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import { dropChatPartitionsBefore } from "./chat-partitions.ts";

/** Drops the partitions wholly older than `retentionDays` (by the Effect clock); returns their names. No-op at 0. */
export const applyChatRetention = Effect.fn("applyChatRetention")(function* (
  retentionDays: number,
): Effect.fn.Return<ReadonlyArray<string>, SqlError, SqlClient> {
  if (!(retentionDays > 0)) return [];
  const now = yield* Clock.currentTimeMillis;
  const dropped = yield* dropChatPartitionsBefore(new Date(now - retentionDays * 86_400_000));
  if (dropped.length > 0) yield* Effect.logInfo("chat retention dropped partitions", { partitions: dropped, retentionDays });
  return dropped;
});

/**
 * Applies retention now and then every `intervalMs` (default 6 h) for as long
 * as it runs; failures are logged and retried on the next round. Fork it in
 * the runtime's scope when `CHAT_RETENTION_DAYS` is set.
 */
export const runChatRetention = (retentionDays: number, intervalMs = 6 * 3_600_000): Effect.Effect<void, never, SqlClient> =>
  applyChatRetention(retentionDays).pipe(
    Effect.catchCause((cause) => Effect.logWarning("chat retention failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.millis(intervalMs))),
    Effect.asVoid,
  );
