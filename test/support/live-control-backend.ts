/**
 * The real control backend for integration tests: a Supervisor whose channel
 * children idle (empty catalog, empty queue, never live), the runtime event
 * bus, the repositories over a real database, and `vodtender_channels` bound
 * to the supervisor, all inside one scope.
 */
import { Effect, Exit, Layer, Logger, Redacted, Scope } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { BreakerStore } from "../../src/actors/breaker-store.ts";
import { CatalogWork } from "../../src/actors/catalog-work.ts";
import { ChatWork } from "../../src/actors/chat-work.ts";
import { ProcessorWork } from "../../src/actors/processor-work.ts";
import { ToolCheck } from "../../src/actors/tool-check.ts";
import { connectPgClient, runMigrations } from "../../src/services/database.ts";
import { makeMetrics } from "../../src/services/metrics.ts";
import type { MetricsService } from "../../src/services/metrics.ts";
import { AuditRepository } from "../../src/services/repositories/audit.ts";
import { ChannelsRepository } from "../../src/services/repositories/channels.ts";
import { VodsRepository } from "../../src/services/repositories/vods.ts";
import { RuntimeEvents } from "../../src/services/runtime-events.ts";
import { Supervisor, SupervisorOptions, defaultSupervisorOptions } from "../../src/services/supervisor.ts";
import { bindChannelMetrics } from "../../src/runtime/channel-metrics.ts";
import type { ControlBackend } from "../../src/runtime/control-backend.ts";
import { makeLiveControlBackend } from "../../src/runtime/control-backend-live.ts";
import { testChannelSettings } from "./in-memory-control-backend.ts";

export interface LiveControlBackend {
  readonly backend: ControlBackend;
  readonly metrics: MetricsService;
  /** Runs an effect against the same database (assertions on tables). */
  readonly sql: <A, E>(effect: Effect.Effect<A, E, SqlClient>) => Promise<A>;
  readonly close: () => Promise<void>;
}

/** Starts the backend on the database at `url` (already migrated unless `migrate`). */
export const startLiveControlBackend = async (
  url: string,
  options: {
    readonly migrate?: boolean;
    readonly supervisor?: Partial<SupervisorOptions>;
    /** How often `vodtender_channels` may be recounted (tests want it quick, production uses 100 ms). */
    readonly metricsCoalesceMs?: number;
  } = {},
): Promise<LiveControlBackend> => {
  const scope = Effect.runSync(Scope.make());
  const metrics = makeMetrics();
  const database = Layer.effectContext(
    Effect.gen(function* () {
      const client = yield* connectPgClient(Redacted.make(url), { maxConnections: 4 });
      if (options.migrate === true) yield* runMigrations().pipe(Effect.provideService(SqlClient, client));
      return SqlClient.context(client);
    }),
  ).pipe(Layer.provide(Reactivity.layer));
  const supervisor = Supervisor.layer.pipe(
    Layer.provide([
      CatalogWork.layerIdle,
      ProcessorWork.layerIdle,
      ChatWork.layerIdle,
      BreakerStore.layerMemory,
      Layer.succeed(ToolCheck, ToolCheck.of({ check: Effect.succeed({ missing: [] }) })),
      Layer.succeed(SupervisorOptions, { ...defaultSupervisorOptions, firstScanSpreadMs: 0, shutdownTimeoutMs: 2_000, ...options.supervisor }),
    ]),
    Layer.provideMerge(RuntimeEvents.layer),
  );
  const layer = Layer.mergeAll(supervisor, ChannelsRepository.layer, AuditRepository.layer, VodsRepository.layer).pipe(
    Layer.provideMerge(database),
    Layer.provide(Logger.layer([])),
  );
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope));
  const backend = await Effect.runPromise(
    Effect.gen(function* () {
      yield* bindChannelMetrics(metrics, { coalesceMs: options.metricsCoalesceMs ?? 10 });
      return yield* makeLiveControlBackend({ defaults: () => testChannelSettings });
    }).pipe(Effect.provide(context), Scope.provide(scope)),
  );
  return {
    backend,
    metrics,
    sql: (effect) => Effect.runPromise(Effect.provide(effect, context)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};
