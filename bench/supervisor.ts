/**
 * Supervisor benchmark: thousands of channel trees in one process.
 *
 * Adds 1,000 and then up to 10,000 channels whose children idle (external
 * calls answered in-process: empty catalog, empty queue, never live), and
 * measures the time until all are `running`, add latency (p50/p99, and p99
 * while 1,000 already run), resident memory per idle channel tree, how long a
 * crashed child takes to run again beyond its backoff, and the time to remove
 * every channel with full teardown. The last line of output is one JSON
 * object with the figures.
 *
 *   npm run bench:supervisor            (10,000 channels)
 *   npm run bench:supervisor -- 2000    (another total)
 *
 * Goals: ≤ 64 KB RSS per channel, add p99 ≤ 20 ms with 1,000 running,
 * restart ≤ 50 ms beyond the backoff.
 */
import { Effect, Layer } from "effect";
import { BreakerStore } from "../src/actors/breaker-store.ts";
import { CatalogWork } from "../src/actors/catalog-work.ts";
import { ChatWork } from "../src/actors/chat-work.ts";
import { ProcessorWork } from "../src/actors/processor-work.ts";
import { ToolCheck } from "../src/actors/tool-check.ts";
import { WorkError } from "../src/actors/work-error.ts";
import { RuntimeEvents } from "../src/services/runtime-events.ts";
import { Supervisor, SupervisorOptions, defaultSupervisorOptions } from "../src/services/supervisor.ts";
import { quietSettings as settings } from "../test/support/quiet-settings.ts";

const TOTAL = Math.max(1_000, Number(process.argv[2] ?? 10_000));
const FIRST = 1_000;
const CRASHER = "crash_me";
const RESTART_BACKOFF_MS = 100;


// The idle catalog, except that one channel's scan throws when asked: the crash the restart figure times.
let crashedAt = 0;
const catalogWork = Layer.succeed(
  CatalogWork,
  CatalogWork.of({
    scan: (channel) =>
      channel === CRASHER
        ? Effect.suspend(() => {
            crashedAt = performance.now();
            return Effect.die(new Error("catalog bug"));
          })
        : Effect.succeed({ found: 0, added: 0 }),
  }),
);

const options: SupervisorOptions = {
  ...defaultSupervisorOptions,
  policy: {
    ...defaultSupervisorOptions.policy,
    supervision: { ...defaultSupervisorOptions.policy.supervision, restartBackoff: { baseMs: RESTART_BACKOFF_MS, maxMs: RESTART_BACKOFF_MS } },
  },
};

const layer = Supervisor.layer.pipe(
  Layer.provide([catalogWork, ProcessorWork.layerIdle, ChatWork.layerIdle, BreakerStore.layerMemory, Layer.succeed(ToolCheck, ToolCheck.of({ check: Effect.succeed({ missing: [] }) }))]),
  Layer.provideMerge(RuntimeEvents.layer),
  Layer.provide(Layer.succeed(SupervisorOptions, options)),
);

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect !== undefined) {
    collect();
    collect();
  }
};

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

const name = (i: number): string => `ch${String(i).padStart(5, "0")}`;

const program = Effect.gen(function* () {
  const supervisor = yield* Supervisor;

  const waitAllRunning = Effect.gen(function* () {
    const started = performance.now();
    for (;;) {
      const summary = yield* supervisor.summary;
      if (summary.running === Object.values(summary).reduce((a, b) => a + b, 0)) return performance.now() - started;
      yield* Effect.sleep(5);
    }
  });

  const addRange = (from: number, to: number, latencies: Array<number>) =>
    Effect.gen(function* () {
      for (let i = from; i < to; i++) {
        const started = performance.now();
        yield* supervisor.addChannel(name(i), settings);
        latencies.push(performance.now() - started);
        // Let the children's first work (tool check, breaker load, claim) run as it would between real requests.
        if (i % 100 === 99) yield* Effect.yieldNow;
      }
    });

  // Warm up code paths so the baseline does not count one-off compilation.
  yield* supervisor.addChannel("warmup", settings);
  yield* waitAllRunning;
  yield* supervisor.removeChannel("warmup");
  gc();
  const baseline = process.memoryUsage().rss;

  const firstLatencies: Array<number> = [];
  const firstStarted = performance.now();
  yield* addRange(0, FIRST, firstLatencies);
  const firstAdded = performance.now() - firstStarted;
  const firstRunning = firstAdded + (yield* waitAllRunning);
  console.log(`${FIRST} channels: added in ${round(firstAdded)} ms, all running after ${round(firstRunning)} ms`);

  const nextLatencies: Array<number> = [];
  const nextStarted = performance.now();
  yield* addRange(FIRST, TOTAL, nextLatencies);
  const nextAdded = performance.now() - nextStarted;
  const allRunning = nextAdded + (yield* waitAllRunning);
  console.log(`${TOTAL} channels: ${TOTAL - FIRST} more added in ${round(nextAdded)} ms, all running after ${round(allRunning)} ms`);

  gc();
  const rss = process.memoryUsage().rss;
  const rssPerChannelKb = (rss - baseline) / TOTAL / 1024;
  const resources = yield* supervisor.resources;
  console.log(`RSS ${round(rss / 1048576)} MiB (baseline ${round(baseline / 1048576)} MiB): ${round(rssPerChannelKb)} KB per channel; ${JSON.stringify(resources)}`);

  // Restart: a child throws; how long until the channel runs again, beyond the backoff.
  yield* supervisor.addChannel(CRASHER, settings);
  yield* waitAllRunning;
  yield* supervisor.request(CRASHER, { type: "SCAN" });
  let restartMs = Number.NaN;
  for (;;) {
    const status = yield* supervisor.status(CRASHER);
    if (status.state === "running" && status.children.catalog.restarts === 1) {
      restartMs = performance.now() - crashedAt - RESTART_BACKOFF_MS;
      break;
    }
    yield* Effect.sleep(1);
  }
  console.log(`restart after a crash: ${round(restartMs, 2)} ms beyond the ${RESTART_BACKOFF_MS} ms backoff (1 ms polling)`);
  yield* supervisor.removeChannel(CRASHER);

  const allLatencies = [...firstLatencies, ...nextLatencies].sort((a, b) => a - b);
  const atThousand = nextLatencies.slice(0, FIRST).sort((a, b) => a - b);

  const removeStarted = performance.now();
  const reports = yield* Effect.forEach(
    Array.from({ length: TOTAL }, (_, i) => name(i)),
    (channel) => supervisor.removeChannel(channel),
    { concurrency: 256 },
  );
  const removeAllMs = performance.now() - removeStarted;
  const after = yield* supervisor.resources;
  const abandoned = reports.reduce((sum, report) => sum + report.abandoned, 0);
  console.log(`removed all in ${round(removeAllMs)} ms; abandoned fibers ${abandoned}; left: ${JSON.stringify(after)}`);

  return {
    channels: TOTAL,
    rss_per_channel_kb: round(rssPerChannelKb),
    add_p50_ms: round(percentile(allLatencies, 50), 3),
    add_p99_ms: round(percentile(allLatencies, 99), 3),
    add_p99_with_1000_running_ms: round(percentile(atThousand, 99), 3),
    running_1000_ms: round(firstRunning),
    running_all_ms: round(allRunning),
    restart_ms: round(restartMs, 2),
    remove_all_ms: round(removeAllMs),
    abandoned,
    leftover: { fibers: after.fibers, scopes: after.scopes, timers: after.timers, actors: after.actors },
  };
}).pipe(
  Effect.catch((error: unknown) => Effect.die(error instanceof WorkError ? new Error(error.message) : error)),
  Effect.scoped,
  Effect.provide(layer),
);

const figures = await Effect.runPromise(program);
console.log(JSON.stringify(figures));
