/**
 * The Supervisor with its work layers chosen per test (idle by default), fast
 * supervision timings, and helpers to wait for what the runtime reports
 * without sleeping for fixed times.
 */
import { Effect, Layer } from "effect";
import type { Scope } from "effect";
import { BreakerStore } from "../../../src/actors/breaker-store.ts";
import { CatalogWork } from "../../../src/actors/catalog-work.ts";
import { ChatWork } from "../../../src/actors/chat-work.ts";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import { ToolCheck } from "../../../src/actors/tool-check.ts";
import { RuntimeEvents } from "../../../src/services/runtime-events.ts";
import type { RuntimeEvent } from "../../../src/services/runtime-events.ts";
import { Supervisor, SupervisorOptions, defaultSupervisorOptions } from "../../../src/services/supervisor.ts";

export { quietSettings as settings } from "../../support/quiet-settings.ts";

/**
 * Supervision fast enough for tests: short backoffs, 3 restarts a minute,
 * failed channels wait long, and no catalog scan unless a test asks for one.
 */
export const fastOptions = (overrides: Partial<SupervisorOptions> = {}): SupervisorOptions => ({
  ...defaultSupervisorOptions,
  policy: {
    ...defaultSupervisorOptions.policy,
    supervision: {
      ...defaultSupervisorOptions.policy.supervision,
      maxRestarts: 3,
      restartWindowMs: 60_000,
      restartBackoff: { baseMs: 20, maxMs: 80 },
      failedRetryMs: 600_000,
    },
    processor: { ...defaultSupervisorOptions.policy.processor, pollIntervalMs: 0 },
  },
  shutdownTimeoutMs: 2_000,
  firstScanSpreadMs: 0,
  firstScanDelayMs: 3_600_000,
  partitions: 8,
  ...overrides,
});

/** Tools that are all there. */
export const toolsPresent = Layer.succeed(ToolCheck, ToolCheck.of({ check: Effect.succeed({ missing: [] }) }));

export interface WorkLayers {
  readonly catalog?: Layer.Layer<CatalogWork>;
  readonly processor?: Layer.Layer<ProcessorWork>;
  readonly chat?: Layer.Layer<ChatWork>;
  readonly breakers?: Layer.Layer<BreakerStore>;
  readonly tools?: Layer.Layer<ToolCheck>;
  readonly options?: SupervisorOptions;
}

/** The Supervisor and its event bus over the given work (idle where not given). */
export const supervisorLayer = (work: WorkLayers = {}): Layer.Layer<Supervisor | RuntimeEvents> =>
  Supervisor.layer.pipe(
    Layer.provide([
      work.catalog ?? CatalogWork.layerIdle,
      work.processor ?? ProcessorWork.layerIdle,
      work.chat ?? ChatWork.layerIdle,
      work.breakers ?? BreakerStore.layerMemory,
      work.tools ?? toolsPresent,
    ]),
    Layer.provideMerge(RuntimeEvents.layer),
    Layer.provide(Layer.succeed(SupervisorOptions, work.options ?? fastOptions())),
  );

/** Waits until `check` succeeds with a value, polling; fails after `timeoutMs` (generous: it guards hangs, not speed). */
export const eventually = <A>(check: Effect.Effect<A | undefined, unknown>, timeoutMs = 15_000): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = yield* Effect.orElseSucceed(check, () => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) return yield* Effect.die(new Error(`condition not met within ${timeoutMs} ms`));
      yield* Effect.sleep(5);
    }
  });

/** Collects every runtime event (but raw inspection) from now on, for the life of the scope. */
export const recordEvents: Effect.Effect<ReadonlyArray<RuntimeEvent>, never, RuntimeEvents | Scope.Scope> = Effect.gen(function* () {
  const events = yield* RuntimeEvents;
  const seen: Array<RuntimeEvent> = [];
  yield* Effect.acquireRelease(
    Effect.sync(() => events.listen((event) => event._tag !== "ActorInspected" && seen.push(event))),
    (stop) => Effect.sync(stop),
  );
  return seen;
});
