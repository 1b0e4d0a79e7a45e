/**
 * Starts a real control plane (HTTP listener, `/control`, console routes,
 * reconciler, optional channels-file watcher) on 127.0.0.1 over a given
 * backend, with logs captured and `/metrics` served from a fresh registry.
 */
import { Effect, Exit, Layer, Logger, Redacted, References, Scope } from "effect";
import type { ChannelSettings } from "../../src/services/channel-settings.ts";
import type { ChannelsFileError } from "../../src/services/config-error.ts";
import { makeMetrics } from "../../src/services/metrics.ts";
import type { MetricsService } from "../../src/services/metrics.ts";
import type { ConfiguredChannels } from "../../src/runtime/channel-reconciler.ts";
import type { ControlBackend } from "../../src/runtime/control-backend.ts";
import { connectControl } from "../../src/runtime/control-client.ts";
import type { ControlClient } from "../../src/runtime/control-client.ts";
import type { ControlLimits } from "../../src/runtime/control-limits.ts";
import { makeControlPlane } from "../../src/runtime/control-plane.ts";
import type { ControlPlane } from "../../src/runtime/control-plane.ts";
import { generateControlToken } from "../../src/runtime/control-token.ts";
import { type Route, sendText, serveHttp } from "../../src/runtime/http-server.ts";
import { testChannelSettings } from "./in-memory-control-backend.ts";

/** One log line written through Effect's logger. */
export interface CapturedLog {
  readonly level: string;
  readonly message: string;
  readonly annotations: Record<string, unknown>;
}

export interface ControlHarness {
  readonly url: string;
  readonly wsUrl: string;
  readonly token: string;
  readonly plane: ControlPlane;
  readonly metrics: MetricsService;
  readonly logs: Array<CapturedLog>;
  readonly connect: (options?: { token?: string; client?: string; validate?: boolean }) => Promise<ControlClient>;
  readonly close: () => Promise<void>;
}

export interface ControlHarnessOptions {
  readonly backend: ControlBackend;
  readonly configured?: () => Effect.Effect<ConfiguredChannels, ChannelsFileError>;
  readonly initialDefaults?: ChannelSettings;
  readonly channelsFile?: string;
  readonly limits?: Partial<ControlLimits>;
  readonly reconcileOnStart?: boolean;
  readonly metrics?: MetricsService;
  /** Reload on SIGHUP sent to this process (off by default). */
  readonly sighup?: boolean;
  /** More HTTP routes on the same listener (the archiver serves its APIs beside `/control`). */
  readonly routes?: ReadonlyArray<Route>;
}

/** Starts the harness; `close()` shuts everything down. */
export const startControlHarness = async (options: ControlHarnessOptions): Promise<ControlHarness> => {
  const logs: Array<CapturedLog> = [];
  const logger = Logger.make<unknown, void>((entry) => {
    const parts = Array.isArray(entry.message) ? entry.message : [entry.message];
    logs.push({
      level: entry.logLevel,
      message: parts.map(String).join(" "),
      annotations: { ...entry.fiber.getRef(References.CurrentLogAnnotations) },
    });
  });
  const scope = Effect.runSync(Scope.make());
  const metrics = options.metrics ?? makeMetrics();
  const token = generateControlToken();
  const defaults = options.initialDefaults ?? testChannelSettings;
  const program = Effect.gen(function* () {
    const plane = yield* makeControlPlane({
      backend: options.backend,
      token: Redacted.make(token),
      configured: options.configured ?? (() => Effect.succeed({ channels: [], defaults })),
      initialDefaults: defaults,
      channelsFile: options.channelsFile,
      sighup: options.sighup ?? false,
      watchDebounceMs: 50,
      metrics,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.reconcileOnStart === undefined ? {} : { reconcileOnStart: options.reconcileOnStart }),
    });
    const http = yield* serveHttp({
      address: "127.0.0.1:0",
      routes: [
        ...plane.routes,
        ...(options.routes ?? []),
        {
          method: "GET",
          path: "/metrics",
          handle: async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
        },
      ],
      upgrades: plane.upgrades,
    });
    return { plane, http };
  });
  const { plane, http } = await Effect.runPromise(
    program.pipe(Scope.provide(scope), Effect.provide(Layer.mergeAll(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "Debug")))),
  );
  const wsUrl = `${http.url.replace(/^http/, "ws")}/control`;
  return {
    url: http.url,
    wsUrl,
    token,
    plane,
    metrics,
    logs,
    connect: (connectOptions = {}) =>
      connectControl({
        url: wsUrl,
        token: connectOptions.token ?? token,
        client: connectOptions.client ?? "test-client",
        timeoutMs: 10_000,
        ...(connectOptions.validate === undefined ? {} : { validate: connectOptions.validate }),
      }),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};
