import { assert, layer } from "@effect/vitest";
import { Clock, Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import {
  chatPartitionName,
  dropChatPartitionsBefore,
  ensureChatPartitions,
  ensureChatPartitionsCovering,
  listChatPartitions,
} from "../../../src/services/chat-partitions.ts";
import { testDatabaseLayer } from "../../support/database.ts";

const insertAt = (msgId: string, at: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const rows = yield* sql<{ partition: string }>`
      INSERT INTO chat_messages (channel, msg_id, message, abs_timestamp)
      VALUES ('alpha', ${msgId}, 'hi', ${new Date(at)})
      RETURNING tableoid::regclass::text AS partition`;
    return rows[0]?.partition;
  });

// A wall clock stopped at `iso`; sleeping still takes real time. (TestClock
// would also stop the database client's own timers.)
const clockAt = (iso: string): Clock.Clock => {
  const live = Clock.Clock.defaultValue();
  const millis = new Date(iso).getTime();
  return {
    currentTimeMillisUnsafe: () => millis,
    currentTimeMillis: Effect.succeed(millis),
    currentTimeNanosUnsafe: () => BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.succeed(BigInt(millis) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: live.monotonicTimeNanos,
    sleep: (duration) => live.sleep(duration),
  };
};

layer(testDatabaseLayer(), { excludeTestServices: true })("chat partitions", (it) => {
  it.effect("names a partition after its UTC month", () =>
    Effect.sync(() => {
      assert.strictEqual(chatPartitionName(new Date("2026-03-31T23:59:59Z")), "chat_messages_y2026m03");
      assert.strictEqual(chatPartitionName(new Date("2026-04-01T00:00:00Z")), "chat_messages_y2026m04");
    }));

  it.effect("creates the months covering a range once, with month bounds", () =>
    Effect.gen(function* () {
      const created = yield* ensureChatPartitionsCovering(new Date("2020-01-15T10:00:00Z"), new Date("2020-03-02T00:00:00Z"));
      assert.deepStrictEqual(created, ["chat_messages_y2020m01", "chat_messages_y2020m02", "chat_messages_y2020m03"]);
      assert.deepStrictEqual(
        yield* ensureChatPartitionsCovering(new Date("2020-02-01T00:00:00Z"), new Date("2020-03-31T00:00:00Z")),
        [],
      );
      const february = (yield* listChatPartitions).find((partition) => partition.name === "chat_messages_y2020m02");
      assert.deepStrictEqual(
        [february?.from.toISOString(), february?.to.toISOString()],
        ["2020-02-01T00:00:00.000Z", "2020-03-01T00:00:00.000Z"],
      );
      assert.strictEqual(yield* insertAt("feb-last", "2020-02-29T23:59:59.999Z"), "chat_messages_y2020m02");
      assert.strictEqual(yield* insertAt("mar-first", "2020-03-01T00:00:00Z"), "chat_messages_y2020m03");
    }));

  it.effect("a new month takes chat_messages' statistics targets: none for texts, badges and emotes, an operator's own as set", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient;
      const targets = (partition: string) =>
        sql<{ column: string; target: number | null }>`
          SELECT attname AS column, attstattarget::int AS target FROM pg_attribute
          WHERE attrelid = ${partition}::regclass AND attname IN ('channel', 'username', 'message', 'badges', 'emotes', 'msg_params')
          ORDER BY attname`.pipe(Effect.map((rows) => Object.fromEntries(rows.map((r) => [r.column, r.target === null || r.target < 0 ? "default" : r.target]))));
      yield* sql`ALTER TABLE chat_messages ALTER COLUMN username SET STATISTICS 500`;
      const [created] = yield* ensureChatPartitionsCovering(new Date("2031-05-10T00:00:00Z"), new Date("2031-05-10T00:00:00Z"));
      // Read before the parent's target is reset: that reaches every partition.
      const taken = yield* targets("chat_messages_y2031m05").pipe(
        Effect.ensuring(sql`ALTER TABLE chat_messages ALTER COLUMN username SET STATISTICS -1`.pipe(Effect.orDie)),
      );
      assert.strictEqual(created, "chat_messages_y2031m05");
      assert.deepStrictEqual(taken, {
        badges: 0,
        channel: "default",
        emotes: 0,
        message: 0,
        msg_params: 0,
        username: 500,
      });
    }));

  it.effect("two callers at once create each month once", () =>
    Effect.gen(function* () {
      const range = [new Date("2021-05-01T00:00:00Z"), new Date("2021-08-01T00:00:00Z")] as const;
      const [a, b] = yield* Effect.all(
        [ensureChatPartitionsCovering(...range), ensureChatPartitionsCovering(...range)],
        { concurrency: 2 },
      );
      assert.deepStrictEqual([...a, ...b].sort(), [
        "chat_messages_y2021m05",
        "chat_messages_y2021m06",
        "chat_messages_y2021m07",
        "chat_messages_y2021m08",
      ]);
    }));

  it.effect("ensures the clock's month and the months ahead, across a year end", () =>
    Effect.gen(function* () {
      const created = yield* ensureChatPartitions(2);
      assert.deepStrictEqual(created, ["chat_messages_y2031m11", "chat_messages_y2031m12", "chat_messages_y2032m01"]);
      assert.deepStrictEqual(yield* ensureChatPartitions(2), []);
    }).pipe(Effect.provideService(Clock.Clock, clockAt("2031-11-20T12:00:00Z"))));

  it.effect("retention drops whole months that ended before the cut-off, with their rows", () =>
    Effect.gen(function* () {
      yield* ensureChatPartitionsCovering(new Date("2019-10-01T00:00:00Z"), new Date("2019-12-01T00:00:00Z"));
      yield* insertAt("oct", "2019-10-10T00:00:00Z");
      yield* insertAt("nov", "2019-11-30T23:00:00Z");
      yield* insertAt("dec", "2019-12-05T00:00:00Z");
      const dropped = yield* dropChatPartitionsBefore(new Date("2019-12-01T00:00:00Z"));
      assert.deepStrictEqual(dropped, ["chat_messages_y2019m10", "chat_messages_y2019m11"]);
      const names = (yield* listChatPartitions).map((partition) => partition.name);
      assert.notInclude(names, "chat_messages_y2019m11");
      assert.include(names, "chat_messages_y2019m12");
      assert.include(names, chatPartitionName(new Date()));
      const sql = yield* SqlClient;
      const left = yield* sql<{ msg_id: string }>`
        SELECT msg_id FROM chat_messages WHERE msg_id IN ('oct', 'nov', 'dec') ORDER BY msg_id`;
      assert.deepStrictEqual(left, [{ msg_id: "dec" }]);
      // A cut-off inside December keeps December whole.
      assert.deepStrictEqual(yield* dropChatPartitionsBefore(new Date("2019-12-15T00:00:00Z")), []);
    }));
});
