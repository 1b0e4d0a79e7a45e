import { assert, describe, it } from "@effect/vitest";
import { Effect, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { readdir } from "node:fs/promises";
import { afterEach } from "vitest";
import { parseChatLine } from "../../../src/services/chat-message.ts";
import { ChatRecorder } from "../../../src/services/chat-recorder.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { connectPgClient, runMigrations } from "../../../src/services/database.ts";
import { chatStack, cleanUp, cleanups, simulatorWith, tempDir } from "./chat-harness.ts";
import { eventually } from "./eventually.ts";
import { startOwnPostgres } from "./own-postgres.ts";

afterEach(cleanUp);

const chatCommands = ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"];

describe("chat while the database is away", () => {
  it.live(
    "the database stopped for 20 s mid-stream: afterwards every message is there once and the journal is empty",
    () =>
      Effect.gen(function* () {
        const pg = yield* Effect.promise(startOwnPostgres);
        cleanups.push(pg.destroy);
        yield* Effect.gen(function* () {
          const client = yield* connectPgClient(Redacted.make(pg.url), { maxConnections: 1 });
          yield* runMigrations().pipe(Effect.provideService(SqlClient, client));
        }).pipe(Effect.scoped, Effect.provide(Reactivity.layer), Effect.orDie);
        const channels = ["outage_a", "outage_b"];
        const sim = yield* Effect.promise(() => simulatorWith(channels.map((login) => ({ login, chat: { rate: 150, chatters: 50 } }))));
        const journal = yield* Effect.promise(() => tempDir("chat-outage-"));
        yield* Effect.gen(function* () {
          const recorder = yield* ChatRecorder;
          const sink = yield* ChatSink;
          const recordings = [];
          for (const channel of channels) {
            const recording = yield* recorder.record(channel);
            yield* eventually(() => recording.status().joined);
            recordings.push(recording);
          }
          const startSeq = sim.state().linesSent;
          for (const [i, channel] of channels.entries()) {
            sim.setLive(channel, true);
            const live = sim.state().channels.find((c) => c.login === channel)!.live!;
            yield* recordings[i]!.attach(yield* recorder.beginStream(channel, { streamId: live.streamId, title: live.title, startedAt: new Date(live.startedAt) }));
          }
          yield* Effect.sleep("2 seconds");
          yield* Effect.promise(pg.stop);
          yield* Effect.sleep("20 seconds");
          assert.strictEqual(sink.stats().mode, "journal", "chat went to the journal while the database was away");
          assert.isAbove(sink.stats().journalRows, 1_000);
          yield* Effect.promise(pg.start);
          yield* Effect.sleep("2 seconds");
          for (const channel of channels) sim.setLive(channel, false);
          yield* Effect.sleep("300 millis");
          yield* sink.drain.pipe(Effect.timeout("60 seconds"));

          const sent = sim.sentLines(undefined, startSeq).filter((l) => channels.includes(l.channel) && chatCommands.includes(l.command));
          assert.isTrue(sent.every((l) => l.receivers === 1));
          const expected = new Set(sent.map((l) => { const m = parseChatLine(l.line, l.at)!; return `${m.msgId}|${m.sentAt}`; }));
          const sql = yield* SqlClient;
          const rows = yield* sql<{ msg_id: string; ts: number }>`
            SELECT msg_id, (EXTRACT(EPOCH FROM abs_timestamp) * 1000)::float8 AS ts FROM chat_messages`;
          const stored = rows.map((r) => `${r.msg_id}|${Math.round(r.ts)}`);
          assert.strictEqual(new Set(stored).size, stored.length, "none stored twice");
          assert.strictEqual(stored.length, expected.size, "every message stored");
          for (const key of stored) assert.isTrue(expected.has(key), key);
          assert.strictEqual(sink.stats().journalRows, 0);
          assert.strictEqual(sink.stats().rejected, 0);
          assert.deepStrictEqual((yield* Effect.promise(() => readdir(journal))).filter((f) => f.endsWith(".ndjson")), [], "journal empty");
        }).pipe(
          Effect.scoped,
          Effect.provide(chatStack(sim, pg.url, journal, { sink: { retryMinMs: 100, retryMaxMs: 1_000, insertTimeoutMs: 3_000 } })),
        );
      }),
    { timeout: 180_000 },
  );
});
