/**
 * The archiver as one scoped resource: services, the actor tree, the control
 * plane and the HTTP listener. Acquired in dependency order and released in
 * reverse when the scope closes (HTTP stops taking requests, actors stop, the
 * pool closes, the embedded PostgreSQL stops). `start` and `demo` both run it.
 */
import { readFileSync } from "node:fs";
import { Duration, Effect, Schedule } from "effect";
import type { Redacted } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { Logger as PinoLogger } from "pino";
import type { AppConfig } from "../services/config.ts";
import { scanCatalog } from "../services/catalog-scan.ts";
import { Helix } from "../services/helix.ts";
import { Log } from "../services/log.ts";
import { Metrics } from "../services/metrics.ts";
import type { MetricsService } from "../services/metrics.ts";
import { loadSqlMigrations, migrationsDirectory, migrationsTable } from "../services/migrations.ts";
import { AuditRepository } from "../services/repositories/audit.ts";
import { KvRepository } from "../services/repositories/kv.ts";
import { VodsRepository } from "../services/repositories/vods.ts";
import { Supervisor } from "../services/supervisor.ts";
import { reconcilePending } from "../services/chat-reconcile.ts";
import { runChatRetention } from "../services/chat-retention.ts";
import { retentionLoop } from "../services/vod-retention.ts";
import { adminRoutes } from "./admin-api.ts";
import type { VodControl } from "./admin-api.ts";
import { bindChannelMetrics } from "./channel-metrics.ts";
import { makeLiveControlBackend } from "./control-backend-live.ts";
import { configuredChannelsOf, makeControlPlane } from "./control-plane.ts";
import { controlTokenNotice, resolveControlToken } from "./control-token.ts";
import { healthRoutes } from "./health.ts";
import type { Route } from "./http-server.ts";
import { sendText, serveHttp } from "./http-server.ts";
import { inspectSupervisor } from "./inspector.ts";
import { justlogRoutes } from "./justlog-api.ts";
import { vodChatRoutes } from "./vod-chat-api.ts";

export interface ServerOptions {
  /** Start the XState inspector relay on this port (`--inspect[=PORT]`). */
  readonly inspectPort?: number | undefined;
}

export interface RunningServer {
  /** Base URL of the HTTP listener, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The `/control` bearer token. */
  readonly controlToken: Redacted.Redacted<string>;
}

const version: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const metricsRoute = (metrics: MetricsService): Route => ({
  method: "GET",
  path: "/metrics",
  handle: async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
});

/** Acquires the whole archiver; it runs until the surrounding scope closes. */
export const runServer = Effect.fn("runServer")(function* (config: AppConfig, options: ServerOptions = {}) {
  const log = yield* Log;
  const metrics = yield* Metrics;
  const sql = yield* SqlClient;
  const supervisor = yield* Supervisor;
  const context = yield* Effect.context<SqlClient | Helix | KvRepository>();
  const run = <A, E>(effect: Effect.Effect<A, E, SqlClient | Helix | KvRepository>): Promise<A> => Effect.runPromiseWith(context)(effect);

  const expectedMigrations = Object.keys(yield* loadSqlMigrations(migrationsDirectory)).length;
  const databasePing = () =>
    run(sql`SELECT 1`.pipe(Effect.as(undefined), Effect.catch((error) => Effect.succeed(`database unreachable: ${error.message}`))));
  const migrationsCheck = () =>
    run(
      sql<{ applied: number }>`SELECT count(*)::int AS applied FROM ${sql(migrationsTable)}`.pipe(
        Effect.map(([row]) => {
          const pending = expectedMigrations - (row?.applied ?? 0);
          return pending > 0 ? `${pending} migration(s) not applied` : undefined;
        }),
        Effect.catch((error) => Effect.succeed(`cannot read migrations: ${error.message}`)),
      ),
    );
  let supervisorRunning = false;
  const supervisorCheck = async () => (supervisorRunning ? undefined : "the supervisor has not started the configured channels yet");

  const token = yield* resolveControlToken({ env: config.security.controlToken, dataDir: config.dataDir });
  const notice = controlTokenNotice(token);
  if (notice !== undefined) process.stderr.write(`${notice}\n`);

  yield* bindChannelMetrics(metrics);
  const backend = yield* makeLiveControlBackend({ defaults: () => config.channelDefaults });
  const plane = yield* makeControlPlane({
    backend,
    token: token.token,
    configured: configuredChannelsOf(config),
    initialDefaults: config.channelDefaults,
    channelsFile: config.channelsFile,
    metrics,
    serverName: `vod-tender ${version}`,
  });
  supervisorRunning = true;
  if (plane.startReport !== undefined) {
    log.info({ ...plane.startReport }, "channels started");
  }

  // The Go original's `catalog` endpoint runs one backfill with its own limits;
  // it runs beside the channel's own catalog actor, then wakes the processor.
  const vodControl: VodControl = {
    // As in the Go original, a scan lists the channel's new VODs and processes them.
    scan: (channel) => supervisor.request(channel, { type: "SCAN" }).pipe(Effect.as(true), Effect.orElseSucceed(() => false)),
    catalog: (channel, request) =>
      supervisor.status(channel).pipe(
        Effect.flatMap((status) =>
          scanCatalog(channel, { max: request.max ?? status.settings.catalog.max, maxAgeDays: request.maxAgeDays ?? status.settings.catalog.maxAgeDays }).pipe(
            Effect.andThen(supervisor.request(channel, { type: "WAKE" })),
            Effect.catchCause((cause) => Effect.logWarning(`admin catalog backfill of ${channel} failed`, cause)),
            Effect.provide(context),
            Effect.forkDetach,
          ),
        ),
        Effect.as(true),
        Effect.orElseSucceed(() => false),
      ),
    cancel: (vodId) => backend.vods.cancel(vodId).pipe(Effect.orElseSucceed(() => false)),
  };

  const admin = adminRoutes({
    adminToken: config.security.adminToken,
    vods: yield* VodsRepository,
    control: vodControl,
    audit: yield* AuditRepository,
  });
  const justlog = yield* justlogRoutes();
  const vodChat = yield* vodChatRoutes({ adminToken: config.security.adminToken, vods: yield* VodsRepository });

  yield* retentionLoop(
    config.retention.intervalMs,
    supervisor.list.pipe(Effect.map((channels) => channels.map((c) => ({ name: c.name, retention: c.settings.retention })))),
    { dataDir: config.dataDir },
  ).pipe(Effect.forkScoped);
  // Chat left on a placeholder (a reconciliation cut short by a restart or a
  // removal) moves to its archive once the catalog has it.
  yield* reconcilePending().pipe(
    Effect.tap((moved) => (moved.length > 0 ? Effect.logInfo(`reconciled ${moved.length} pending stream(s)`) : Effect.void)),
    Effect.catchCause((cause) => Effect.logWarning("pending chat reconciliation failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.minutes(30))),
    Effect.provide(context),
    Effect.forkScoped,
  );
  if (config.chat.retentionDays > 0) {
    yield* runChatRetention(config.chat.retentionDays).pipe(Effect.forkScoped);
  }

  if (options.inspectPort !== undefined) {
    const inspector = yield* inspectSupervisor(options.inspectPort);
    log.info({ url: inspector.url, relay: inspector.relayUrl }, `XState inspector relay on ${inspector.relayUrl}`);
  }

  const http = yield* serveHttp({
    address: `${config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host}:${config.http.port}`,
    routes: [
      ...healthRoutes({
        databasePing,
        readiness: [
          { name: "database", check: databasePing },
          { name: "migrations", check: migrationsCheck },
          { name: "supervisor", check: supervisorCheck },
        ],
      }),
      metricsRoute(metrics),
      ...admin,
      ...vodChat,
      ...plane.routes,
      ...justlog,
    ],
    upgrades: plane.upgrades,
    onError: (error, req) => log.error({ err: error, path: req.url }, "HTTP handler failed"),
  });
  yield* Effect.addFinalizer(() => Effect.sync(() => log.info("HTTP listener closed; stopping channels")));
  log.info({ url: http.url }, `listening on ${http.url}`);
  return { url: http.url, controlToken: token.token } satisfies RunningServer;
});
