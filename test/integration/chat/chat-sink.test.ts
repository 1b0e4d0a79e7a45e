import { assert, describe, it } from "@effect/vitest";
import { Effect, Fiber, Layer } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { ChatSink, type ChatSinkOptions } from "../../../src/services/chat-sink.ts";
import type { TestDatabase } from "../../support/database.ts";
import { countRows, migratedDatabase, mustParse, privmsgLine, rowOf, sqlLayer, wireLines } from "./chat-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const setup = async (options?: { readonly proxy?: boolean }) => {
  const database: TestDatabase = await migratedDatabase();
  cleanups.push(() => database.drop());
  const dir = await mkdtemp(join(tmpdir(), "chat-sink-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let proxy: TcpProxy | undefined;
  let url = database.url;
  if (options?.proxy) {
    const u = new URL(database.url);
    proxy = await startTcpProxy(u.hostname, Number(u.port));
    cleanups.push(() => proxy?.close() ?? Promise.resolve());
    url = proxy.via(database.url);
  }
  return { database, dir, proxy, url, checkSql: sqlLayer(database.url, 1) };
};

const sinkLayer = (url: string, options: ChatSinkOptions) => ChatSink.layer(options).pipe(Layer.provideMerge(sqlLayer(url)));

const now = Date.now();
const generated = (n: number, channel = "alpha", start = now) =>
  Array.from({ length: n }, (_, i) => rowOf(mustParse(privmsgLine(channel, `User${i % 37}`, `message number ${i}`, start + i))));

describe("ChatSink", () => {
  it.live("stores every offered row once, and offering them again stores nothing", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const rows = generated(2_500);
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (const row of rows) sink.offer(row);
        yield* sink.flush;
        for (const row of rows.slice(0, 1_000)) sink.offer(row);
        yield* sink.flush;
        const stats = sink.stats();
        assert.strictEqual(stats.stored, 2_500);
        assert.strictEqual(stats.duplicates, 1_000);
        assert.strictEqual(stats.mode, "direct");
        const counts = yield* countRows;
        assert.deepStrictEqual(counts, { total: 2_500, ids: 2_500 });
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir })));
    }));

  it.live("a batch that repeats stored rows, holds a row twice and deletes one of them stores each message once and applies the deletion", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const t = now - 30_000;
      const stored = mustParse(privmsgLine("delta", "Carol", "already here", t));
      const fresh = mustParse(privmsgLine("delta", "Dave", "new one", t + 1));
      const clearStored = mustParse(`@login=carol;room-id=;target-msg-id=${stored.msgId};tmi-sent-ts=${t + 5} :tmi.twitch.tv CLEARMSG #delta :already here`);
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        sink.offer(rowOf(stored));
        yield* sink.flush;
        // One batch: the plain INSERT is refused by the key, and the batch is written again skipping what is stored.
        for (const m of [stored, fresh, fresh, clearStored]) sink.offer(rowOf(m));
        yield* sink.flush;
        const stats = sink.stats();
        assert.strictEqual(stats.stored, 3, "the first row, the new message and the CLEARMSG");
        assert.strictEqual(stats.duplicates, 2);
        assert.strictEqual(stats.rejected, 0);
        const sql = yield* SqlClient;
        const rows = yield* sql<{ kind: string; message: string; deleted_at: Date | null }>`
          SELECT kind, message, deleted_at FROM chat_messages ORDER BY abs_timestamp`;
        assert.deepStrictEqual(
          rows.map((r) => [r.kind, r.message, r.deleted_at?.getTime() ?? null]),
          [
            ["PRIVMSG", "already here", t + 5],
            ["PRIVMSG", "new one", null],
            ["CLEARMSG", "already here", null],
          ],
        );
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, writers: 1 })));
    }));

  it.live("stores the wire capture's chat events with their own ids, creating the months they need", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const messages = wireLines.map((l) => mustParseOrUndefined(l)).filter((m) => m !== undefined);
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (const m of messages) sink.offer(rowOf(m));
        yield* sink.flush;
        const sql = yield* SqlClient;
        const stored = yield* sql<{ channel: string; msg_id: string; kind: string; username: string | null; message: string }>`
          SELECT channel, msg_id, kind, username, message FROM chat_messages`;
        // A message is its channel, id and sent time; the capture reuses a few ids across fixtures.
        const distinct = new Map(messages.map((m) => [`${m.channel}|${m.msgId}|${m.sentAt}`, m]));
        assert.strictEqual(stored.length, distinct.size);
        const byId = new Map(stored.map((r) => [`${r.channel}|${r.msg_id}`, r]));
        for (const m of distinct.values()) {
          const row = byId.get(`${m.channel}|${m.msgId}`);
          assert.isDefined(row, m.raw);
          assert.strictEqual(row?.kind, m.kind);
        }
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir })));
    }));

  it.live("marks messages deleted by CLEARMSG and CLEARCHAT, in the same batch and across batches", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const t = now - 60_000;
      const a1 = mustParse(privmsgLine("beta", "Alice", "first", t));
      const a2 = mustParse(privmsgLine("beta", "Alice", "second", t + 1));
      const b1 = mustParse(privmsgLine("beta", "Bob", "hello", t + 2));
      const c1 = mustParse(privmsgLine("gamma", "Alice", "other channel", t + 3));
      const clearMsg = mustParse(`@login=bob;room-id=;target-msg-id=${b1.msgId};tmi-sent-ts=${t + 10} :tmi.twitch.tv CLEARMSG #beta :hello`);
      const timeout = mustParse(`@ban-duration=60;room-id=1;target-user-id=${a1.userId};tmi-sent-ts=${t + 20} :tmi.twitch.tv CLEARCHAT #beta :alice`);
      // A second event reaching the same rows in the same batch: the first one's time stays.
      const clearBeta = mustParse(`@room-id=1;tmi-sent-ts=${t + 25} :tmi.twitch.tv CLEARCHAT #beta`);
      const later = mustParse(privmsgLine("beta", "Alice", "after the timeout", t + 30));
      const clearAll = mustParse(`@room-id=1;tmi-sent-ts=${t + 40} :tmi.twitch.tv CLEARCHAT #gamma`);
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (const m of [a1, a2, b1, c1, clearMsg]) sink.offer(rowOf(m));
        yield* sink.flush;
        for (const m of [timeout, clearBeta, later, clearAll]) sink.offer(rowOf(m));
        yield* sink.flush;
        const sql = yield* SqlClient;
        const rows = yield* sql<{ message: string; deleted_at: Date | null; kind: string }>`
          SELECT message, deleted_at, kind FROM chat_messages ORDER BY abs_timestamp`;
        const deleted = Object.fromEntries(rows.map((r) => [`${r.kind}:${r.message}`, r.deleted_at?.getTime() ?? null]));
        assert.deepStrictEqual(deleted, {
          "PRIVMSG:first": t + 20,
          "PRIVMSG:second": t + 20,
          "PRIVMSG:hello": t + 10,
          "PRIVMSG:other channel": t + 40,
          "CLEARMSG:hello": null,
          "CLEARCHAT:": null,
          "PRIVMSG:after the timeout": null,
        });
        assert.strictEqual(rows.length, 9, "deletions mark rows, never remove them");
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir })));
    }));

  // A message `channel` sent at `sentAt` (tmi-sent-ts), received now.
  const chatAt = (channel: string, i: number, sentAt: number) =>
    rowOf(mustParse(privmsgLine(channel, `User${i % 37}`, `message number ${i}`, Math.round(sentAt))));
  const slowDatabaseSink = (url: string, dir: string, maxBufferedRows?: number) =>
    sinkLayer(url, {
      journalDirectory: dir,
      batchSize: 50,
      writers: 1,
      highWaterRows: 200,
      ...(maxBufferedRows === undefined ? {} : { maxBufferedRows }),
      readOnBehindMs: 300,
      readOnAfterMs: 60_000,
      retryMinMs: 50,
      retryMaxMs: 200,
    });

  // Chat at 2,000 messages a second from `start`, offered as a chat socket
  // would: as fast as it is read, waiting while the sink asks it to. Returns
  // the most rows the sink held at once.
  const chatFallingBehind = (channel: string, total: number) =>
    Effect.gen(function* () {
      const sink = yield* ChatSink;
      const start = Date.now();
      let peak = 0;
      for (let i = 0; i < total; i++) {
        const accepted = sink.offer(chatAt(channel, i, start + i / 2));
        peak = Math.max(peak, sink.stats().buffered);
        if (!accepted) yield* Effect.promise(() => sink.whenWritable());
      }
      return peak;
    });

  it.live("lets held-back producers that fall behind chat read on into memory up to its bound, sends batches to the journal near it, and stores every row once", () =>
    Effect.gen(function* () {
      const { url, dir, proxy } = yield* Effect.promise(() => setup({ proxy: true }));
      const total = 3_000;
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        sink.offer(chatAt("omega", 0, Date.now()));
        yield* sink.flush;
        // A database that takes every batch, but slower than chat comes: a reader let
        // go at the low-water mark fills the buffer again at once and keeps falling behind.
        proxy?.slow(40);
        const peak = yield* chatFallingBehind("omega", total);
        assert.isAbove(peak, 200, "the producer read on past the high-water mark");
        assert.isAtMost(peak, 600, "and was held back again at the bound");
        yield* sink.flush;
        assert.isAbove(sink.stats().journaled, 0, "the buffer past its bound went to the journal");
        proxy?.slow(0);
        yield* sink.drain;
        const stats = sink.stats();
        assert.strictEqual(stats.journalRows, 0);
        assert.strictEqual(stats.mode, "direct");
        assert.strictEqual(stats.rejected, 0);
        assert.deepStrictEqual(yield* countRows, { total: total + 1, ids: total + 1 });
      }).pipe(Effect.provide(slowDatabaseSink(url, dir, 600)));
    }));

  it.live("producers that fell behind while the database was slow read on into memory, and all of it goes to the database once it catches up", () =>
    Effect.gen(function* () {
      const { url, dir, proxy } = yield* Effect.promise(() => setup({ proxy: true }));
      const total = 3_000;
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        sink.offer(chatAt("sigma", 0, Date.now()));
        yield* sink.flush;
        proxy?.slow(40);
        const peak = yield* chatFallingBehind("sigma", total);
        assert.isAbove(peak, 200, "the producer read on past the high-water mark");
        proxy?.slow(0);
        yield* sink.flush;
        const stats = sink.stats();
        assert.strictEqual(stats.journaled, 0, "nothing went to the journal");
        assert.strictEqual(stats.mode, "direct");
        assert.strictEqual(stats.stored, total + 1);
        assert.isFalse(sink.saturated());
        assert.deepStrictEqual(yield* countRows, { total: total + 1, ids: total + 1 });
      }).pipe(Effect.provide(slowDatabaseSink(url, dir)));
    }));

  it.live("keeps writing to the database when producers are held back without falling behind", () =>
    Effect.gen(function* () {
      const { url, dir, proxy } = yield* Effect.promise(() => setup({ proxy: true }));
      const total = 1_000;
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        sink.offer(chatAt("psi", 0, Date.now()));
        yield* sink.flush;
        proxy?.slow(40);
        // Each message is sent the moment it is read, as when a burst is what fills the buffer.
        for (let i = 1; i < total; i++) {
          if (!sink.offer(chatAt("psi", i, Date.now()))) yield* Effect.promise(() => sink.whenWritable());
        }
        proxy?.slow(0);
        yield* sink.flush;
        const stats = sink.stats();
        assert.strictEqual(stats.journaled, 0, "nothing went to the journal");
        assert.strictEqual(stats.stored, total);
        assert.deepStrictEqual(yield* countRows, { total, ids: total });
      }).pipe(Effect.provide(slowDatabaseSink(url, dir)));
    }));

  it.live("journals while the database is away and replays in order when it returns", () =>
    Effect.gen(function* () {
      const { url, dir, proxy, checkSql } = yield* Effect.promise(() => setup({ proxy: true }));
      const before = generated(500, "delta", now);
      const during = generated(3_000, "delta", now + 10_000);
      const target = during[10] as (typeof during)[number];
      const clearMsg = rowOf(
        // Twitch's CLEARMSG names the deleted message's author in `login`.
        mustParse(`@login=${target.username};room-id=;target-msg-id=${target.msgId};tmi-sent-ts=${now + 20_000} :tmi.twitch.tv CLEARMSG #delta :x`),
      );
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (const row of before) sink.offer(row);
        yield* sink.flush;
        proxy?.cut();
        for (const row of during) sink.offer(row);
        sink.offer(clearMsg);
        yield* sink.flush;
        assert.strictEqual(sink.stats().mode, "journal");
        assert.isAbove(sink.stats().journalRows, 0);
        assert.isNotEmpty((yield* Effect.promise(() => readdir(dir))).filter((f) => f.endsWith(".ndjson")));
        proxy?.restore();
        yield* sink.drain;
        const stats = sink.stats();
        assert.strictEqual(stats.journalRows, 0);
        assert.strictEqual(stats.mode, "direct");
        assert.strictEqual(stats.rejected, 0);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, retryMinMs: 50, retryMaxMs: 200, insertTimeoutMs: 2_000 })));
      yield* Effect.gen(function* () {
        assert.deepStrictEqual(yield* countRows, { total: 3_501, ids: 3_501 });
        const sql = yield* SqlClient;
        const [row] = yield* sql<{ deleted: boolean }>`SELECT deleted_at IS NOT NULL AS deleted FROM chat_messages WHERE msg_id = ${target.msgId}`;
        assert.isTrue(row?.deleted, "a deletion journaled after its message is applied on replay");
      }).pipe(Effect.provide(checkSql));
      assert.deepStrictEqual((yield* Effect.promise(() => readdir(dir))).filter((f) => f.endsWith(".ndjson") && f !== "rejected.ndjson"), []);
    }));

  it.live("goes back to writing directly once the database is back, although chat never stops arriving", () =>
    Effect.gen(function* () {
      const { url, dir, proxy } = yield* Effect.promise(() => setup({ proxy: true }));
      // 40 rows every 10 ms (about 4,000 a second) from 20 channels, for as long as the test runs.
      let sent = 0;
      const produce = Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (;;) {
          for (let i = 0; i < 40; i++, sent++) sink.offer(rowOf(mustParse(privmsgLine(`stream${sent % 20}`, `User${sent % 53}`, `steady ${sent}`, now + sent))));
          yield* Effect.sleep("10 millis");
        }
      });
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        const producer = yield* Effect.forkScoped(produce);
        yield* Effect.sleep("300 millis");
        proxy?.cut();
        yield* Effect.sleep("1500 millis");
        assert.strictEqual(sink.stats().mode, "journal");
        proxy?.restore();
        let waited = 0;
        while (sink.stats().mode === "journal" && waited < 15_000) {
          yield* Effect.sleep("100 millis");
          waited += 100;
        }
        assert.strictEqual(sink.stats().mode, "direct", `still journaling ${waited} ms after the database came back, ${sink.stats().journalRows} rows in the journal`);
        const journaledBefore = sink.stats().journaled;
        yield* Effect.sleep("1 second");
        assert.strictEqual(sink.stats().journaled, journaledBefore, "new rows go to the database, not the journal");
        yield* Fiber.interrupt(producer);
        yield* sink.drain;
        // A batch whose commit outlived the insert timeout is journaled too, and counted a duplicate on replay.
        const { stored, duplicates } = sink.stats();
        assert.strictEqual(stored + duplicates, sent);
        assert.deepStrictEqual(yield* countRows, { total: sent, ids: sent });
      }).pipe(
        Effect.scoped,
        Effect.provide(sinkLayer(url, { journalDirectory: dir, retryMinMs: 50, retryMaxMs: 200, insertTimeoutMs: 1_000, flushIntervalMs: 50 })),
      );
    }));

  it.live("writes the buffer out when it closes, and a journal left by a previous run is replayed at start", () =>
    Effect.gen(function* () {
      const { url, dir, proxy, checkSql } = yield* Effect.promise(() => setup({ proxy: true }));
      const first = generated(1_200, "epsilon", now);
      // A long interval: nothing is written before the sink closes.
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        for (const row of first) sink.offer(row);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, flushIntervalMs: 60_000, batchSize: 5_000 })));
      assert.deepStrictEqual(yield* countRows.pipe(Effect.provide(checkSql)), { total: 1_200, ids: 1_200 });

      // Closing while the database is away leaves the rows in the journal...
      const second = generated(800, "epsilon", now + 5_000);
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        proxy?.cut();
        for (const row of second) sink.offer(row);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, flushIntervalMs: 60_000, batchSize: 5_000, insertTimeoutMs: 1_000 })), Effect.orDie);
      proxy?.restore();
      assert.deepStrictEqual(yield* countRows.pipe(Effect.provide(checkSql)), { total: 1_200, ids: 1_200 });

      // ...and the next sink replays them.
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        assert.strictEqual(sink.stats().journalRows, 800);
        yield* sink.drain;
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, retryMinMs: 20 })));
      assert.deepStrictEqual(yield* countRows.pipe(Effect.provide(checkSql)), { total: 2_000, ids: 2_000 });
    }));

  it.live("reports pressure above its high-water mark and frees producers once written", () =>
    Effect.gen(function* () {
      const { url, dir } = yield* Effect.promise(() => setup());
      const rows = generated(3_000, "zeta");
      yield* Effect.gen(function* () {
        const sink = yield* ChatSink;
        const accepted = rows.map((row) => sink.offer(row));
        assert.isTrue(accepted[0]);
        assert.isFalse(accepted[2_999], "over the high-water mark");
        assert.isTrue(sink.saturated());
        yield* Effect.promise(() => sink.whenWritable());
        assert.isFalse(sink.saturated());
        yield* sink.flush;
        assert.strictEqual(sink.stats().stored, 3_000);
      }).pipe(Effect.provide(sinkLayer(url, { journalDirectory: dir, highWaterRows: 1_000, batchSize: 500 })));
    }));
});

const mustParseOrUndefined = (line: string) => {
  try {
    return mustParse(line, now);
  } catch {
    return undefined;
  }
};
