/**
 * A timeout or a deleted message must find its rows through the author, not by
 * reading its channel's whole day: on a busy channel the latter costs every
 * moderation event millions of rows. Counted from PostgreSQL's own EXPLAIN
 * ANALYZE of the statement `applyDeletions` runs: the table rows its scans
 * looked at, kept or filtered out. The planner took the wrong index for
 * these lookups whether or not the partition had statistics.
 */
import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { applyDeletions, type ChatRow, deletionStatement, insertChatRows } from "../../../src/services/repositories/chat.ts";
import { migratedDatabase, mustParse, privmsgLine, rowOf, sqlLayer } from "./chat-fixtures.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface PlanNode {
  readonly "Relation Name"?: string;
  readonly "Actual Rows"?: number;
  readonly "Actual Loops"?: number;
  readonly "Rows Removed by Filter"?: number;
  readonly "Rows Removed by Index Recheck"?: number;
  readonly Plans?: ReadonlyArray<PlanNode>;
}

// Rows the plan's scans of chat partitions produced or filtered out, over all their loops.
const chatRowsExamined = (node: PlanNode): number => {
  const own = node["Relation Name"]?.startsWith("chat_messages")
    ? ((node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0)) * (node["Actual Loops"] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + chatRowsExamined(child), 0);
};

const channelMessages = 20_000;
const chatters = 400;
// Within the last two hours, so all of them are inside a timeout's one-day reach.
const start = Date.now() - 2 * 60 * 60 * 1000;
const busyChannel: ReadonlyArray<ChatRow> = Array.from({ length: channelMessages }, (_, i) =>
  rowOf(mustParse(privmsgLine("busy", `Chatter${i % chatters}`, `message ${i}`, start + i * 300, `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`))),
);

// Runs the deletion statement under EXPLAIN ANALYZE; returns the chat rows its scans examined and the rows marked since.
const explainDeletion = (line: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const statement = deletionStatement(sql, [mustParse(line)]);
    if (statement === undefined) return assert.fail("not a deletion");
    const [text, params] = statement.compile();
    const [row] = yield* sql.unsafe<{ readonly "QUERY PLAN": ReadonlyArray<{ readonly Plan: PlanNode }> }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
      params,
    );
    const plan = row?.["QUERY PLAN"][0]?.Plan;
    if (plan === undefined) return assert.fail("no plan");
    const marked = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM chat_messages WHERE deleted_at IS NOT NULL`;
    return { examined: Math.round(chatRowsExamined(plan)), marked: marked[0]?.n ?? 0 };
  });

// Table rows that chat partitions handed out through their indexes and sequential
// scans so far, as PostgreSQL's statistics count them for this backend.
const chatRowsRead = Effect.gen(function* () {
  const sql = yield* SqlClient;
  // Statistics reach the shared counters once the backend is idle after this.
  yield* sql`SELECT pg_stat_force_next_flush()`;
  const [row] = yield* sql<{ readonly n: number }>`
    SELECT (coalesce(sum(idx_tup_fetch), 0) + coalesce(sum(seq_tup_read), 0))::int AS n
    FROM pg_stat_user_tables WHERE relname LIKE 'chat_messages_y%'`;
  return row?.n ?? 0;
});

describe("chat deletion lookups", () => {
  it.live(`a timeout and a deleted message read their author's rows, not the channel's ${channelMessages} of the day`, () =>
    Effect.gen(function* () {
      const database = yield* Effect.promise(() => migratedDatabase());
      cleanups.push(() => database.drop());
      yield* Effect.gen(function* () {
        for (let i = 0; i < busyChannel.length; i += 2_000) yield* insertChatRows(busyChannel.slice(i, i + 2_000), { keepRaw: false });
        const at = start + channelMessages * 300;

        // chatter7 wrote every 400th message: 50 of them.
        const timeout = yield* explainDeletion(`@ban-duration=600;room-id=1000;target-user-id=7;tmi-sent-ts=${at} :tmi.twitch.tv CLEARCHAT #busy :chatter7`);
        assert.strictEqual(timeout.marked, channelMessages / chatters);
        // Its 50 rows found, then updated through the key; through the deduplication key it read the channel's 20,000.
        assert.isBelow(timeout.examined, 500, `a timeout examined ${timeout.examined} rows`);

        const target = busyChannel[channelMessages - 3] as ChatRow;
        const deleted = yield* explainDeletion(
          `@login=${target.username};room-id=1000;target-msg-id=${target.msgId};tmi-sent-ts=${at} :tmi.twitch.tv CLEARMSG #busy :${target.text}`,
        );
        assert.strictEqual(deleted.marked, channelMessages / chatters + 1);
        assert.isBelow(deleted.examined, 500, `a deleted message examined ${deleted.examined} rows`);
      }).pipe(Effect.provide(sqlLayer(database.url, 1)));
    }), 60_000);

  it.live("timeouts keep to their author's rows after PostgreSQL planned them on a nearly empty month", () =>
    Effect.gen(function* () {
      const database = yield* Effect.promise(() => migratedDatabase());
      cleanups.push(() => database.drop());
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        yield* insertChatRows(busyChannel.slice(0, 400), { keepRaw: false });
        // No ANALYZE may replan the statement in between, as none would on a
        // database whose autovacuum is slow or off.
        const partitions = yield* sql<{ readonly name: string }>`
          SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'chat_messages'::regclass`;
        for (const { name } of partitions) yield* sql.unsafe(`ALTER TABLE ${name} SET (autovacuum_enabled = off)`);
        const timeouts = (chatters: ReadonlyArray<number>, at: number) =>
          applyDeletions(
            chatters.map((chatter) =>
              mustParse(`@ban-duration=600;room-id=1000;target-user-id=${chatter};tmi-sent-ts=${at + chatter} :tmi.twitch.tv CLEARCHAT #busy :chatter${chatter}`),
            ),
          );
        // Busy chat's batches carry a few dozen deletions each: the same
        // statement again and again, which PostgreSQL plans once for any
        // parameters (a generic plan, kept until the table's statistics
        // change) from its sixth run on, when that plan looks no dearer than
        // the ones it made for each run's own parameters.
        for (let run = 0; run < 8; run++) yield* timeouts(Array.from({ length: 20 }, (_, i) => run * 20 + i), start + 400 * 300);
        for (let i = 400; i < busyChannel.length; i += 2_000) yield* insertChatRows(busyChannel.slice(i, i + 2_000), { keepRaw: false });

        const at = start + channelMessages * 300;
        const readPerTimeout: Array<number> = [];
        for (const chatter of [200, 201, 202, 203]) {
          const before = yield* chatRowsRead;
          yield* timeouts([chatter], at);
          readPerTimeout.push((yield* chatRowsRead) - before);
        }
        const [marked] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM chat_messages WHERE deleted_at IS NOT NULL`;
        // The first 160 saw their chatter's first row, the last four all 50.
        assert.strictEqual(marked?.n, 160 + 4 * (channelMessages / chatters));
        // Each finds its 50 rows and marks them through the key: about 100
        // reads. Planned for an empty month, the marking hash-joined the whole
        // month's rows instead.
        for (const [i, read] of readPerTimeout.entries()) assert.isBelow(read, 500, `timeout ${i + 1} of the full month read ${read} rows (all: ${readPerTimeout.join(", ")})`);
      }).pipe(Effect.provide(sqlLayer(database.url, 1)));
    }), 60_000);
});
