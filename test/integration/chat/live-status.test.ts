import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer, Option, Queue } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { openStreamVod } from "../../../src/services/chat-reconcile.ts";
import { makeHelix } from "../../../src/services/helix.ts";
import { type LiveChange, LiveStatus, type LiveStatusOptions, type LiveStreamInfo } from "../../../src/services/live-status.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { migratedDatabase, sqlLayer } from "./chat-fixtures.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const database = async () => {
  const db = await migratedDatabase();
  cleanups.push(() => db.drop());
  return db;
};

const info = (login: string, streamId: string, over: Partial<LiveStreamInfo> = {}): LiveStreamInfo => ({
  id: streamId,
  userId: `1${login.length}`,
  userLogin: login,
  userName: login.toUpperCase(),
  gameId: "509658",
  gameName: "Just Chatting",
  title: "hello",
  viewerCount: 10,
  startedAt: "2026-01-01T10:00:00Z",
  ...over,
});

/** A Helix stand-in answering from a script the test edits; `fail` makes the next answers fail. */
const scripted = () => {
  const state = { live: [] as LiveStreamInfo[], fail: false, calls: [] as string[][] };
  const fetchStreams: LiveStatusOptions["fetchStreams"] = (logins) =>
    Effect.suspend(() => {
      state.calls.push([...logins]);
      return state.fail ? Effect.fail(new Error("helix is down")) : Effect.succeed(state.live.filter((s) => logins.includes(s.userLogin)));
    });
  return { state, fetchStreams };
};

const liveLayer = (url: string, options: LiveStatusOptions) => LiveStatus.layer(options).pipe(Layer.provideMerge(sqlLayer(url)));

const drain = (queue: Queue.Dequeue<LiveChange>) =>
  Effect.gen(function* () {
    const out: LiveChange[] = [];
    for (;;) {
      const next = yield* Queue.poll(queue);
      if (Option.isNone(next)) return out;
      out.push(next.value);
    }
  });

describe("LiveStatus", () => {
  it.live("publishes online, title changes and offline, and keeps the session in streams", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const helix = scripted();
      yield* Effect.gen(function* () {
        const live = yield* LiveStatus;
        yield* live.watch("alpha");
        const changes = yield* live.subscribe("alpha");
        helix.state.live = [info("alpha", "s1", { viewerCount: 10 })];
        yield* live.pollNow;
        helix.state.live = [info("alpha", "s1", { viewerCount: 50, title: "new title", gameName: "Chess", gameId: "743" })];
        yield* live.pollNow;
        helix.state.live = [info("alpha", "s1", { viewerCount: 20, title: "new title", gameName: "Chess", gameId: "743" })];
        yield* live.pollNow;
        assert.strictEqual(live.current("alpha")?.streamId, "s1");
        helix.state.live = [];
        yield* live.pollNow; // one miss is not enough (Helix drops streams now and then)
        assert.isDefined(live.current("alpha"));
        yield* live.pollNow;
        assert.isUndefined(live.current("alpha"));
        const events = yield* drain(changes);
        assert.deepStrictEqual(
          events.map((e) => e._tag),
          ["Online", "Updated", "Offline"],
        );
        const updated = events[1];
        assert.strictEqual(updated?._tag === "Updated" ? updated.previous.title : undefined, "hello");
        const offline = events[2];
        const sql = yield* SqlClient;
        const [row] = yield* sql<{ stream_id: string; started_at: Date; ended_at: Date | null; peak_viewers: number; game_name: string; title_history: Array<{ title: string; game_name: string }> }>`
          SELECT stream_id, started_at, ended_at, peak_viewers, game_name, title_history FROM streams WHERE channel = 'alpha'`;
        assert.strictEqual(row?.stream_id, "s1");
        assert.strictEqual(row?.started_at.toISOString(), "2026-01-01T10:00:00.000Z");
        assert.strictEqual(row?.peak_viewers, 50);
        assert.strictEqual(row?.game_name, "Chess");
        assert.deepStrictEqual(
          row?.title_history.map((h) => [h.title, h.game_name]),
          [
            ["hello", "Just Chatting"],
            ["new title", "Chess"],
          ],
        );
        assert.strictEqual(row?.ended_at?.getTime(), offline?._tag === "Offline" ? offline.endedAt.getTime() : -1, "ends when last seen live");
      }).pipe(Effect.scoped, Effect.provide(liveLayer(db.url, { fetchStreams: helix.fetchStreams, intervalMs: 3_600_000 })));
    }));

  it.live("gives the stream's placeholder VOD each new title; an archive VOD keeps the catalog's", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const helix = scripted();
      yield* Effect.gen(function* () {
        const live = yield* LiveStatus;
        const sql = yield* SqlClient;
        yield* live.watch("alpha");
        yield* live.watch("beta");
        helix.state.live = [info("alpha", "s1"), info("beta", "s2")];
        yield* live.pollNow;
        const startedAt = new Date("2026-01-01T10:00:00Z");
        const placeholder = yield* openStreamVod("alpha", { streamId: "s1", title: "hello", startedAt });
        assert.isTrue(placeholder.placeholder);
        yield* sql`INSERT INTO vods (channel, twitch_vod_id, stream_id, title, date) VALUES ('beta', '777', 's2', 'Archived title', ${startedAt})`;
        helix.state.live = [info("alpha", "s1", { title: "second title" }), info("beta", "s2", { title: "second title" })];
        yield* live.pollNow;
        const titles = yield* sql<{ channel: string; title: string; is_placeholder: boolean }>`
          SELECT channel, title, is_placeholder FROM vods ORDER BY channel`;
        assert.deepStrictEqual(
          titles.map((v) => [v.channel, v.title, v.is_placeholder]),
          [
            ["alpha", "second title", true],
            ["beta", "Archived title", false],
          ],
        );
      }).pipe(Effect.scoped, Effect.provide(liveLayer(db.url, { fetchStreams: helix.fetchStreams, intervalMs: 3_600_000 })));
    }));

  it.live("keeps state when Helix fails, and sees a restarted stream as offline then online", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const helix = scripted();
      yield* Effect.gen(function* () {
        const live = yield* LiveStatus;
        yield* live.watch("beta");
        helix.state.live = [info("beta", "s1")];
        yield* live.pollNow;
        const changes = yield* live.subscribe("beta");
        helix.state.fail = true;
        const report = yield* live.pollNow;
        yield* live.pollNow;
        assert.isFalse(report.ok);
        assert.strictEqual(live.current("beta")?.streamId, "s1", "a failed poll says nothing about the channel");
        helix.state.fail = false;
        helix.state.live = [info("beta", "s2", { startedAt: "2026-01-01T12:00:00Z" })];
        yield* live.pollNow;
        const events = yield* drain(changes);
        assert.deepStrictEqual(
          events.map((e) => `${e._tag}:${e.stream.streamId}`),
          ["Online:s1", "Offline:s1", "Online:s2"],
          "a subscriber to a live channel hears Online first",
        );
        const sql = yield* SqlClient;
        const rows = yield* sql<{ stream_id: string; open: boolean }>`
          SELECT stream_id, ended_at IS NULL AS open FROM streams WHERE channel = 'beta' ORDER BY started_at`;
        assert.deepStrictEqual(rows, [
          { stream_id: "s1", open: false },
          { stream_id: "s2", open: true },
        ]);
      }).pipe(Effect.scoped, Effect.provide(liveLayer(db.url, { fetchStreams: helix.fetchStreams, intervalMs: 3_600_000, offlineAfterMisses: 1 })));
    }));

  it.live("closes sessions a previous run left open", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const helix = scripted();
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        yield* sql`INSERT INTO streams (channel, stream_id, started_at, last_seen_at) VALUES
          ('gamma', 'old1', now() - interval '3 hours', now() - interval '2 hours'),
          ('unwatched', 'old2', now() - interval '3 hours', now() - interval '1 hour')`;
        const live = yield* LiveStatus;
        yield* live.watch("gamma");
        yield* live.pollNow;
        const rows = yield* sql<{ stream_id: string; closed_at_last_sight: boolean }>`
          SELECT stream_id, ended_at = last_seen_at AS closed_at_last_sight FROM streams ORDER BY stream_id`;
        assert.deepStrictEqual(rows, [
          { stream_id: "old1", closed_at_last_sight: true },
          { stream_id: "old2", closed_at_last_sight: true },
        ]);
      }).pipe(Effect.scoped, Effect.provide(liveLayer(db.url, { fetchStreams: helix.fetchStreams, intervalMs: 3_600_000, staleAfterMs: 60_000 })));
    }));

  it.live("polls 150 channels of the simulator in batches of 100 through the Helix client and follows live flips", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const logins = Array.from({ length: 150 }, (_, i) => `sim${String(i).padStart(3, "0")}`);
      const sim: Simulator = yield* Effect.promise(() =>
        startSimulator({ scenario: { channels: logins.map((login) => ({ login, chat: { rate: 0 } })) }, chat: false }),
      );
      cleanups.push(() => sim.stop());
      const client = yield* makeHelix({ helixUrl: sim.urls.helix, oauthUrl: sim.urls.oauth, clientId: sim.clientId, clientSecret: sim.clientSecret });
      let requests = 0;
      const fetchStreams: LiveStatusOptions["fetchStreams"] = (batch) =>
        Effect.suspend(() => {
          requests++;
          return client.getStreams({ logins: batch });
        });
      yield* Effect.gen(function* () {
        const live = yield* LiveStatus;
        for (const login of logins) yield* live.watch(login);
        const first = yield* live.subscribe("sim007");
        const second = yield* live.subscribe("sim140");
        const before = sim.state().helixRequests;
        sim.setLive("sim007", true, { title: "seven", viewerCount: 7 });
        sim.setLive("sim140", true, { title: "one forty" });
        yield* live.pollNow;
        assert.strictEqual(sim.state().helixRequests - before, 2, "150 channels, two requests of at most 100");
        assert.strictEqual(live.current("sim007")?.title, "seven");
        sim.setLive("sim007", false);
        yield* live.pollNow;
        yield* live.pollNow;
        const a = yield* drain(first);
        const b = yield* drain(second);
        assert.deepStrictEqual(a.map((e) => e._tag), ["Online", "Offline"]);
        assert.deepStrictEqual(b.map((e) => e._tag), ["Online"]);
        assert.strictEqual(a[1]?.stream.streamId, a[0]?.stream.streamId);
        assert.strictEqual(requests, 3, "one Helix call per poll");
      }).pipe(Effect.scoped, Effect.provide(liveLayer(db.url, { fetchStreams, intervalMs: 3_600_000, watchDebounceMs: 3_600_000 })));
    }));
});
