/**
 * Schema migrations: numbered plain SQL files in `migrations/` (`0001_schema.sql`),
 * applied in order by Effect's SQL migrator, each pending one inside the same
 * transaction, recorded in `vod_tender_migrations`. Applying twice is a no-op;
 * two processes migrating at once serialise on a table lock.
 */
import { Effect, Schema } from "effect";
import * as Migrator from "effect/sql/Migrator";
import { SqlClient } from "effect/sql/SqlClient";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureChatPartitions } from "./chat-partitions.ts";
import { rootCauseMessage } from "./root-cause-message.ts";

/** Folder holding the numbered `.sql` migrations shipped with the package. */
export const migrationsDirectory = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** Table recording applied migrations (not golang-migrate's `schema_migrations`, which the Go original uses). */
export const migrationsTable = "vod_tender_migrations";

/** Months of chat partitions created ahead of the current one at migrate/start. */
export const defaultChatMonthsAhead = 3;

const migrationFile = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/** A migration applied by one `runMigrations` call. */
export interface AppliedMigration {
  readonly id: number;
  readonly name: string;
}

/** Migrations could not be read or one of them failed; nothing of the failed run is kept. */
export class DatabaseMigrationError extends Schema.TaggedError<DatabaseMigrationError>()("DatabaseMigrationError", {
  message: Schema.String,
  cause: Schema.Defect(),
}) {}

/**
 * Splits a SQL script into statements at top-level semicolons. The PostgreSQL
 * client speaks the extended protocol, which takes one statement per query.
 * Knows quotes, `E''` escapes, quoted identifiers, dollar quoting and comments
 * (nested block comments included); comment-only pieces are dropped.
 */
export const splitSqlStatements = (script: string): ReadonlyArray<string> => {
  const statements: Array<string> = [];
  const dollarTag = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
  let start = 0;
  let hasCode = false;
  let i = 0;
  const flush = (end: number) => {
    if (hasCode) statements.push(script.slice(start, end).trim());
    start = end + 1;
    hasCode = false;
  };
  const skipQuoted = (quote: string, backslashEscapes: boolean): number => {
    let j = i + 1;
    while (j < script.length) {
      const ch = script[j];
      if (backslashEscapes && ch === "\\") j += 2;
      else if (ch === quote && script[j + 1] === quote) j += 2;
      else if (ch === quote) return j + 1;
      else j += 1;
    }
    return j;
  };
  while (i < script.length) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? script.length : end + 1;
    } else if (ch === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < script.length && depth > 0) {
        if (script[i] === "/" && script[i + 1] === "*") (depth += 1), (i += 2);
        else if (script[i] === "*" && script[i + 1] === "/") (depth -= 1), (i += 2);
        else i += 1;
      }
    } else if (ch === "'") {
      const prefix = script[i - 1];
      const escapes = (prefix === "E" || prefix === "e") && !/[A-Za-z0-9_$]/.test(script[i - 2] ?? "");
      i = skipQuoted("'", escapes);
      hasCode = true;
    } else if (ch === '"') {
      i = skipQuoted('"', false);
      hasCode = true;
    } else if (ch === "$" && !/[A-Za-z0-9_$]/.test(script[i - 1] ?? "")) {
      dollarTag.lastIndex = i;
      const match = dollarTag.exec(script);
      if (match) {
        const end = script.indexOf(match[0], i + match[0].length);
        i = end === -1 ? script.length : end + match[0].length;
      } else {
        i += 1;
      }
      hasCode = true;
    } else if (ch === ";") {
      flush(i);
      i += 1;
    } else {
      if (ch !== undefined && !/\s/.test(ch)) hasCode = true;
      i += 1;
    }
  }
  flush(script.length);
  return statements;
};

/**
 * Reads the numbered `.sql` files of `directory` into a record for
 * `Migrator.fromRecord` (keys `<id>_<name>`). Other files are ignored.
 */
export const loadSqlMigrations = Effect.fn("loadSqlMigrations")(function* (
  directory: string,
): Effect.fn.Return<Record<string, Effect.Effect<void, unknown, SqlClient>>, DatabaseMigrationError> {
  const failure = (cause: unknown) =>
    new DatabaseMigrationError({ message: `cannot read migrations from ${directory}: ${String(cause)}`, cause });
  const files = yield* Effect.tryPromise({ try: () => readdir(directory), catch: failure });
  const record: Record<string, Effect.Effect<void, unknown, SqlClient>> = {};
  for (const file of files.sort()) {
    const match = migrationFile.exec(file);
    if (!match) continue;
    const script = yield* Effect.tryPromise({ try: () => readFile(join(directory, file), "utf8"), catch: failure });
    const statements = splitSqlStatements(script);
    record[`${match[1]}_${match[2]}`] = Effect.gen(function* () {
      const sql = yield* SqlClient;
      for (const statement of statements) {
        yield* sql.unsafe(statement).unprepared;
      }
    });
  }
  return record;
});

// Effect's migrator without the pg_dump schema export (PgMigrator.run adds only
// that, and would require a child-process spawner and a file system).
const migrate = Migrator.make({});

/**
 * Applies pending migrations, then makes sure chat partitions exist for the
 * current month and `chatMonthsAhead` more. Returns the migrations applied by
 * this call (empty when the schema was current). Used at start and by
 * `vod-tender migrate`.
 */
export const runMigrations = Effect.fn("runMigrations")(
  function* (options?: {
    readonly directory?: string;
    readonly chatMonthsAhead?: number;
  }): Effect.fn.Return<ReadonlyArray<AppliedMigration>, DatabaseMigrationError, SqlClient> {
    const migrations = yield* loadSqlMigrations(options?.directory ?? migrationsDirectory);
    yield* refuseSkippedMigrations(Object.keys(migrations));
    const applied = yield* migrate({ loader: Migrator.fromRecord(migrations), table: migrationsTable }).pipe(
      Effect.mapError(
        (cause) =>
          new DatabaseMigrationError({
            message: cause._tag === "MigrationError" && cause.cause ? `${cause.message}: ${rootCauseMessage(cause.cause)}` : rootCauseMessage(cause),
            cause,
          }),
      ),
    );
    yield* ensureChatPartitions(options?.chatMonthsAhead ?? defaultChatMonthsAhead).pipe(
      Effect.mapError(
        (cause) => new DatabaseMigrationError({ message: `cannot create chat partitions: ${rootCauseMessage(cause)}`, cause }),
      ),
    );
    return applied.map(([id, name]) => ({ id, name }));
  },
);

/**
 * The migrator runs only ids above the latest applied one, so a migration
 * numbered below it (merged after a later one was applied) would be skipped
 * forever without a word. Refuse instead, naming it.
 */
const refuseSkippedMigrations = Effect.fn("refuseSkippedMigrations")(function* (
  keys: ReadonlyArray<string>,
): Effect.fn.Return<void, DatabaseMigrationError, SqlClient> {
  const sql = yield* SqlClient;
  const failed = (cause: unknown) =>
    new DatabaseMigrationError({ message: `cannot read ${migrationsTable}: ${rootCauseMessage(cause)}`, cause });
  const [table] = yield* sql<{ readonly present: boolean }>`
    SELECT to_regclass(${migrationsTable}) IS NOT NULL AS present`.pipe(Effect.mapError(failed));
  // No table yet: nothing applied, nothing skipped.
  if (!table?.present) return;
  const recorded = yield* sql<{ readonly migration_id: number }>`
    SELECT migration_id FROM ${sql(migrationsTable)}`.pipe(Effect.mapError(failed));
  const applied = new Set(recorded.map((row) => row.migration_id));
  const latest = Math.max(0, ...applied);
  const skipped = keys.filter((key) => {
    const id = Number.parseInt(key, 10);
    return id < latest && !applied.has(id);
  });
  if (skipped.length > 0) {
    return yield* new DatabaseMigrationError({
      message:
        `migrations ${skipped.join(", ")} were never applied but are numbered below the latest applied one (${latest}); ` +
        "renumber them after it",
      cause: skipped,
    });
  }
});
