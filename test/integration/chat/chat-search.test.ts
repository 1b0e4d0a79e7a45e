import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { chatSearchVector, searchChat, vodChatWindow } from "../../../src/services/chat-search.ts";
import { mustParse, privmsgLine, rowOf, sqlLayer } from "./chat-fixtures.ts";
import { cleanUp, database, tempDir } from "./chat-harness.ts";

afterEach(cleanUp);

const t0 = Date.UTC(2026, 2, 14, 18, 0, 0);

/** Two channels' chat, one VOD each, with a phrase said in both and near-misses around it. */
const seed = Effect.gen(function* () {
  const sql = yield* SqlClient;
  const [a] = yield* sql<{ id: number }>`INSERT INTO vods (channel, twitch_vod_id, stream_id, date) VALUES ('north', '900001', 's-north', ${new Date(t0)}) RETURNING id`;
  const [b] = yield* sql<{ id: number }>`INSERT INTO vods (channel, twitch_vod_id, stream_id, date) VALUES ('south', '900002', 's-south', ${new Date(t0)}) RETURNING id`;
  const sink = yield* ChatSink;
  const say = (channel: string, vodId: number, user: string, text: string, secondsIn: number) =>
    sink.offer(rowOf(mustParse(privmsgLine(channel, user, text, t0 + secondsIn * 1000)), { vodId, streamId: `s-${channel}`, relTimestamp: secondsIn }));
  say("north", a!.id, "Alice", "the dragon was slain at last", 10);
  say("north", a!.id, "Bob", "dragon slain? the dragon was slain at last! the dragon was slain at last!", 20);
  say("north", a!.id, "Carol", "slain was the dragon, not at last", 30);
  say("south", b!.id, "Dave", "I heard the dragon was slain at last", 40);
  say("south", b!.id, "Erin", "nothing to see here", 50);
  for (let i = 0; i < 200; i++) say("south", b!.id, `Filler${i % 7}`, `chatter number ${i} about lunch`, 60 + i);
  yield* sink.flush;
  return { north: a!.id, south: b!.id };
});

const layer = (url: string, dir: string) => ChatSink.layer({ journalDirectory: dir }).pipe(Layer.orDie, Layer.provideMerge(sqlLayer(url)));

describe("chat search", () => {
  it.live("finds a phrase across two channels, ranked, and not words in another order", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-search-"));
      yield* Effect.gen(function* () {
        const vods = yield* seed;
        const page = yield* searchChat({ text: '"the dragon was slain at last"' });
        assert.deepStrictEqual(page.hits.map((h) => h.username).sort(), ["alice", "bob", "dave"]);
        assert.deepStrictEqual([...new Set(page.hits.map((h) => h.channel))].sort(), ["north", "south"]);
        assert.strictEqual(page.hits[0]?.username, "bob", "said twice: ranked first");
        assert.isFalse(page.hasMore);
        assert.isAbove(page.hits[0]!.rank, page.hits[2]!.rank);

        const words = yield* searchChat({ text: "dragon slain" });
        assert.include(words.hits.map((h) => h.username), "carol", "without quotes the words may come in any order");

        const south = yield* searchChat({ text: '"dragon was slain"', channels: ["south"] });
        assert.deepStrictEqual(south.hits.map((h) => [h.username, h.vodId, h.relTimestamp]), [["dave", vods.south, 40]]);
        const byUser = yield* searchChat({ text: "dragon", user: "Alice" });
        assert.deepStrictEqual(byUser.hits.map((h) => h.username), ["alice"]);
        const byVod = yield* searchChat({ text: "dragon", vodId: vods.north });
        assert.strictEqual(byVod.hits.length, 3);
        const byTime = yield* searchChat({ text: "dragon", from: new Date(t0 + 15_000), to: new Date(t0 + 35_000) });
        assert.deepStrictEqual(byTime.hits.map((h) => h.username).sort(), ["bob", "carol"]);
        const excluded = yield* searchChat({ text: "dragon -heard" });
        assert.notInclude(excluded.hits.map((h) => h.username), "dave");
      }).pipe(Effect.provide(layer(db.url, dir)));
    }));

  it.live("a text search reads the search index, not every row", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-search-"));
      yield* Effect.gen(function* () {
        yield* seed;
        const sql = yield* SqlClient;
        // With sequential scans priced out, a condition the index does not match still plans as one.
        const plan = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`SET LOCAL enable_seqscan = off`;
            const lines = yield* sql<{ "QUERY PLAN": string }>`
              EXPLAIN SELECT msg_id FROM chat_messages WHERE ${sql.literal(chatSearchVector)} @@ websearch_to_tsquery('simple', 'dragon')`;
            return lines.map((l) => l["QUERY PLAN"]).join("\n");
          }),
        );
        assert.match(plan, /Bitmap Index Scan/, plan);
        assert.notMatch(plan, /Seq Scan/, plan);
      }).pipe(Effect.provide(layer(db.url, dir)));
    }));

  it.live("pages through many hits, and lists the newest messages when there is no query text", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-search-"));
      yield* Effect.gen(function* () {
        yield* seed;
        const seen = new Set<string>();
        let offset = 0;
        for (;;) {
          const page = yield* searchChat({ text: "lunch", limit: 30, offset });
          for (const h of page.hits) seen.add(h.msgId);
          if (!page.hasMore) break;
          offset += 30;
        }
        assert.strictEqual(seen.size, 200, "every hit once across pages");
        const newest = yield* searchChat({ text: "", channels: ["south"], limit: 1 });
        assert.strictEqual(newest.hits[0]?.message, "chatter number 199 about lunch");
        const bad = yield* searchChat({ text: "x", from: new Date(t0 + 1000), to: new Date(t0) }).pipe(Effect.flip);
        assert.strictEqual(bad._tag, "ChatSearchError");
      }).pipe(Effect.provide(layer(db.url, dir)));
    }));

  it.live("reads a VOD's messages by time window, with its gaps", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-search-"));
      yield* Effect.gen(function* () {
        const vods = yield* seed;
        const sql = yield* SqlClient;
        yield* sql`INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, ended_at, reason)
          VALUES ('south', ${vods.south}, 's-south', ${new Date(t0 + 45_000)}, ${new Date(t0 + 47_000)}, 'disconnect')`;
        const window = yield* vodChatWindow(vods.south, { fromSeconds: 40, toSeconds: 62 });
        assert.deepStrictEqual(window.messages.map((m) => m.rel_timestamp), [40, 50, 60, 61]);
        assert.deepStrictEqual(window.gaps.map((g) => g.reason), ["disconnect"]);
      }).pipe(Effect.provide(layer(db.url, dir)));
    }));
});
