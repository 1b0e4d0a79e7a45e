import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { type ChatMessage, chatKinds, parseChatLine } from "../../../src/services/chat-message.ts";
import { ChatRecorder, type ChannelRecording } from "../../../src/services/chat-recorder.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import type { StoredChatRow } from "../../../src/services/repositories/chat.ts";
import { storedChatColumns } from "../../../src/services/repositories/chat.ts";
import { wireLines } from "./chat-fixtures.ts";
import { chatStack, cleanUp, database, simulatorWith, tempDir } from "./chat-harness.ts";
import { eventually, eventuallyEffect } from "./eventually.ts";

afterEach(cleanUp);

const stored = Effect.gen(function* () {
  const sql = yield* SqlClient;
  return yield* sql<StoredChatRow>`SELECT ${sql.literal(storedChatColumns)} FROM chat_messages`;
});

const countStored = Effect.gen(function* () {
  const sql = yield* SqlClient;
  const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM chat_messages`;
  return row?.n ?? 0;
});

const recordAll = (channels: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const recorder = yield* ChatRecorder;
    const recordings: ChannelRecording[] = [];
    for (const channel of channels) recordings.push(yield* recorder.record(channel));
    yield* eventually(() => recordings.every((r) => r.status().joined), 20_000, "every channel joined");
    return recordings;
  });

/** The stored row must say what the line says. */
const assertRowMatches = (row: StoredChatRow | undefined, m: ChatMessage, context: string) => {
  assert.isDefined(row, `not stored: ${context}`);
  if (row === undefined) return;
  assert.strictEqual(row.kind, m.kind, context);
  assert.strictEqual(row.channel, m.channel, context);
  assert.strictEqual(row.username, m.username, context);
  assert.strictEqual(row.user_id, m.userId, context);
  assert.strictEqual(row.display_name, m.displayName, context);
  assert.strictEqual(row.message, m.text, context);
  assert.strictEqual(row.is_action, m.isAction, context);
  assert.strictEqual(row.first_msg, m.firstMessage, context);
  assert.strictEqual(row.bits, m.bits, context);
  assert.strictEqual(row.color, m.color, context);
  assert.strictEqual(row.system_message, m.systemMessage, context);
  assert.strictEqual(row.reply_parent_msg_id, m.replyParentMsgId, context);
  assert.deepStrictEqual(row.badges ?? [], m.badges, context);
  assert.deepStrictEqual(row.emotes ?? [], m.emotes, context);
  assert.deepStrictEqual(row.msg_params, m.params, context);
};

describe("ChatRecorder", () => {
  it.live("stores every chat event of the real Twitch capture, replayed through the simulator, with its id, user, text and kind", () =>
    Effect.gen(function* () {
      const chatLines = wireLines.filter((l) => parseChatLine(l, 0) !== undefined);
      const channels = [...new Set(chatLines.map((l) => parseChatLine(l, 0)?.channel as string))];
      const sim = yield* Effect.promise(() => simulatorWith(channels));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-recorder-"));
      yield* Effect.gen(function* () {
        yield* recordAll(channels);
        // Every line of the capture goes out, chat or not (NOTICEs, ROOMSTATEs, JOINs...), each to the channel it names.
        const replay = sim.replayLines(wireLines, { rate: 0 });
        yield* Effect.promise(() => replay.done);
        const expected = new Map<string, ChatMessage>();
        for (const line of chatLines) {
          const m = parseChatLine(line, 0) as ChatMessage;
          // A message is its channel, id and sent time; the capture repeats a few fixtures' ids
          // (once in the same channel, once in another channel, which is a message of its own there).
          const key = m.sentAt === 0 ? `${m.channel}|${m.msgId}` : `${m.channel}|${m.msgId}|${m.sentAt}`;
          if (!expected.has(key)) expected.set(key, m);
        }
        yield* eventuallyEffect(Effect.map(countStored, (n) => n >= expected.size), 20_000, "the capture stored");
        const rows = yield* stored;
        assert.strictEqual(rows.length, expected.size, "nothing extra, nothing twice");
        const byKey = new Map(rows.map((r) => [`${r.channel}|${r.msg_id}|${r.abs_timestamp.getTime()}`, r]));
        const byId = new Map(rows.map((r) => [`${r.channel}|${r.msg_id}`, r]));
        for (const [key, m] of expected) {
          const row = m.sentAt === 0 ? byId.get(key) : byKey.get(key);
          assertRowMatches(row, m, m.raw);
        }
        const kinds = new Set(rows.map((r) => r.kind));
        assert.deepStrictEqual([...kinds].sort(), [...chatKinds].sort());
        const clearMsg = rows.find((r) => r.kind === "CLEARMSG" && r.username === "alazymeme");
        assert.strictEqual(clearMsg?.msg_params?.["target-msg-id"], "3c92014f-340a-4dc3-a9c9-e5cf182f4a84");
        assert.strictEqual(clearMsg?.message, "NIGHT CUNT");
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("stores every generated message exactly once, with tags, emotes, actions, notices and deletions", () =>
    Effect.gen(function* () {
      const channels = ["busy_one", "busy_two", "busy_three"];
      const sim = yield* Effect.promise(() =>
        simulatorWith(channels.map((login) => ({ login, chat: { rate: 400, chatters: 40, mix: { timeout: 3, ban: 1, delete: 4, clear: 0.2 } } }))),
      );
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-recorder-"));
      yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const recordings = yield* recordAll(channels);
        const startSeq = sim.state().linesSent;
        for (const [i, channel] of channels.entries()) {
          sim.setLive(channel, true, { title: `stream ${channel}` });
          const live = sim.state().channels.find((c) => c.login === channel)?.live;
          const target = yield* recorder.beginStream(channel, { streamId: live!.streamId, title: live!.title, startedAt: new Date(live!.startedAt) });
          yield* recordings[i]!.attach(target);
        }
        yield* Effect.sleep("3 seconds");
        for (const channel of channels) sim.setLive(channel, false);
        yield* Effect.sleep("300 millis");
        const sent = sim.sentLines(undefined, startSeq).filter((l) => channels.includes(l.channel) && ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"].includes(l.command));
        assert.isAbove(sent.length, 2_000);
        assert.isTrue(sent.every((l) => l.receivers === 1), "every line was delivered to the recorder");
        const sink = yield* ChatSink;
        yield* sink.flush;
        const expected = new Map<string, ChatMessage>();
        for (const l of sent) {
          const m = parseChatLine(l.line, l.at) as ChatMessage;
          expected.set(`${m.msgId}|${m.sentAt}`, m);
        }
        const rows = yield* stored;
        const mine = rows.filter((r) => r.stream_id !== null || channels.includes(r.channel));
        assert.strictEqual(mine.length, expected.size, "each message stored exactly once");
        const byKey = new Map(mine.map((r) => [`${r.msg_id}|${r.abs_timestamp.getTime()}`, r]));
        for (const [key, m] of expected) assertRowMatches(byKey.get(key), m, m.raw);
        const kinds = new Set(mine.map((r) => r.kind));
        assert.deepStrictEqual([...kinds].sort(), [...chatKinds].sort());
        assert.isTrue(mine.some((r) => r.is_action));
        assert.isTrue(mine.some((r) => (r.emotes?.length ?? 0) > 0));
        // Every message is on its stream's placeholder VOD, timed from the stream's start,
        // including those that arrived between going live and the recorder attaching.
        const sql = yield* SqlClient;
        yield* eventuallyEffect(
          Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM chat_messages WHERE vod_id IS NULL`, (r) => r[0]?.n === 0),
          10_000,
          "chat before the attach attributed to the stream",
        );
        const offsets = yield* sql<{ off: number }>`
          SELECT max(abs(m.rel_timestamp - EXTRACT(EPOCH FROM (m.abs_timestamp - v.date))))::float8 AS off
          FROM chat_messages m JOIN vods v ON v.id = m.vod_id WHERE v.is_placeholder`;
        assert.isBelow(offsets[0]?.off ?? 1, 0.001);
        // Deletions: what CLEARMSG names is marked, never removed.
        const byId = new Map(mine.map((r) => [r.msg_id, r]));
        let checked = 0;
        for (const r of mine.filter((x) => x.kind === "CLEARMSG")) {
          const target = byId.get(r.msg_params?.["target-msg-id"] ?? "");
          if (target === undefined) continue;
          checked++;
          assert.isNotNull(target.deleted_at, `message ${target.msg_id} deleted by ${r.msg_id}`);
          assert.isAtMost(target.deleted_at!.getTime(), r.abs_timestamp.getTime());
        }
        assert.isAbove(checked, 0);
        for (const r of mine.filter((x) => x.kind === "CLEARCHAT" && x.username !== null)) {
          const earlier = mine.filter((x) => x.kind === "PRIVMSG" && x.channel === r.channel && x.username === r.username && x.abs_timestamp < r.abs_timestamp);
          for (const e of earlier) assert.isNotNull(e.deleted_at, `${e.msg_id} of ${e.username} hidden by a timeout or ban`);
        }
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal)));
    }));
});
