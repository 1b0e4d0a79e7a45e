import { assert, describe, it } from "@effect/vitest";
import { Effect, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { chatPartitionName, listChatPartitions } from "../../../src/services/chat-partitions.ts";
import { chatSearchVector } from "../../../src/services/chat-search.ts";
import { connectPgClient, runMigrations } from "../../../src/services/database.ts";
import { migrationsDirectory } from "../../../src/services/migrations.ts";
import { readdirSync } from "node:fs";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";

// Every migration shipped in migrations/, in order (each area adds its own there).
const shipped = readdirSync(migrationsDirectory)
  .sort()
  .flatMap((file) => {
    const match = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/.exec(file);
    return match ? [{ id: Number(match[1]), name: match[2] as string }] : [];
  });

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

// A client on a database, migrated only by what the test does.
const withSql = <A, E>(effect: Effect.Effect<A, E, SqlClient>, url = database.url) =>
  Effect.gen(function* () {
    const client = yield* connectPgClient(Redacted.make(url), { maxConnections: 3 });
    return yield* effect.pipe(Effect.provideService(SqlClient, client));
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer));

const withFreshDatabase = <A, E>(effect: Effect.Effect<A, E, SqlClient>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => createTestDatabase()),
    (fresh) => withSql(effect, fresh.url),
    (fresh) => Effect.promise(() => fresh.drop()),
  );

const chatRow = (msgId: string, at: string, message = "hello") => ({
  channel: "alpha",
  msg_id: msgId,
  username: "viewer123",
  message,
  abs_timestamp: new Date(at),
});

describe("migrations", () => {
  // Runs first: the later tests rely on the schema it applies.
  it.live("apply once, then are a no-op", () =>
    withSql(
      Effect.gen(function* () {
        const files = yield* Effect.promise(() => readdir(migrationsDirectory));
        const expected = files
          .flatMap((file) => {
            const match = /^(\d+)_(.+)\.sql$/.exec(file);
            return match ? [{ id: Number(match[1]), name: match[2] ?? "" }] : [];
          })
          .sort((a, b) => a.id - b.id);
        const first = yield* runMigrations();
        assert.deepStrictEqual(first[0], { id: 1, name: "schema" });
        assert.deepStrictEqual(first, expected);
        const second = yield* runMigrations();
        assert.deepStrictEqual(second, []);
        const sql = yield* SqlClient;
        const recorded = yield* sql<{ migration_id: number }>`
          SELECT migration_id FROM vod_tender_migrations ORDER BY migration_id`;
        assert.deepStrictEqual(
          recorded.map((row) => row.migration_id),
          expected.map((migration) => migration.id),
        );
      }),
    ));

  it.live("two runners at once apply each migration once", () =>
    withFreshDatabase(
      Effect.gen(function* () {
        const [a, b] = yield* Effect.all([runMigrations(), runMigrations()], { concurrency: 2 });
        assert.deepStrictEqual(
          [...a, ...b].map((migration) => migration.id),
          shipped.map((m) => m.id),
        );
        const sql = yield* SqlClient;
        const tables = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'vods'`;
        assert.strictEqual(tables[0]?.n, 1);
      }),
    ));

  it.live("a failing migration leaves nothing of its run behind", () =>
    Effect.gen(function* () {
      const directory = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vod-tender-migrations-")));
      yield* Effect.addFinalizer(() => Effect.promise(() => rm(directory, { recursive: true, force: true })));
      yield* Effect.promise(async () => {
        await writeFile(join(directory, "0001_first.sql"), "CREATE TABLE first_table (id int);\nCREATE TABLE second_table (id int);");
        await writeFile(join(directory, "0002_broken.sql"), "CREATE TABLE third_table (id int); SELECT * FROM no_such_table;");
        await writeFile(join(directory, "README.md"), "not a migration");
      });
      yield* withFreshDatabase(
        Effect.gen(function* () {
          const failed = yield* Effect.flip(runMigrations({ directory }));
          assert.strictEqual(failed._tag, "DatabaseMigrationError");
          assert.match(failed.message, /"2_broken" failed/);
          assert.match(failed.message, /no_such_table/);
          const sql = yield* SqlClient;
          const tables = yield* sql<{ tablename: string }>`
            SELECT tablename FROM pg_tables WHERE tablename IN ('first_table', 'second_table', 'third_table')`;
          assert.deepStrictEqual(tables, []);
          const recorded = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM vod_tender_migrations`;
          assert.strictEqual(recorded[0]?.n, 0);
        }),
      );
    }).pipe(Effect.scoped));

  it.live("refuse a migration numbered below one already applied instead of skipping it", () =>
    Effect.gen(function* () {
      const directory = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vod-tender-migrations-")));
      yield* Effect.addFinalizer(() => Effect.promise(() => rm(directory, { recursive: true, force: true })));
      yield* Effect.promise(async () => {
        // runMigrations also makes chat partitions, so the parent table must exist.
        await writeFile(
          join(directory, "0001_first.sql"),
          "CREATE TABLE chat_messages (abs_timestamp timestamptz NOT NULL) PARTITION BY RANGE (abs_timestamp);",
        );
        await writeFile(join(directory, "0003_third.sql"), "CREATE TABLE third_table (id int);");
      });
      yield* withFreshDatabase(
        Effect.gen(function* () {
          assert.deepStrictEqual(
            (yield* runMigrations({ directory })).map((migration) => migration.id),
            [1, 3],
          );
          yield* Effect.promise(() => writeFile(join(directory, "0002_late.sql"), "CREATE TABLE late_table (id int);"));
          const refused = yield* Effect.flip(runMigrations({ directory }));
          assert.strictEqual(refused._tag, "DatabaseMigrationError");
          assert.include(refused.message, "0002_late");
        }),
      );
    }).pipe(Effect.scoped));

  it.live("create every table of schema v1", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ relname: string }>`
          SELECT relname FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND relname NOT LIKE 'chat_messages_y%'
          ORDER BY relname`;
        assert.includeMembers(
          rows.map((row) => row.relname),
          ["audit_log", "channels", "chat_gaps", "chat_messages", "kv", "oauth_tokens", "streams", "vod_tender_migrations", "vods"],
        );
      }),
    ));

  it.live("give vods, chat_messages and the others their columns", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const columns = (table: string) =>
          sql<{ column_name: string }>`
            SELECT column_name FROM information_schema.columns WHERE table_name = ${table}`.pipe(
            Effect.map((rows) => rows.map((row) => row.column_name)),
          );
        assert.includeMembers(yield* columns("vods"), [
          "id", "channel", "twitch_vod_id", "stream_id", "title", "date", "duration_seconds", "url", "priority",
          "processed", "processing_error", "download_state", "download_retries", "download_bytes", "download_total",
          "progress", "file_path", "youtube_url", "is_placeholder", "created_at", "updated_at", "sha256", "file_size",
          "checksum_at", "download_speed", "download_eta", "uploaded_at", "last_error_at", "next_attempt_at",
          "muted_segments", "view_count", "description", "skip_upload",
        ]);
        const chatColumns = yield* columns("chat_messages");
        assert.includeMembers(chatColumns, [
          "channel", "vod_id", "stream_id", "msg_id", "kind", "user_id", "username", "display_name", "color", "badges",
          "emotes", "bits", "reply_parent_msg_id", "message", "abs_timestamp", "rel_timestamp", "deleted_at",
          "is_action", "first_msg", "msg_params", "system_message", "raw",
        ]);
        assert.notInclude(chatColumns, "search", "search indexes an expression (0006), no stored column");
        assert.includeMembers(yield* columns("channels"), [
          "name", "twitch_user_id", "display_name", "source", "enabled", "paused", "settings", "created_at", "updated_at",
        ]);
        assert.includeMembers(yield* columns("chat_gaps"), ["id", "channel", "vod_id", "stream_id", "started_at", "ended_at", "reason"]);
        assert.includeMembers(yield* columns("oauth_tokens"), [
          "provider", "channel", "access_token", "refresh_token", "expiry", "scope", "created_at", "updated_at",
        ]);
        assert.includeMembers(yield* columns("kv"), ["channel", "key", "value", "updated_at"]);
        assert.includeMembers(yield* columns("streams"), [
          "id", "channel", "stream_id", "started_at", "ended_at", "title", "game_name", "peak_viewers", "last_seen_at",
        ]);
        assert.includeMembers(yield* columns("audit_log"), ["id", "at", "actor", "action", "target", "params", "result", "error"]);
        const jsonb = yield* sql<{ table_name: string; column_name: string }>`
          SELECT table_name, column_name FROM information_schema.columns
          WHERE data_type = 'jsonb' AND table_schema = 'public' AND table_name NOT LIKE 'chat_messages_y%'
          ORDER BY table_name, column_name`;
        assert.includeMembers(
          jsonb.map((row) => `${row.table_name}.${row.column_name}`),
          ["audit_log.params", "channels.settings", "chat_messages.badges", "chat_messages.emotes", "chat_messages.msg_params", "streams.title_history", "vods.muted_segments"],
        );
      }),
    ));

  it.live("index vods for listing, the work queue and one placeholder per stream", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'vods'`;
        const definitions = rows.map((row) => row.indexdef.replace(/^.* USING /, ""));
        assert.includeMembers(definitions, [
          "btree (channel, date DESC)",
          "btree (channel, processed, priority DESC, date)",
          "btree (channel, stream_id) WHERE is_placeholder",
          "btree (twitch_vod_id)",
        ]);
        const unique = rows.filter((row) => row.indexdef.startsWith("CREATE UNIQUE")).map((row) => row.indexdef);
        assert.isTrue(unique.some((definition) => definition.includes("(twitch_vod_id)")));
        assert.isTrue(unique.some((definition) => definition.includes("WHERE is_placeholder")));
      }),
    ));

  it.live("allow one placeholder VOD per stream, real VODs unique by Twitch id", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        yield* sql`INSERT INTO vods (channel, stream_id, is_placeholder, title) VALUES ('alpha', 's-1', true, 'LIVE: one')`;
        const second = yield* Effect.flip(
          sql`INSERT INTO vods (channel, stream_id, is_placeholder) VALUES ('alpha', 's-1', true)`,
        );
        assert.strictEqual(second.reason._tag, "UniqueViolation");
        yield* sql`INSERT INTO vods (channel, stream_id, is_placeholder) VALUES ('bravo', 's-1', true)`;
        yield* sql`INSERT INTO vods (channel, stream_id, twitch_vod_id) VALUES ('alpha', 's-1', 'v100')`;
        const duplicate = yield* Effect.flip(sql`INSERT INTO vods (channel, twitch_vod_id) VALUES ('bravo', 'v100')`);
        assert.strictEqual(duplicate.reason._tag, "UniqueViolation");
        const ids = yield* sql<{ id: number }>`SELECT id FROM vods ORDER BY id`;
        assert.isTrue(ids.every((row) => typeof row.id === "number"));
      }),
    ));

  it.live("range-partition chat_messages by abs_timestamp, with no default partition", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ key: string; partdefid: number }>`
          SELECT pg_get_partkeydef(partrelid) AS key, partdefid::int AS partdefid
          FROM pg_partitioned_table WHERE partrelid = 'chat_messages'::regclass`;
        assert.deepStrictEqual(rows, [{ key: "RANGE (abs_timestamp)", partdefid: 0 }]);
        const names = (yield* listChatPartitions).map((partition) => partition.name);
        assert.include(names, chatPartitionName(new Date()));
      }),
    ));

  it.live("index chat_messages by channel, VOD, user and text", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'chat_messages'`;
        const definitions = rows.map((row) => row.indexdef.replace(/^.* USING /, ""));
        assert.includeMembers(definitions, [
          "btree (channel, abs_timestamp, msg_id)",
          "btree (vod_id, rel_timestamp)",
          "btree (channel, username, abs_timestamp)",
          "gin (to_tsvector('simple'::regconfig, ((COALESCE(message, ''::text) || ' '::text) || COALESCE(system_message, ''::text))))",
        ]);
      }),
    ));

  it.live("deduplicate chat by (channel, abs_timestamp, msg_id)", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const at = new Date().toISOString();
        yield* sql`INSERT INTO chat_messages ${sql.insert(chatRow("m-1", at))}`;
        const duplicate = yield* Effect.flip(sql`INSERT INTO chat_messages ${sql.insert(chatRow("m-1", at, "again"))}`);
        assert.strictEqual(duplicate.reason._tag, "UniqueViolation");
        const ignored = yield* sql`
          INSERT INTO chat_messages ${sql.insert(chatRow("m-1", at, "again"))}
          ON CONFLICT (channel, abs_timestamp, msg_id) DO NOTHING RETURNING msg_id`;
        assert.strictEqual(ignored.length, 0);
        const stored = yield* sql<{ message: string }>`SELECT message FROM chat_messages WHERE msg_id = 'm-1'`;
        assert.deepStrictEqual(stored, [{ message: "hello" }]);
      }),
    ));

  it.live("reject chat outside the created partitions instead of keeping it where retention cannot reach", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const failed = yield* Effect.flip(sql`INSERT INTO chat_messages ${sql.insert(chatRow("m-old", "1999-01-01T00:00:00Z"))}`);
        assert.match(String(failed.cause.cause), /no partition/i);
      }),
    ));

  it.live("find chat by words, case-insensitively", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const at = new Date().toISOString();
        yield* sql`INSERT INTO chat_messages ${sql.insert(chatRow("m-search", at, "Lets go! This is going to be epic! PogChamp"))}`;
        const found = yield* sql<{ msg_id: string }>`
          SELECT msg_id FROM chat_messages WHERE ${sql.literal(chatSearchVector)} @@ plainto_tsquery('simple', 'pogchamp epic')`;
        assert.deepStrictEqual(found, [{ msg_id: "m-search" }]);
        const missing = yield* sql`SELECT msg_id FROM chat_messages WHERE ${sql.literal(chatSearchVector)} @@ plainto_tsquery('simple', 'kappa')`;
        assert.strictEqual(missing.length, 0);
      }),
    ));
});
