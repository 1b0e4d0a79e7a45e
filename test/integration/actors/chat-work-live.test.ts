/**
 * Chat under the real actor tree: `Supervisor` with the live `ChatWork` over
 * `chatServicesLayer` (LiveStatus polling the simulator's Helix, the tmi.js
 * pool on its IRC, the sink and recorder on a real database); catalog and
 * processor idle, so a finished stream's archive reaches `vods` only through
 * the chat's own Helix lookup.
 */
import { Context, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BreakerStore } from "../../../src/actors/breaker-store.ts";
import { CatalogWork } from "../../../src/actors/catalog-work.ts";
import { chatServicesLayer } from "../../../src/actors/chat-services-layer.ts";
import { ChatWork, type LiveChange } from "../../../src/actors/chat-work.ts";
import { ChatWorkOptions, chatWorkLive, defaultChatWorkOptions } from "../../../src/actors/chat-work-live.ts";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import { ToolCheck } from "../../../src/actors/tool-check.ts";
import type { ChatMode } from "../../../src/services/channel-settings.ts";
import { ChatConnections } from "../../../src/services/chat-connections.ts";
import { isChatCommand, parseChatLine } from "../../../src/services/chat-message.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import type { HelixRequestInfo } from "../../../src/services/helix.ts";
import { LiveStatus } from "../../../src/services/live-status.ts";
import { makeMetrics, Metrics, type MetricsService } from "../../../src/services/metrics.ts";
import { RuntimeEvents, type RuntimeEvent } from "../../../src/services/runtime-events.ts";
import { defaultSupervisorOptions, Supervisor, SupervisorOptions } from "../../../src/services/supervisor.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { testChannelSettings } from "../../support/in-memory-control-backend.ts";
import { migratedDatabase, sqlLayer } from "../chat/chat-fixtures.ts";
import { pollUntil } from "../../support/poll-until.ts";
import { simHelixLayer } from "../../support/sim-helix.ts";

type Services = Supervisor | RuntimeEvents | ChatConnections | ChatSink | LiveStatus | SqlClient;

interface Runtime {
  readonly supervisor: Supervisor["Service"];
  readonly chatWork: ChatWork["Service"];
  readonly connections: ChatConnections["Service"];
  readonly liveStatus: LiveStatus["Service"];
  readonly events: Array<RuntimeEvent>;
  readonly helixRequests: Array<HelixRequestInfo>;
  readonly metrics: MetricsService;
  readonly run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>;
}

let sim: Simulator;
const cleanups: Array<() => Promise<void>> = [];

const startRuntime = async (): Promise<Runtime> => {
  const db = await migratedDatabase();
  cleanups.push(() => db.drop());
  const journal = await mkdtemp(join(tmpdir(), "vt-chat-work-"));
  cleanups.push(() => rm(journal, { recursive: true, force: true }));
  const metrics = makeMetrics();
  const helixRequests: Array<HelixRequestInfo> = [];
  const policy = defaultSupervisorOptions.policy;
  const base = Layer.mergeAll(
    sqlLayer(db.url),
    Layer.succeed(Metrics, metrics),
    simHelixLayer(sim, (info) => void helixRequests.push(info)),
    Layer.succeed(SupervisorOptions, {
      ...defaultSupervisorOptions,
      firstScanSpreadMs: 0,
      shutdownTimeoutMs: 5_000,
      policy: {
        ...policy,
        chat: { reconnect: { baseMs: 100, maxMs: 1_000 }, reconcile: { delayMs: 100, retryMs: 250, maxAttempts: 200 } },
      },
    }),
    Layer.succeed(ChatWorkOptions, { ...defaultChatWorkOptions, rateIntervalMs: 250 }),
  );
  const chat = chatServicesLayer({
    ircUrl: sim.urls.ircWs,
    journalDirectory: journal,
    pollIntervalMs: 150,
    liveStatus: { offlineAfterMisses: 1, watchDebounceMs: 20 },
    connections: { reconnect: { initialMs: 50, maxMs: 1_000 }, joinTimeoutMs: 2_000, idleCloseMs: 300 },
    recorder: { heartbeatMs: 200, lateLineMs: 500 },
  }).pipe(Layer.orDie);
  const layer = Supervisor.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        RuntimeEvents.layer,
        CatalogWork.layerIdle,
        ProcessorWork.layerIdle,
        BreakerStore.layerMemory,
        Layer.succeed(ToolCheck, ToolCheck.of({ check: Effect.succeed({ missing: [] }) })),
        chatWorkLive,
      ),
    ),
    Layer.provideMerge(chat),
    Layer.provideMerge(base),
    Layer.provide(Logger.layer([])),
  );
  const scope = Effect.runSync(Scope.make());
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope));
  cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)));
  const events: Array<RuntimeEvent> = [];
  Context.get(context, RuntimeEvents).listen((event) => void events.push(event));
  return {
    supervisor: Context.get(context, Supervisor),
    chatWork: Context.get(context, ChatWork),
    connections: Context.get(context, ChatConnections),
    liveStatus: Context.get(context, LiveStatus),
    events,
    helixRequests,
    metrics,
    run: (effect) => Effect.runPromise(Effect.provide(effect, context)),
  };
};

/** Polls `read` until `done` holds; fails with the last value after `timeoutMs` (generous: the machine may be busy). */
const until = <A>(read: () => A | Promise<A>, done: (value: A) => boolean, timeoutMs = 30_000): Promise<A> =>
  pollUntil(read, done, timeoutMs, 50);

const add = (rt: Runtime, channel: string, chat: ChatMode) => rt.run(rt.supervisor.addChannel(channel, { ...testChannelSettings, chat }));

const chatState = (rt: Runtime, channel: string) => rt.run(Effect.map(rt.supervisor.status(channel), (status) => status.children.chat.state));

interface StoredRow {
  readonly key: string;
  readonly vod_id: number | null;
  readonly stream_id: string | null;
  readonly rel_offset: number | null;
}

/** The channel's stored chat, keyed like the simulator's lines (message id and sent time). */
const rowsOf = (rt: Runtime, channel: string) =>
  rt.run(
    Effect.flatMap(
      SqlClient,
      (sql) => sql<StoredRow>`
        SELECT m.msg_id || '|' || (EXTRACT(EPOCH FROM m.abs_timestamp) * 1000)::bigint AS key, m.vod_id, m.stream_id,
          abs(m.rel_timestamp - EXTRACT(EPOCH FROM (m.abs_timestamp - v.date)))::float8 AS rel_offset
        FROM chat_messages m LEFT JOIN vods v ON v.id = m.vod_id
        WHERE m.channel = ${channel}`,
    ),
  );

const vodsOf = (rt: Runtime, channel: string) =>
  rt.run(
    Effect.flatMap(
      SqlClient,
      (sql) => sql<{ readonly id: number; readonly twitch_vod_id: string | null; readonly stream_id: string | null; readonly is_placeholder: boolean }>`
        SELECT id, twitch_vod_id, stream_id, is_placeholder FROM vods WHERE channel = ${channel} ORDER BY id`,
    ),
  );

/** Keys of the chat lines the simulator delivered to the channel's readers. */
const deliveredKeys = (channel: string): Set<string> =>
  new Set(
    sim
      .sentLines(channel)
      .filter((line) => line.receivers > 0 && isChatCommand(line.command))
      .map((line) => {
        const message = parseChatLine(line.line, line.at);
        if (message === undefined) throw new Error(`not a chat line: ${line.line}`);
        return `${message.msgId}|${message.sentAt}`;
      }),
  );

const storedCounter = async (rt: Runtime, channel: string): Promise<number> =>
  (await rt.metrics.chatMessagesStored.get()).values.find((value) => value.labels["channel"] === channel)?.value ?? 0;

const poolChannels = (rt: Runtime) => rt.connections.snapshot().connections.map((connection) => [...connection.channels].sort());

const chatChannels = ["auto_one", "always_one", "off_one", "pair_one", "pair_two", "switch_one"];

beforeAll(async () => {
  sim = await startSimulator({
    uploadDir: null,
    scenario: {
      irc: { joinRateLimit: null },
      channels: chatChannels.map((login, i) => ({
        login,
        id: String(8101 + i),
        chat: login.startsWith("always") ? { rate: 25, offline: true, offlineRate: 25 } : { rate: 25 },
      })),
    },
  });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const login of chatChannels) sim.setLive(login, false);
});
afterAll(async () => {
  await sim.stop();
});

describe("chat work under the supervisor", () => {
  it("mode auto records a stream while it is live, then moves its chat from the placeholder to the archive once Twitch publishes it", async () => {
    const rt = await startRuntime();
    await add(rt, "auto_one", "auto");
    await until(() => chatState(rt, "auto_one"), (state) => state === "watching.offline");
    // Not recording while offline.
    expect(poolChannels(rt)).toEqual([]);

    sim.setLive("auto_one", true, { title: "first stream", archive: false });
    const session = sim.state().channels.find((c) => c.login === "auto_one")!.live!;
    await until(() => chatState(rt, "auto_one"), (state) => state === "watching.live.session.recording");
    await until(() => rowsOf(rt, "auto_one"), (rows) => rows.length >= 40);
    const [placeholder] = await vodsOf(rt, "auto_one");
    expect(placeholder).toMatchObject({ stream_id: session.streamId, is_placeholder: true, twitch_vod_id: null });
    // The rate is measured and published while recording.
    await until(
      () => rt.events.filter((e) => e._tag === "ChatRateMeasured" && e.channel === "auto_one" && e.perMinute > 0).length,
      (n) => n > 0,
    );

    sim.setLive("auto_one", false);
    await until(() => poolChannels(rt), (channels) => channels.every((c) => !c.includes("auto_one")));
    // The machine looks for the VOD; Helix has none for this stream yet.
    await until(() => rt.helixRequests.filter((r) => r.endpoint === "videos" && r.status === 200).length, (n) => n >= 1);
    const waiting = await rowsOf(rt, "auto_one");
    expect(new Set(waiting.map((r) => r.vod_id))).toEqual(new Set([placeholder!.id]));
    expect((await chatState(rt, "auto_one"))?.startsWith("watching.reconcil")).toBe(true);

    const archive = sim.addVod("auto_one", { streamId: session.streamId, title: "first stream", createdAt: new Date(session.startedAt).toISOString(), duration: "30s" });
    await until(() => chatState(rt, "auto_one"), (state) => state === "watching.offline");
    const vods = await vodsOf(rt, "auto_one");
    expect(vods).toEqual([expect.objectContaining({ twitch_vod_id: archive.id, stream_id: session.streamId, is_placeholder: false })]);
    const rows = await rowsOf(rt, "auto_one");
    // Every line delivered to the recorder is stored once, all on the archive, timed from its start.
    expect(new Set(rows.map((r) => r.key))).toEqual(deliveredKeys("auto_one"));
    expect(rows.length).toBe(new Set(rows.map((r) => r.key)).size);
    expect(rows.every((r) => r.vod_id === vods[0]!.id && r.stream_id === session.streamId)).toBe(true);
    expect(Math.max(...rows.map((r) => r.rel_offset ?? 1))).toBeLessThan(0.001);
    expect(await storedCounter(rt, "auto_one")).toBe(rows.length);
    expect((await rt.run(rt.supervisor.status("auto_one"))).children.chat.restarts).toBe(0);
  });

  it("mode always records offline chat with no VOD, and one recording attaches the stream that comes and goes", async () => {
    const rt = await startRuntime();
    await add(rt, "always_one", "always");
    await until(() => chatState(rt, "always_one"), (state) => state === "watching.live.session.recording");
    await until(() => rowsOf(rt, "always_one"), (rows) => rows.length >= 30);
    expect((await rowsOf(rt, "always_one")).every((r) => r.vod_id === null && r.stream_id === null)).toBe(true);
    expect(await vodsOf(rt, "always_one")).toEqual([]);

    sim.setLive("always_one", true, { title: "always live" });
    const session = sim.state().channels.find((c) => c.login === "always_one")!.live!;
    await until(() => rowsOf(rt, "always_one"), (rows) => rows.filter((r) => r.stream_id === session.streamId).length >= 30);
    sim.setLive("always_one", false);
    // Detached after the stream: chat goes on with no VOD, and the stream's chat is moved to its archive.
    await until(
      () => vodsOf(rt, "always_one"),
      (vods) => vods.length === 1 && !vods[0]!.is_placeholder && vods[0]!.twitch_vod_id === session.vodId,
    );
    const unattached = (rows: ReadonlyArray<StoredRow>) => rows.filter((r) => r.vod_id === null).length;
    const before = unattached(await rowsOf(rt, "always_one"));
    await until(() => rowsOf(rt, "always_one"), (rows) => unattached(rows) >= before + 20);

    // Quiet the channel, so that everything delivered can be compared with what is stored.
    sim.setChatRate("always_one", 0, { offlineRate: 0 });
    const delivered = await until(
      async () => ({ delivered: deliveredKeys("always_one"), stored: new Set((await rowsOf(rt, "always_one")).map((r) => r.key)) }),
      ({ delivered, stored }) => delivered.size === stored.size && [...delivered].every((key) => stored.has(key)),
    );
    await rt.run(rt.supervisor.removeChannel("always_one"));
    const [archive] = await vodsOf(rt, "always_one");
    const rows = await rowsOf(rt, "always_one");
    expect(new Set(rows.map((r) => r.key))).toEqual(delivered.delivered);
    expect(rows.length).toBe(delivered.delivered.size);
    const attached = rows.filter((r) => r.vod_id !== null);
    expect(attached.length).toBeGreaterThanOrEqual(30);
    expect(attached.every((r) => r.vod_id === archive!.id && r.stream_id === session.streamId && (r.rel_offset ?? 1) < 0.001)).toBe(true);
    expect(unattached(rows)).toBeGreaterThanOrEqual(before + 20);
    // The stream came and went under one recording: the channel was joined once.
    expect(rt.connections.snapshot().joinsSent).toBe(1);
  });

  it("mode off records nothing and does not even poll the channel", async () => {
    const rt = await startRuntime();
    sim.setLive("off_one", true);
    await add(rt, "off_one", "off");
    await until(() => chatState(rt, "off_one"), (state) => state === "off");
    const poll = await rt.run(rt.liveStatus.pollNow);
    expect(poll.watched).toBe(0);
    expect(rt.connections.snapshot().connections).toEqual([]);
    expect(sim.ircConnections()).toEqual([]);
    expect(await rowsOf(rt, "off_one")).toEqual([]);
    expect(await vodsOf(rt, "off_one")).toEqual([]);
  });

  it("switching a live channel from auto to always hands the channel to the new recording, which attaches the stream again", async () => {
    const rt = await startRuntime();
    sim.setLive("switch_one", true);
    const session = sim.state().channels.find((c) => c.login === "switch_one")!.live!;
    await add(rt, "switch_one", "auto");
    await until(() => chatState(rt, "switch_one"), (state) => state === "watching.live.session.recording");
    await until(() => rowsOf(rt, "switch_one"), (rows) => rows.length >= 20);

    await rt.run(rt.supervisor.update("switch_one", { ...testChannelSettings, chat: "always" }));
    await until(() => rt.connections.snapshot().joinsSent, (n) => n === 2);
    await until(() => chatState(rt, "switch_one"), (state) => state === "watching.live.session.recording");
    const before = (await rowsOf(rt, "switch_one")).length;
    // Both recordings put the stream's chat on the same VOD (chat received before
    // the new recording attached is attributed to the stream shortly after).
    const vods = await vodsOf(rt, "switch_one");
    expect(vods).toEqual([expect.objectContaining({ stream_id: session.streamId, is_placeholder: true })]);
    await until(() => rowsOf(rt, "switch_one"), (rows) => rows.length >= before + 20 && rows.every((r) => r.vod_id === vods[0]!.id));
    // The switch was not a failure.
    const status = await rt.run(rt.supervisor.status("switch_one"));
    expect([status.lastError, status.children.chat.restarts]).toEqual([null, 0]);

    // Back to auto: a new chat actor sees the end of the stream and reconciles its chat.
    await rt.run(rt.supervisor.update("switch_one", { ...testChannelSettings, chat: "auto" }));
    await until(() => rt.connections.snapshot().joinsSent, (n) => n === 3);
    await until(() => chatState(rt, "switch_one"), (state) => state === "watching.live.session.recording");
    sim.setLive("switch_one", false);
    await until(() => chatState(rt, "switch_one"), (state) => state === "watching.offline");
    expect(await vodsOf(rt, "switch_one")).toEqual([expect.objectContaining({ stream_id: session.streamId, is_placeholder: false, twitch_vod_id: session.vodId })]);
  });

  it("a channel stays polled while anyone follows it: a recording that ends leaves the status watcher's registration", async () => {
    const rt = await startRuntime();
    const watched = () => rt.run(Effect.map(rt.liveStatus.pollNow, (poll) => poll.watched));
    const watcher = Effect.runSync(Scope.make());
    const changes: Array<LiveChange> = [];
    await rt.run(rt.chatWork.watchLive("off_one", (change) => void changes.push(change)).pipe(Scope.provide(watcher)));
    const recording = Effect.runFork(Effect.scoped(rt.chatWork.record("off_one", null, { connected: () => {}, rate: () => {} })));
    await until(() => rt.connections.snapshot().connections.flatMap((c) => c.joined), (joined) => joined.includes("off_one"));
    expect(await watched()).toBe(1);
    await Effect.runPromise(Fiber.interrupt(recording));
    expect(poolChannels(rt).flat()).toEqual([]);
    expect(await watched()).toBe(1);
    sim.setLive("off_one", true);
    await until(() => changes, (seen) => seen.some((change) => change.live));
    await Effect.runPromise(Scope.close(watcher, Exit.void));
    expect(await watched()).toBe(0);
  });

  it("two channels share one connection; removing one mid-recording leaves its slot and nothing running, the other records on", async () => {
    const rt = await startRuntime();
    const baseline = await rt.run(rt.supervisor.resources);
    sim.setLive("pair_one", true);
    sim.setLive("pair_two", true);
    await add(rt, "pair_one", "auto");
    await add(rt, "pair_two", "auto");
    for (const channel of ["pair_one", "pair_two"]) {
      await until(() => chatState(rt, channel), (state) => state === "watching.live.session.recording");
      await until(() => rowsOf(rt, channel), (rows) => rows.length >= 20);
    }
    expect(poolChannels(rt)).toEqual([["pair_one", "pair_two"]]);
    expect(sim.ircConnections()).toHaveLength(1);

    const removed = await rt.run(rt.supervisor.removeChannel("pair_one"));
    expect(removed.abandoned).toBe(0);
    expect(poolChannels(rt)).toEqual([["pair_two"]]);
    // The simulator took the PART: what it sends to the channel now reaches nobody.
    await until(() => sim.ircConnections().flatMap((c) => c.channels), (channels) => !channels.some((c) => c.replace("#", "") === "pair_one"));
    const afterRemoval = sim.state().linesSent;
    await until(() => sim.sentLines("pair_one", afterRemoval).length, (n) => n >= 10);
    expect(sim.sentLines("pair_one", afterRemoval).every((line) => line.receivers === 0)).toBe(true);
    const others = (await rowsOf(rt, "pair_two")).length;
    await until(() => rowsOf(rt, "pair_two"), (rows) => rows.length >= others + 20);
    expect((await rt.run(rt.liveStatus.pollNow)).watched).toBe(1);

    await rt.run(rt.supervisor.removeChannel("pair_two"));
    expect(await rt.run(rt.supervisor.resources)).toEqual(baseline);
    expect((await rt.run(rt.liveStatus.pollNow)).watched).toBe(0);
    // The emptied connection is closed after its idle time.
    await until(() => sim.ircConnections().length, (n) => n === 0);
    expect(rt.connections.snapshot().connections).toEqual([]);
  });
});
