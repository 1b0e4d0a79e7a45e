/**
 * The database layer: one pooled PostgreSQL client (`@effect/sql-pg`) for the
 * whole process, on `DATABASE_URL` or on an embedded cluster under
 * `$DATA_DIR/pg`, migrated at start. Everything else asks for
 * `SqlClient` (from `effect/sql/SqlClient`), or `PgClient` for LISTEN/NOTIFY.
 *
 * Rows come back with the database's snake_case column names (no name
 * transforms, so jsonb payloads are never rewritten); `bigint` columns and
 * `count(*)` decode to JS numbers, not `bigint`, so rows serialise as JSON.
 */
import * as PgClient from "@effect/sql-pg/PgClient";
import * as PgTypes from "@effect/sql-pg/PgTypes";
import { Context, Duration, Effect, Layer, Redacted, Result, Schedule, Schema } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import type { Scope } from "effect";
import { totalmem } from "node:os";
import { ensureChatPartitions } from "./chat-partitions.ts";
import { type EmbeddedPostgresError, startEmbeddedPostgres } from "./embedded-postgres.ts";
import { DatabaseMigrationError, defaultChatMonthsAhead, runMigrations } from "./migrations.ts";
import { rootCauseMessage } from "./root-cause-message.ts";

export { DatabaseMigrationError, runMigrations } from "./migrations.ts";
export type { AppliedMigration } from "./migrations.ts";

/** The database cannot be reached or refused us; names where, never the password. */
export class DatabaseUnavailableError extends Schema.TaggedError<DatabaseUnavailableError>()("DatabaseUnavailableError", {
  host: Schema.String,
  port: Schema.Number,
  database: Schema.String,
  message: Schema.String,
  cause: Schema.Defect(),
}) {}

/** Every way building the database layer can fail. */
export type DatabaseError = DatabaseUnavailableError | DatabaseMigrationError | EmbeddedPostgresError;

/** Options of `databaseLayer`. */
export interface DatabaseOptions {
  /** `DATABASE_URL`; when undefined an embedded cluster runs under `<dataDir>/pg`. */
  readonly url: Redacted.Redacted<string> | undefined;
  /** `DATA_DIR`. */
  readonly dataDir: string;
  /** Apply migrations (and create chat partitions) before the layer is ready; default true. */
  readonly migrate?: boolean;
  /** Pool size; default 10. */
  readonly maxConnections?: number;
}

/** Where a database URL points, for messages. */
export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** Host, port and database of a URL, without its credentials. */
export const databaseTarget = (url: Redacted.Redacted<string>): DatabaseTarget => {
  try {
    const parsed = new URL(Redacted.value(url));
    const user = decodeURIComponent(parsed.username);
    return {
      host: parsed.hostname || parsed.searchParams.get("host") || "localhost",
      port: parsed.port ? Number(parsed.port) : 5432,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user || "postgres",
    };
  } catch {
    return { host: "(unparsable DATABASE_URL)", port: 5432, database: "" };
  }
};

const int8Oid = 20;
const int8ArrayOid = 1016;

const int8AsNumber: PgTypes.Codec<number | bigint> = {
  encode: (value) => {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      return Result.fail(new PgTypes.CodecError({ message: `int8 parameter is not a safe integer: ${value}` }));
    }
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    // Ids are numbers on every hot path (chat rows carry one each); BigInt is the slow way.
    if (typeof value === "number") {
      const high = Math.floor(value / 4294967296);
      view.setInt32(0, high);
      view.setUint32(4, value - high * 4294967296);
    } else {
      view.setBigInt64(0, value);
    }
    return Result.succeed(bytes);
  },
  decode: (bytes) => {
    if (bytes.byteLength !== 8) return Result.fail(new PgTypes.CodecError({ message: "int8 value is not 8 bytes" }));
    const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      return Result.fail(new PgTypes.CodecError({ message: `int8 value ${value} exceeds JavaScript's safe integers` }));
    }
    return Result.succeed(Number(value));
  },
};

/**
 * The type registry every client of ours uses: `int8` as a JS number (byte
 * counts and ids stay far below 2^53), everything else as `@effect/sql-pg` decodes it.
 */
export const pgTypes = (): PgTypes.Registry => {
  const registry = PgTypes.makeRegistry();
  registry.register(int8Oid, int8AsNumber, { arrayOid: int8ArrayOid });
  return registry;
};

/**
 * Opens a pool on `url` and checks it with one query, so a dead or refusing
 * database fails here (typed, naming host:port) rather than on first use.
 */
export const connectPgClient = Effect.fn("connectPgClient")(function* (
  url: Redacted.Redacted<string>,
  options?: { readonly maxConnections?: number },
): Effect.fn.Return<PgClient.PgClient, DatabaseUnavailableError, Scope.Scope | Reactivity.Reactivity> {
  const target = databaseTarget(url);
  const unavailable = (cause: unknown) =>
    new DatabaseUnavailableError({
      ...target,
      message: `cannot use PostgreSQL at ${target.host}:${target.port} (database "${target.database}"): ${rootCauseMessage(cause)}`,
      cause,
    });
  const client = yield* PgClient.make({
    url,
    types: pgTypes(),
    applicationName: "vod-tender",
    maxConnections: options?.maxConnections ?? 10,
  }).pipe(Effect.mapError(unavailable));
  yield* client`SELECT 1`.pipe(Effect.mapError(unavailable));
  return client;
});

// Partitions are ensured months ahead, so a missed run is harmless; twice a
// day keeps a process that runs for months covered.
const partitionMaintenance = (monthsAhead: number) =>
  ensureChatPartitions(monthsAhead).pipe(
    Effect.catchCause((cause) => Effect.logWarning("chat partition maintenance failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.hours(12))),
  );

/**
 * Server settings of the embedded cluster: PostgreSQL's defaults but for
 * `shared_buffers`, a sixteenth of the machine's memory between 128 MB (the
 * default) and 512 MB, and `max_wal_size` at 4 GB (1 GB by default).
 *
 * Why: chat writes touch four indexes (the username index all over), which
 * outgrow 128 MB within minutes of busy chat, and then batches evict and
 * reread pages. Measured with `bench:chat` (60 s at 21,000 msg/s, two
 * alternating pairs): PostgreSQL's CPU per row 61 and 45 µs with 128 MB, the
 * p99 12.2 s and 814 ms; 45 and 42 µs with 512 MB, the p99 592 and 478 ms.
 * (Measured while timeouts still read their channel's whole day, which
 * touched more pages than they do now.) Memory is only taken as pages are
 * used; small machines keep the default.
 *
 * `max_wal_size`: busy chat writes about 20 MB of WAL a second, so with 1 GB a
 * checkpoint came every 10 to 30 s, and after each one the first change to
 * every page writes the whole page into the WAL again. The scattered username
 * and search indexes made that worse with every checkpoint: measured over 90 s
 * at 21,000 msg/s, WAL grew from 0.9 to 2.0-4.5 kB a row and full-page images
 * from 6 to 170-520 per 1,000 rows, seven checkpoints in all. With 4 GB a
 * checkpoint is asked for after about 2 GB of WAL (max_wal_size over 1 plus
 * checkpoint_completion_target), about every 100 s at that rate, and
 * otherwise comes on `checkpoint_timeout` (5 min): WAL stays at 0.9-1.1 kB a
 * row and about 3 images per 1,000 rows between checkpoints, and is 2.2-2.5
 * kB a row in the 10 s after one, back under 1.5 kB within 40 s (150-s runs).
 * The cost is up to about 4 GB of `pg_wal` on disk while chat is that busy.
 */
export const embeddedPostgresSettings = (totalMemoryBytes: number = totalmem()): Readonly<Record<string, string>> => {
  const mb = Math.floor(totalMemoryBytes / 16 / 2 ** 20);
  return { shared_buffers: `${Math.min(512, Math.max(128, mb))}MB`, max_wal_size: "4GB" };
};

/**
 * The process's database: provides `SqlClient` and `PgClient`. Starts the
 * embedded cluster when `url` is undefined (stopped when the layer is
 * released), connects, migrates unless `migrate: false`, and keeps chat
 * partitions ahead while the layer lives. `vod-tender migrate` uses
 * `migrate: false` and calls `runMigrations` itself to report what it applied.
 */
export const databaseLayer = (
  options: DatabaseOptions,
): Layer.Layer<PgClient.PgClient | SqlClient, DatabaseError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const url = options.url ?? (yield* startEmbeddedPostgres({ dataDir: options.dataDir, settings: embeddedPostgresSettings() })).url;
      const client = yield* connectPgClient(url, { maxConnections: options.maxConnections });
      if (options.migrate !== false) {
        yield* runMigrations().pipe(Effect.provideService(SqlClient, client));
        yield* partitionMaintenance(defaultChatMonthsAhead).pipe(
          Effect.delay(Duration.hours(12)),
          Effect.provideService(SqlClient, client),
          Effect.forkScoped,
        );
      }
      return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient, client));
    }),
  ).pipe(Layer.provide(Reactivity.layer));
