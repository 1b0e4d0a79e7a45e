import { assert, describe, it } from "@effect/vitest";
import { Effect, Fiber, Ref } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { TestClock } from "effect/testing";
import { afterEach } from "vitest";
import { ChatRecorder, type RecordingTarget } from "../../../src/services/chat-recorder.ts";
import { reconcilePending, reconcileStream } from "../../../src/services/chat-reconcile.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import type { Simulator } from "../../../src/sim/simulator.ts";
import { chatStack, cleanUp, database, simulatorWith, tempDir } from "./chat-harness.ts";
import { eventually, eventuallyEffect } from "./eventually.ts";

afterEach(cleanUp);

/** Records one live stream of `channel` on the simulator for `ms`, then ends it; returns its target. */
const recordStream = (sim: Simulator, channel: string, ms: number) =>
  Effect.gen(function* () {
    const recorder = yield* ChatRecorder;
    const recording = yield* recorder.record(channel);
    yield* eventually(() => recording.status().joined);
    sim.setLive(channel, true, { title: "the stream" });
    const live = sim.state().channels.find((c) => c.login === channel)!.live!;
    const target = yield* recorder.beginStream(channel, { streamId: live.streamId, title: live.title, startedAt: new Date(live.startedAt) });
    yield* recording.attach(target);
    yield* Effect.sleep(`${ms} millis`);
    sim.setLive(channel, false);
    // Lines still on their way are the stream's too: the recording gives them its VOD after the detach.
    yield* recording.attach(null);
    yield* recording.settled;
    yield* (yield* ChatSink).flush;
    // Chat that arrived between going live and the attach is attributed to the stream in the background.
    const sql = yield* SqlClient;
    yield* eventuallyEffect(
      Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM chat_messages WHERE channel = ${channel} AND vod_id IS NULL`, (r) => r[0]?.n === 0),
      10_000,
      "chat attributed to the stream",
    );
    return { target, recording };
  }).pipe(Effect.scoped);

const insertArchive = (channel: string, target: RecordingTarget, twitchVodId: string, startOffsetMs: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const [row] = yield* sql<{ id: number }>`
      INSERT INTO vods (channel, twitch_vod_id, stream_id, title, date, duration_seconds)
      VALUES (${channel}, ${twitchVodId}, ${target.streamId}, 'the stream', ${new Date(target.startedAt.getTime() + startOffsetMs)}, 60)
      RETURNING id`;
    return row!.id;
  });

/** Advances the test clock until `fiber` is done, letting real I/O run between steps. */
const runClockUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 2_000; i++) {
      if (fiber.pollUnsafe() !== undefined) break;
      yield* TestClock.adjust("5 seconds");
      yield* TestClock.withLive(Effect.sleep("15 millis"));
    }
    return yield* Fiber.join(fiber);
  });

describe("chat reconciliation", () => {
  it.live("moves a stream's chat and gaps to its VOD when the VOD appears two minutes after the stream, with relative times from the VOD", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith([{ login: "recon", chat: { rate: 200 } }]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-reconcile-"));
      yield* Effect.gen(function* () {
        const { target } = yield* recordStream(sim, "recon", 1_000);
        assert.isTrue(target.placeholder);
        const sql = yield* SqlClient;
        const [before] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM chat_messages WHERE vod_id = ${target.vodId}`;
        assert.isAbove(before!.n, 50);
        yield* sql`INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, ended_at, reason)
          VALUES ('recon', ${target.vodId}, ${target.streamId}, now(), now(), 'disconnect')`;

        // The catalog finds the archive two minutes after the stream ended; Twitch dated it 7 s after the stream's start.
        const archiveStartOffsetMs = 7_000;
        const attempts = yield* Ref.make(0);
        const outcome = yield* Effect.gen(function* () {
          const reconcile = yield* Effect.forkChild(
            reconcileStream("recon", target.streamId, {
              delayMs: 60_000,
              everyMs: 30_000,
              windowMs: 15 * 60_000,
              beforeAttempt: Ref.update(attempts, (n) => n + 1),
            }),
          );
          yield* Effect.forkChild(Effect.sleep("2 minutes").pipe(Effect.andThen(insertArchive("recon", target, "2000000001", archiveStartOffsetMs))));
          return yield* runClockUntilDone(reconcile);
        }).pipe(Effect.provide(TestClock.layer()));

        assert.strictEqual(outcome._tag, "Reconciled");
        assert.isAtLeast(yield* Ref.get(attempts), 3, "looked at 1 min and 1.5 min without finding it");
        const archiveId = outcome._tag === "Reconciled" ? outcome.vodId : -1;
        assert.strictEqual(outcome._tag === "Reconciled" ? outcome.messages : -1, before!.n);
        const [after] = yield* sql<{ n: number; off: number }>`
          SELECT count(*)::int AS n,
            max(abs(m.rel_timestamp - EXTRACT(EPOCH FROM (m.abs_timestamp - v.date))))::float8 AS off
          FROM chat_messages m JOIN vods v ON v.id = m.vod_id WHERE m.vod_id = ${archiveId}`;
        assert.strictEqual(after!.n, before!.n, "every message moved");
        assert.isBelow(after!.off, 0.001, "relative times measured from the archive's start");
        const [first] = yield* sql<{ rel: number; abs: Date }>`
          SELECT rel_timestamp AS rel, abs_timestamp AS abs FROM chat_messages WHERE vod_id = ${archiveId} ORDER BY abs_timestamp LIMIT 1`;
        assert.closeTo(first!.rel, (first!.abs.getTime() - target.startedAt.getTime() - archiveStartOffsetMs) / 1000, 0.002);
        const placeholder = yield* sql`SELECT id FROM vods WHERE id = ${target.vodId}`;
        assert.deepStrictEqual(placeholder, [], "the placeholder is gone");
        const gaps = yield* sql<{ vod_id: number }>`SELECT vod_id FROM chat_gaps WHERE stream_id = ${target.streamId}`;
        assert.deepStrictEqual(gaps.map((g) => g.vod_id), [archiveId]);
        const streams = yield* sql<{ vod_id: number | null }>`SELECT vod_id FROM streams WHERE stream_id = ${target.streamId}`;
        assert.isTrue(streams.every((s) => s.vod_id === archiveId));
      }).pipe(Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("records the next stream whatever becomes of the last one's reconciliation, which can be finished later", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith([{ login: "twice", chat: { rate: 100 } }]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-reconcile-"));
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        const first = yield* recordStream(sim, "twice", 500);
        yield* sql`INSERT INTO streams (channel, stream_id, started_at, ended_at) VALUES ('twice', ${first.target.streamId}, ${first.target.startedAt}, now())
          ON CONFLICT (channel, stream_id) DO UPDATE SET ended_at = now()`;
        const reconcile = yield* Effect.forkChild(
          reconcileStream("twice", first.target.streamId, { delayMs: 0, everyMs: 100, windowMs: 600 }),
        );
        const second = yield* recordStream(sim, "twice", 500);
        assert.notStrictEqual(second.target.vodId, first.target.vodId);
        const outcome = yield* Fiber.join(reconcile);
        assert.strictEqual(outcome._tag, "NotFound");
        const counts = yield* sql<{ vod_id: number; n: number }>`
          SELECT vod_id, count(*)::int AS n FROM chat_messages GROUP BY vod_id ORDER BY vod_id`;
        assert.deepStrictEqual(counts.map((c) => c.vod_id), [first.target.vodId, second.target.vodId], "both streams recorded on their placeholders");

        const archive = yield* insertArchive("twice", first.target, "2000000002", 0);
        const done = yield* reconcilePending("twice");
        assert.deepStrictEqual(done.map((d) => [d.streamId, d.outcome._tag === "Reconciled" ? d.outcome.vodId : 0]), [[first.target.streamId, archive]]);
        const nothing = yield* reconcileStream("twice", first.target.streamId, { delayMs: 0, everyMs: 100, windowMs: 100 });
        assert.strictEqual(nothing._tag, "NothingToDo");
      }).pipe(Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("attaches a stream whose archive is already catalogued straight to it", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith(["known"]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-reconcile-"));
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        const startedAt = new Date(Date.now() - 10_000);
        const [archive] = yield* sql<{ id: number }>`
          INSERT INTO vods (channel, twitch_vod_id, stream_id, date) VALUES ('known', '2000000003', 's-known', ${startedAt}) RETURNING id`;
        const recorder = yield* ChatRecorder;
        const target = yield* recorder.beginStream("known", { streamId: "s-known", title: "t", startedAt });
        assert.deepStrictEqual(target, { streamId: "s-known", vodId: archive!.id, startedAt, placeholder: false });
      }).pipe(Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("gives a line Twitch sent before the detach but read after it the stream's VOD, for lateLineMs; lines sent after the detach get none", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith([{ login: "late", chat: { rate: 0 } }]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-reconcile-"));
      const lateLineMs = 1_500;
      yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const recording = yield* recorder.record("late");
        assert.strictEqual(recording.lateLineMs, lateLineMs);
        yield* eventually(() => recording.status().joined);
        const startedAt = new Date(Date.now() - 60_000);
        const target = yield* recorder.beginStream("late", { streamId: "s-late", title: "t", startedAt });
        yield* recording.attach(target);
        // Lines sent before the attach are the stream's anyway (chat that came before the stream was seen live).
        yield* Effect.sleep("300 millis");
        yield* recording.attach(null);
        const detachedAt = Date.now();
        const send = (id: string, sentAt: number) =>
          sim.sendRaw("late", `@id=${id};tmi-sent-ts=${sentAt};user-id=7;display-name=V :v!v@v.tmi.twitch.tv PRIVMSG #late :${id}`);
        // In flight at the detach: sent just before it.
        send("in-flight", detachedAt - 100);
        // Sent after the detach: chat between streams.
        send("after", detachedAt + 1_000);
        yield* eventually(() => recording.status().messages === 2);
        // Read after the late window: no longer taken for the stream's.
        yield* Effect.sleep(`${lateLineMs + 200} millis`);
        send("too-late", detachedAt - 50);
        yield* eventually(() => recording.status().messages === 3);
        yield* (yield* ChatSink).flush;
        const sql = yield* SqlClient;
        const rows = yield* sql<{ msg_id: string; vod_id: number | null; stream_id: string | null; rel: number | null }>`
          SELECT msg_id, vod_id, stream_id, rel_timestamp AS rel FROM chat_messages WHERE channel = 'late' ORDER BY msg_id`;
        assert.deepStrictEqual(rows, [
          { msg_id: "after", vod_id: null, stream_id: null, rel: null },
          { msg_id: "in-flight", vod_id: target.vodId, stream_id: "s-late", rel: (detachedAt - 100 - startedAt.getTime()) / 1000 },
          { msg_id: "too-late", vod_id: null, stream_id: null, rel: null },
        ]);
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal, { recorder: { lateLineMs } })));
    }));
});
