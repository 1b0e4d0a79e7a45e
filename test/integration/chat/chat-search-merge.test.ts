/**
 * The sink merges the search index's pending list itself, from its own
 * connection, so that no batch INSERT stalls to do it. Read from the GIN
 * index's metapage (pageinspect): the rows whose words still wait in its pending list.
 */
import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer, Logger } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { mkdtemp, rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { chatPartitionName } from "../../../src/services/chat-partitions.ts";
import { searchChat } from "../../../src/services/chat-search.ts";
import { mergeChatSearchPending } from "../../../src/services/chat-search-upkeep.ts";
import { ChatSink, type ChatSinkOptions } from "../../../src/services/chat-sink.ts";
import { migratedDatabase, mustParse, privmsgLine, rowOf, sqlLayer } from "./chat-fixtures.ts";
import { eventually, eventuallyEffect } from "./eventually.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const setup = async () => {
  const database = await migratedDatabase();
  cleanups.push(() => database.drop());
  const dir = await mkdtemp(join(tmpdir(), "chat-search-merge-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return { url: database.url, dir };
};

const sinkLayer = (url: string, options: ChatSinkOptions) => ChatSink.layer(options).pipe(Layer.provideMerge(sqlLayer(url)));

const now = Date.now();
const rows = Array.from({ length: 3_000 }, (_, i) =>
  rowOf(mustParse(privmsgLine("omega", `User${i % 41}`, `${i === 1_234 ? "periwinkle" : "plain"} message number ${i}`, now - 60_000 + i))),
);

// Rows whose words wait in the pending list of the search index of this month's partition.
const pendingRows = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* sql`CREATE EXTENSION IF NOT EXISTS pageinspect`;
  const [row] = yield* sql<{ readonly n: number }>`
    SELECT (gin_metapage_info(get_raw_page(i.indexrelid::regclass::text, 0))).n_pending_tuples::int AS n
    FROM pg_inherits h
    JOIN pg_index i ON i.indexrelid = h.inhrelid
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE h.inhparent = 'chat_messages_search_idx'::regclass AND t.relname = ${chatPartitionName(new Date(now))}`;
  if (row === undefined) return assert.fail("no search index on this month's partition");
  return row.n;
});

const searchFinds = Effect.gen(function* () {
  const page = yield* searchChat({ text: "periwinkle", limit: 10 });
  return page.hits.map((hit) => hit.message);
});
const theOneWithPeriwinkle = ["periwinkle message number 1234"];

// Offers every row to the sink and waits until they are written.
const storeRows = Effect.gen(function* () {
  const sink = yield* ChatSink;
  for (const row of rows) sink.offer(row);
  yield* sink.flush;
  return sink;
});

describe("chat search index merges", () => {
  it.live("after every `searchMergeRows` rows stored the sink merges the pending list, which batch INSERTs leave alone below its limit", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      yield* Effect.gen(function* () {
        yield* storeRows;
        yield* eventuallyEffect(
          pendingRows.pipe(Effect.map((n) => n === 0)),
          20_000,
          "the pending list merged",
        );
        assert.deepStrictEqual(yield* searchFinds, theOneWithPeriwinkle);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, batchSize: 500, searchMergeRows: 1_000 })));
    }));

  it.live("with merges off the rows wait in the pending list, where searches still find them, until something merges it", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      yield* Effect.gen(function* () {
        yield* storeRows;
        assert.strictEqual(yield* pendingRows, rows.length);
        assert.deepStrictEqual(yield* searchFinds, theOneWithPeriwinkle);
        const merged = yield* mergeChatSearchPending([chatPartitionName(new Date(now)), "chat_messages_y1999m01"]);
        assert.strictEqual(merged.indexes, 1, "the partition that does not exist is skipped");
        assert.isAbove(merged.pages, 0);
        assert.strictEqual(yield* pendingRows, 0);
        assert.deepStrictEqual(yield* searchFinds, theOneWithPeriwinkle);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, batchSize: 500, searchMergeRows: 0 })));
    }));

  it.live("under a role that does not own the partitions the rows are stored, the sink says once that merges stopped, and leaves merging to the INSERTs", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const role = `chat_writer_${randomUUID().slice(0, 8)}`;
      const admin = sqlLayer(url, 1);
      const asAdmin = (statement: string) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient;
          yield* sql.unsafe(statement).unprepared;
        }).pipe(Effect.provide(admin));
      yield* asAdmin(`CREATE ROLE ${role} LOGIN PASSWORD 'writer'`);
      yield* asAdmin(`GRANT SELECT, INSERT, UPDATE ON chat_messages TO ${role}`);
      cleanups.push(() => Effect.runPromise(asAdmin(`DROP OWNED BY ${role}`).pipe(Effect.andThen(asAdmin(`DROP ROLE ${role}`)))));
      const writerUrl = new URL(url);
      writerUrl.username = role;
      writerUrl.password = "writer";

      const warnings: Array<string> = [];
      const collector = Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message));
      });
      yield* Effect.gen(function* () {
        const sink = yield* storeRows;
        assert.strictEqual(sink.stats().stored, rows.length);
        assert.strictEqual(sink.stats().rejected, 0);
        yield* eventually(() => warnings.some((message) => message.includes("search index merges stopped")), 20_000, "the warning");
        // Three merges were due; the first one's refusal ends them.
        yield* Effect.sleep("200 millis");
      }).pipe(
        Effect.provide(sinkLayer(writerUrl.toString(), { journalDirectory: dir, batchSize: 500, searchMergeRows: 1_000 })),
        Effect.provide(Logger.layer([collector])),
      );
      assert.deepStrictEqual(
        warnings.filter((message) => message.includes("search index merges stopped")).length,
        1,
        `warnings: ${JSON.stringify(warnings)}`,
      );
      assert.strictEqual(yield* pendingRows.pipe(Effect.provide(admin)), rows.length);
    }));
});
