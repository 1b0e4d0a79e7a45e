/**
 * The pipeline under the real actor tree: `Supervisor` with the live catalog
 * and processor work, breakers stored in `kv`, the real tool check; chat idle.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BreakerStore } from "../../../src/actors/breaker-store.ts";
import { catalogWorkLive } from "../../../src/actors/catalog-work-live.ts";
import { ChatWork } from "../../../src/actors/chat-work.ts";
import { processorWorkLive } from "../../../src/actors/processor-work-live.ts";
import { ToolCheck } from "../../../src/actors/tool-check.ts";
import type { ChannelSettings } from "../../../src/services/channel-settings.ts";
import { KvRepository } from "../../../src/services/repositories/kv.ts";
import { RuntimeEvents, type RuntimeEvent } from "../../../src/services/runtime-events.ts";
import { defaultSupervisorOptions, Supervisor, SupervisorOptions } from "../../../src/services/supervisor.ts";
import { type ToolPaths, Tools } from "../../../src/services/tools.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { type Pipeline, settingsWith, startPipeline } from "./pipeline-harness.ts";
import { insertVod } from "./vod-fixtures.ts";
import { pollUntil } from "../../support/poll-until.ts";

interface Supervised {
  readonly pipeline: Pipeline;
  readonly supervisor: Supervisor["Service"];
  readonly events: Array<RuntimeEvent>;
  readonly run: <A, E>(effect: Effect.Effect<A, E, Effect.Services<Parameters<Pipeline["runtime"]["runPromise"]>[0]>>) => Promise<A>;
  readonly close: () => Promise<void>;
}

const started: Array<Supervised> = [];
let sim: Simulator | undefined;

const startSupervised = async (options: {
  readonly slots: number;
  readonly threshold: number;
  readonly cooldownMs: number;
  readonly tools?: ToolPaths;
}): Promise<Supervised> => {
  const pipeline = await startPipeline(sim!, { slots: options.slots, processing: { retryCooldownMs: 300 } });
  const policy = defaultSupervisorOptions.policy;
  const tree = Supervisor.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        RuntimeEvents.layer,
        catalogWorkLive,
        processorWorkLive,
        ChatWork.layerIdle,
        Layer.effect(BreakerStore, Effect.map(Effect.service(KvRepository), BreakerStore.fromKv)),
        ToolCheck.layer(options.tools).pipe(Layer.provide(Tools.layer(options.tools))),
      ),
    ),
    Layer.provide(
      Layer.succeed(SupervisorOptions, {
        ...defaultSupervisorOptions,
        firstScanSpreadMs: 0,
        shutdownTimeoutMs: 5_000,
        policy: {
          ...policy,
          processor: {
            ...policy.processor,
            circuit: { threshold: options.threshold, cooldownMs: options.cooldownMs },
            download: { maxAttempts: 1, backoff: { baseMs: 50, maxMs: 200 } },
            pollIntervalMs: 200,
          },
        },
      }),
    ),
  );
  const scope = Effect.runSync(Scope.make());
  const context = await pipeline.runtime.runPromise(Layer.buildWithScope(tree, scope));
  const events: Array<RuntimeEvent> = [];
  Context.get(context, RuntimeEvents).listen((event) => void events.push(event));
  const supervised: Supervised = {
    pipeline,
    supervisor: Context.get(context, Supervisor),
    events,
    run: (effect) => pipeline.runtime.runPromise(effect),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      await pipeline.close();
    },
  };
  started.push(supervised);
  return supervised;
};

/** Polls `read` until `done` holds; fails with the last value after `timeoutMs`. */
const until = <A>(read: () => Promise<A>, done: (value: A) => boolean, timeoutMs = 45_000): Promise<A> =>
  pollUntil(read, done, timeoutMs, 100);

const breakerOf = (s: Supervised, channel: string) =>
  s.run(Effect.flatMap(Effect.service(KvRepository), (kv) => kv.getMany(channel, ["circuit_state", "circuit_failures", "circuit_open_until"]))).then(
    (entries) => Object.fromEntries(entries),
  );

const processedOf = (s: Supervised, channel: string) =>
  s.run(
    Effect.flatMap(
      Effect.service(SqlClient),
      (sql) => sql<{ readonly twitch_vod_id: string; readonly processed: boolean; readonly download_retries: number; readonly failed_permanently: boolean }>`
        SELECT twitch_vod_id, processed, download_retries, failed_permanently FROM vods WHERE channel = ${channel} ORDER BY twitch_vod_id`,
    ),
  );

const add = (s: Supervised, channel: string, settings: ChannelSettings = settingsWith()) => s.run(s.supervisor.addChannel(channel, settings));

const vods = (first: number, count: number, seconds = 4) =>
  Array.from({ length: count }, (_, i) => ({ id: String(first + i), duration: `${seconds}s`, createdAt: new Date(Date.UTC(2024, 6, 1 + i)).toISOString() }));

beforeAll(async () => {
  sim = await startSimulator({
    chat: false,
    uploadDir: null,
    scenario: {
      channels: [
        { login: "broken", id: "5001", vods: vods(7101, 2) },
        { login: "healthy", id: "5002", vods: vods(7201, 2) },
        { login: "gone", id: "5003", vods: vods(7301, 1) },
        { login: "many", id: "5004", vods: vods(7401, 8, 8) },
        { login: "single", id: "5005", vods: vods(7501, 1, 8) },
        { login: "notools", id: "5006", vods: vods(7601, 2) },
      ],
    },
  });
  await sim.prepareVideo();
});
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});
afterAll(async () => {
  await sim?.stop();
});

describe("the pipeline under the supervisor", () => {
  it("repeated transient failures open one channel's breaker only; it half-opens after the cooldown and closes on success", async () => {
    const s = await startSupervised({ slots: 2, threshold: 2, cooldownMs: 2_000 });
    const broken = sim!.injectFault({ kind: "http-error", path: "/vods/710", status: 503, count: 1000, persistent: true });
    await add(s, "broken");
    await add(s, "healthy");

    const open = await until(() => breakerOf(s, "broken"), (b) => b["circuit_state"] === "open");
    expect(open["circuit_failures"]).toBe("2");
    expect(Date.parse(open["circuit_open_until"] ?? "")).toBeGreaterThan(Date.now() - 2_000);
    // The other channel works on, its breaker untouched.
    await until(() => processedOf(s, "healthy"), (rows) => rows.length === 2 && rows.every((r) => r.processed));
    expect((await breakerOf(s, "healthy"))["circuit_state"] ?? "closed").toBe("closed");
    const failing = await processedOf(s, "broken");
    expect(failing.map((r) => [r.processed, r.download_retries])).toEqual([
      [false, 1],
      [false, 1],
    ]);
    expect((await s.run(s.supervisor.status("broken"))).state).toBeDefined();

    sim!.clearFault(broken);
    // Half-open after the cooldown: the one probe is let through, and its success closes the breaker.
    await until(() => breakerOf(s, "broken"), (b) => b["circuit_state"] === "half-open", 30_000);
    await until(() => breakerOf(s, "broken"), (b) => b["circuit_state"] === "closed", 30_000);
    expect((await breakerOf(s, "broken"))["circuit_failures"]).toBe("0");
    await until(() => processedOf(s, "broken"), (rows) => rows.every((r) => r.processed));
  });

  it("a VOD that is gone fails permanently without charging the breaker; the channel goes on", async () => {
    const s = await startSupervised({ slots: 2, threshold: 1, cooldownMs: 60_000 });
    // Known to the catalog once, gone from Twitch now: Helix answers 404 for it.
    await s.run(insertVod({ channel: "gone", twitch_vod_id: "7399", date: new Date(Date.UTC(2020, 0, 1)), url: `${sim!.urls.base}/vods/7399/index.m3u8` }));
    await add(s, "gone");
    const rows = await until(() => processedOf(s, "gone"), (r) => r.length === 2 && r.some((v) => v.processed) && r.some((v) => v.failed_permanently));
    expect(rows.find((r) => r.twitch_vod_id === "7399")).toMatchObject({ failed_permanently: true, processed: false, download_retries: 0 });
    expect(rows.find((r) => r.twitch_vod_id === "7301")).toMatchObject({ processed: true });
    const breaker = await breakerOf(s, "gone");
    expect(breaker["circuit_state"] ?? "closed").toBe("closed");
    expect(breaker["circuit_failures"] ?? "0").toBe("0");
  });

  it("with one slot, a channel's single VOD starts right after the running download of a channel with many", async () => {
    const s = await startSupervised({ slots: 1, threshold: 0, cooldownMs: 60_000 });
    const firstProgress = () => {
      const order: Array<string> = [];
      for (const event of s.events) {
        if (event._tag !== "DownloadProgressed") continue;
        const key = `${event.channel}:${event.vodId}`;
        if (!order.includes(key)) order.push(key);
      }
      return order;
    };
    await add(s, "many");
    await until(async () => firstProgress(), (order) => order.length >= 1);
    await add(s, "single");
    const order = await until(async () => firstProgress(), (o) => o.some((key) => key.startsWith("single:")) && o.length >= 3);
    expect(order[0]?.startsWith("many:")).toBe(true);
    expect(order[1]?.startsWith("single:")).toBe(true);
    await s.run(s.supervisor.removeChannel("many"));
  });

  it("without yt-dlp the processor is degraded with the reason, and the catalog keeps cataloging", async () => {
    const s = await startSupervised({ slots: 1, threshold: 0, cooldownMs: 60_000, tools: { ytdlpPath: "/nonexistent/yt-dlp" } });
    await add(s, "notools");
    const status = await until(() => s.run(s.supervisor.status("notools")), (st) => st.children.processor.status === "degraded");
    expect(status.children.processor.reason).toMatch(/yt-dlp/);
    const rows = await until(() => processedOf(s, "notools"), (r) => r.length === 2);
    expect(rows.every((r) => !r.processed && r.download_retries === 0)).toBe(true);
    expect((await s.run(s.supervisor.status("notools"))).children.catalog.status).toBe("ready");
  });
});
