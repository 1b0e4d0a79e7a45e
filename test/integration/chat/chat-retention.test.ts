import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { chatPartitionName, listChatPartitions } from "../../../src/services/chat-partitions.ts";
import { applyChatRetention } from "../../../src/services/chat-retention.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { countRows, mustParse, privmsgLine, rowOf, sqlLayer, wireLines } from "./chat-fixtures.ts";
import { cleanUp, database, tempDir } from "./chat-harness.ts";

afterEach(cleanUp);

describe("chat retention", () => {
  it.live("drops whole months older than the retention and keeps the rest; a dropped month comes back when chat for it arrives", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-retention-"));
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        const sql = yield* SqlClient;
        const old = wireLines.flatMap((l) => {
          try {
            const m = mustParse(l, 1_600_000_000_000);
            return m.sentAt < Date.UTC(2024, 0, 1) ? [m] : [];
          } catch {
            return [];
          }
        });
        for (const m of old) sink.offer(rowOf(m));
        const now = Date.now();
        const recent = Array.from({ length: 20 }, (_, i) => rowOf(mustParse(privmsgLine("keep", "Viewer", `still here ${i}`, now - i * 1000))));
        for (const r of recent) sink.offer(r);
        yield* sink.flush;
        const monthsBefore = (yield* listChatPartitions).map((p) => p.name);
        assert.include(monthsBefore, chatPartitionName(new Date(Date.UTC(2020, 6, 1))));

        assert.deepStrictEqual(yield* applyChatRetention(0), [], "off by default");
        const dropped = yield* applyChatRetention(30);
        assert.include(dropped, chatPartitionName(new Date(Date.UTC(2020, 6, 1))));
        const monthsAfter = (yield* listChatPartitions).map((p) => p.name);
        assert.include(monthsAfter, chatPartitionName(new Date(now)));
        for (const name of dropped) assert.notInclude(monthsAfter, name);
        const [{ oldest }] = (yield* sql<{ oldest: Date }>`SELECT min(abs_timestamp) AS oldest FROM chat_messages`) as [{ oldest: Date }];
        assert.isAbove(oldest.getTime(), now - 62 * 86_400_000);
        assert.deepStrictEqual(yield* countRows, { total: 20, ids: 20 }, "recent chat untouched");

        // History replayed later (recent-messages, an old journal) recreates its month instead of failing.
        sink.offer(rowOf(old[0]!));
        yield* sink.flush;
        assert.strictEqual(sink.stats().rejected, 0);
        assert.deepStrictEqual(yield* countRows, { total: 21, ids: 21 });
      }).pipe(Effect.provide(ChatSink.layer({ journalDirectory: dir }).pipe(Layer.orDie, Layer.provideMerge(sqlLayer(db.url)))));
    }));
});
