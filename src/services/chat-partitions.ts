/**
 * Monthly partitions of `chat_messages`. There is deliberately no DEFAULT
 * partition: rows outside the created months fail instead of collecting where
 * retention cannot drop them, so the months ahead must exist before chat for
 * them arrives. `ensureChatPartitions` runs at migrate/start and daily;
 * `ensureChatPartitionsCovering` is for writers that meet an odd timestamp.
 */
import { Clock, Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

const parentTable = "chat_messages";
const partitionName = /^chat_messages_y(\d{4})m(\d{2})$/;
// Serialises partition DDL between processes sharing one database.
const lockKey = "vod-tender.chat_partitions";

/** One monthly partition: rows with `from <= abs_timestamp < to` (UTC months). */
export interface ChatPartition {
  readonly name: string;
  readonly from: Date;
  readonly to: Date;
}

const monthStart = (date: Date, offset = 0): Date =>
  new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));

/** Name of the partition holding `date`'s UTC month, e.g. `chat_messages_y2026m03`. */
export const chatPartitionName = (date: Date): string =>
  `${parentTable}_y${String(date.getUTCFullYear()).padStart(4, "0")}m${String(date.getUTCMonth() + 1).padStart(2, "0")}`;

const partitionFor = (date: Date): ChatPartition => ({
  name: chatPartitionName(date),
  from: monthStart(date),
  to: monthStart(date, 1),
});

const parsePartition = (name: string): ChatPartition | undefined => {
  const match = partitionName.exec(name);
  if (!match) return undefined;
  return partitionFor(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)));
};

/**
 * The monthly partitions that exist, oldest first. Partitions not named by
 * `chatPartitionName` (created by hand) are left out, and so never dropped.
 */
export const listChatPartitions: Effect.Effect<ReadonlyArray<ChatPartition>, SqlError, SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient;
    const rows = yield* sql<{ readonly name: string }>`
      SELECT c.relname AS name
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = ${parentTable}::regclass`;
    return rows
      .flatMap((row) => parsePartition(row.name) ?? [])
      .sort((a, b) => a.from.getTime() - b.from.getTime());
  },
).pipe(Effect.withSpan("listChatPartitions"));

interface StatisticsTarget {
  readonly column: string;
  readonly target: number;
}

// The per-column statistics targets set on chat_messages (migration 0007 turns
// ANALYZE off for columns no query selects on). ALTER TABLE on the parent
// reaches the partitions that exist, but a partition created later starts
// with the defaults, so each new one is given these. NULL (PostgreSQL 17+) and
// -1 (before) both mean the default.
const parentStatisticsTargets = Effect.gen(function* () {
  const sql = yield* SqlClient;
  return yield* sql<StatisticsTarget>`
    SELECT attname AS column, attstattarget::int AS target FROM pg_attribute
    WHERE attrelid = ${parentTable}::regclass AND attnum > 0 AND NOT attisdropped AND coalesce(attstattarget, -1) >= 0
    ORDER BY attnum`;
});

const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Creates the monthly partitions covering `from` through `to` (inclusive) that
 * do not exist yet, with chat_messages' per-column statistics targets;
 * returns the names created. Safe to run concurrently.
 */
export const ensureChatPartitionsCovering = Effect.fn("ensureChatPartitionsCovering")(function* (
  from: Date,
  to: Date,
): Effect.fn.Return<ReadonlyArray<string>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const wanted: Array<ChatPartition> = [];
  for (let month = monthStart(from); month.getTime() <= to.getTime(); month = monthStart(month, 1)) {
    wanted.push(partitionFor(month));
  }
  if (wanted.length === 0) return [];
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${lockKey}))`;
      const existing = new Set((yield* listChatPartitions).map((partition) => partition.name));
      const created: Array<string> = [];
      let targets: ReadonlyArray<StatisticsTarget> | undefined;
      for (const partition of wanted) {
        if (existing.has(partition.name)) continue;
        // DDL takes no bind parameters; every piece here is generated from digits.
        yield* sql.unsafe(
          `CREATE TABLE IF NOT EXISTS "${partition.name}" PARTITION OF ${parentTable} ` +
            `FOR VALUES FROM ('${partition.from.toISOString()}') TO ('${partition.to.toISOString()}')`,
        ).unprepared;
        targets ??= yield* parentStatisticsTargets;
        if (targets.length > 0) {
          const columns = targets.map((t) => `ALTER COLUMN ${quoteIdentifier(t.column)} SET STATISTICS ${Math.trunc(t.target)}`);
          yield* sql.unsafe(`ALTER TABLE "${partition.name}" ${columns.join(", ")}`).unprepared;
        }
        created.push(partition.name);
      }
      return created;
    }),
  );
});

/**
 * Creates the current UTC month's partition and the next `monthsAhead` months'
 * (by the Effect `Clock`); returns the names created. Idempotent.
 */
export const ensureChatPartitions = Effect.fn("ensureChatPartitions")(function* (
  monthsAhead: number,
): Effect.fn.Return<ReadonlyArray<string>, SqlError, SqlClient> {
  const now = new Date(yield* Clock.currentTimeMillis);
  return yield* ensureChatPartitionsCovering(now, monthStart(now, Math.max(0, monthsAhead)));
});

/**
 * Retention: drops every monthly partition whose months end at or before
 * `before` (rows entirely older than it); returns the names dropped. A month
 * that straddles `before` is kept whole.
 */
export const dropChatPartitionsBefore = Effect.fn("dropChatPartitionsBefore")(function* (
  before: Date,
): Effect.fn.Return<ReadonlyArray<string>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${lockKey}))`;
      const expired = (yield* listChatPartitions).filter((partition) => partition.to.getTime() <= before.getTime());
      for (const partition of expired) {
        yield* sql.unsafe(`DROP TABLE IF EXISTS "${partition.name}"`).unprepared;
      }
      return expired.map((partition) => partition.name);
    }),
  );
});
