import { assert, describe, it } from "@effect/vitest";
import { Effect, Exit, Queue, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { parseChatLine } from "../../../src/services/chat-message.ts";
import { type ChannelRecording, ChatRecorder } from "../../../src/services/chat-recorder.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { type ChatGapRow, chatGapsOfVod } from "../../../src/services/repositories/chat-gaps.ts";
import { chatStack, cleanUp, database, simulatorWith, tempDir } from "./chat-harness.ts";
import { eventually } from "./eventually.ts";

afterEach(cleanUp);

const liveTarget = (channel: string, sim: Awaited<ReturnType<typeof simulatorWith>>) =>
  Effect.gen(function* () {
    const recorder = yield* ChatRecorder;
    const live = sim.state().channels.find((c) => c.login === channel)?.live;
    assert.isNotNull(live ?? null);
    return yield* recorder.beginStream(channel, { streamId: live!.streamId, title: live!.title, startedAt: new Date(live!.startedAt) });
  });

// The client notices a dropped connection a moment after the server dropped it.
const slackMs = 1_000;

describe("chat gaps", () => {
  it.live("a forced RECONNECT and a dropped connection are stored as gaps bounding exactly the chat that was missed", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith([{ login: "gappy", chat: { rate: 150, chatters: 30 } }]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-gaps-"));
      yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const recording = yield* recorder.record("gappy");
        yield* eventually(() => recording.status().joined);
        sim.setLive("gappy", true);
        const target = yield* liveTarget("gappy", sim);
        yield* recording.attach(target);
        const startSeq = sim.state().linesSent;
        yield* Effect.sleep("500 millis");

        sim.injectFault({ kind: "irc-reconnect", channel: "gappy", graceMs: 300 });
        yield* eventually(() => recording.status().gapOpenSince !== null, 10_000, "gap opened");
        yield* eventually(() => recording.status().joined && recording.status().gapOpenSince === null, 20_000, "rejoined");
        yield* Effect.sleep("500 millis");
        sim.injectFault({ kind: "irc-disconnect", channel: "gappy" });
        yield* eventually(() => recording.status().gapOpenSince !== null, 10_000, "gap opened");
        yield* eventually(() => recording.status().joined && recording.status().gapOpenSince === null, 20_000, "rejoined");
        yield* Effect.sleep("500 millis");
        sim.setLive("gappy", false);
        yield* Effect.sleep("200 millis");
        yield* recording.attach(null);
        yield* recording.settled;
        yield* (yield* ChatSink).flush;

        const gaps: ReadonlyArray<ChatGapRow> = yield* chatGapsOfVod(target.vodId);
        assert.deepStrictEqual(gaps.map((g) => g.reason), ["reconnect", "disconnect"]);
        for (const g of gaps) {
          assert.isNotNull(g.ended_at);
          assert.isAtLeast(g.ended_at!.getTime(), g.started_at.getTime());
          assert.strictEqual(g.stream_id, target.streamId);
        }

        const sent = sim
          .sentLines("gappy", startSeq)
          .filter((l) => ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"].includes(l.command));
        const missed = sent.filter((l) => l.receivers === 0);
        assert.isNotEmpty(missed, "chat went on while the recorder was away");
        const inGap = (at: number) => gaps.some((g) => at >= g.started_at.getTime() - slackMs && at <= g.ended_at!.getTime() + slackMs);
        // Every line sent is stored, or was sent while a gap says chat was not recorded.
        const sql = yield* SqlClient;
        const ids = new Set((yield* sql<{ msg_id: string }>`SELECT msg_id FROM chat_messages WHERE channel = 'gappy'`).map((r) => r.msg_id));
        let notStored = 0;
        for (const l of sent) {
          if (ids.has(parseChatLine(l.line, l.at)!.msgId)) continue;
          notStored++;
          assert.isTrue(inGap(l.at), `a line sent at ${new Date(l.at).toISOString()} is neither stored nor within a gap`);
        }
        assert.isAtLeast(notStored, missed.length);
        // And nothing stored was sent inside a gap.
        const times = yield* sql<{ t: Date }>`SELECT abs_timestamp AS t FROM chat_messages WHERE channel = 'gappy' AND vod_id = ${target.vodId}`;
        for (const { t } of times) {
          assert.isFalse(
            gaps.some((g) => t.getTime() > g.started_at.getTime() + slackMs && t.getTime() < g.ended_at!.getTime() - slackMs),
            `message at ${t.toISOString()} falls well inside a gap`,
          );
        }
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("a stream already live when recording starts has its beginning stored as a late-join gap", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith(["latecomer"]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-gaps-"));
      yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const startedAt = new Date(Date.now() - 90_000);
        const target = yield* recorder.beginStream("latecomer", { streamId: "s-late", title: "t", startedAt });
        const recording = yield* recorder.record("latecomer");
        yield* recording.attach(target);
        yield* eventually(() => recording.status().joined);
        yield* recording.settled;
        const gaps = yield* chatGapsOfVod(target.vodId);
        assert.strictEqual(gaps.length, 1);
        assert.strictEqual(gaps[0]?.reason, "late-join");
        assert.strictEqual(gaps[0]?.started_at.getTime(), startedAt.getTime());
        const joinedAt = (yield* eventuallyJoinedAt(recording)).getTime();
        assert.strictEqual(gaps[0]?.ended_at?.getTime(), joinedAt);
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal)));
    }));

  it.live("a restart mid-stream is a gap from the last moment recorded to the moment recording resumed", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulatorWith(["phoenix"]));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-gaps-"));
      let startedAt = new Date();
      // First run: records from the stream's start, then stops (as a process would on SIGTERM) while the stream goes on.
      const first = yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const scope = yield* Scope.make();
        const recording = yield* recorder.record("phoenix").pipe(Scope.provide(scope));
        yield* eventually(() => recording.status().joined);
        startedAt = new Date();
        const target = yield* recorder.beginStream("phoenix", { streamId: "s-phoenix", title: "t", startedAt });
        yield* recording.attach(target);
        yield* recording.settled;
        yield* Scope.close(scope, Exit.void);
        return { target, stoppedAt: Date.now() };
      }).pipe(Effect.provide(chatStack(sim, db.url, journal)));
      yield* Effect.sleep("1500 millis");
      // Second run: the same stream is still live.
      yield* Effect.gen(function* () {
        const recorder = yield* ChatRecorder;
        const target = yield* recorder.beginStream("phoenix", { streamId: "s-phoenix", title: "t", startedAt });
        assert.strictEqual(target.vodId, first.target.vodId, "the same placeholder");
        const recording = yield* recorder.record("phoenix");
        yield* recording.attach(target);
        const joinedAt = (yield* eventuallyJoinedAt(recording)).getTime();
        yield* recording.settled;
        const gaps = yield* chatGapsOfVod(target.vodId);
        assert.deepStrictEqual(gaps.map((g) => g.reason), ["restart"]);
        const gap = gaps[0]!;
        assert.isAtMost(gap.started_at.getTime(), first.stoppedAt);
        assert.isAtLeast(gap.started_at.getTime(), first.stoppedAt - 1_000, "starts when the first run stopped recording");
        assert.isAtMost(gap.ended_at!.getTime(), joinedAt);
        assert.strictEqual(gap.ended_at?.getTime(), joinedAt);
      }).pipe(Effect.scoped, Effect.provide(chatStack(sim, db.url, journal)));
    }));
});

/** The time of the recording's first join, from its events. */
const eventuallyJoinedAt = (recording: ChannelRecording) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* Queue.take(recording.events);
      if (event._tag === "Joined") return event.at;
    }
  });
