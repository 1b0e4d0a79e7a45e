/**
 * The archiver as one scoped resource: logging, metrics, database, supervisor,
 * HTTP. Acquired in dependency order, released in reverse when the scope closes
 * (HTTP stops taking requests, actors stop, the pool closes, the embedded
 * PostgreSQL stops). `start` and `demo` both run it.
 */
import { Effect, Layer } from "effect";
import type { Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { AppConfig } from "../services/config.ts";
import { Config } from "../services/config.ts";
import { databaseLayer } from "../services/database.ts";
import type { Logger as PinoLogger } from "pino";
import { Log, makePinoLogger } from "../services/log.ts";
import { Metrics } from "../services/metrics.ts";
import { migrationsDirectory, migrationsTable, loadSqlMigrations } from "../services/migrations.ts";
import { healthRoutes } from "./health.ts";
import type { Route } from "./http-server.ts";
import { sendText, serveHttp } from "./http-server.ts";

export interface ServerOptions {
  /** Start the XState inspector relay (`--inspect`). */
  readonly inspect?: boolean;
}

export interface RunningServer {
  /** Base URL of the HTTP listener, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
}

/** Every service the server's parts need, built from the configuration. */
export const serverLayer = (config: AppConfig, logger: PinoLogger = makePinoLogger(config.log)) =>
  Layer.mergeAll(Config.layer(config), Metrics.layer, databaseLayer({ url: config.databaseUrl, dataDir: config.dataDir })).pipe(
    Layer.provideMerge(Log.layerFrom(logger)),
  );

const metricsRoute = (metrics: Metrics["Service"]): Route => ({
  method: "GET",
  path: "/metrics",
  handle: async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
});

/** Acquires the whole archiver; it runs until the surrounding scope closes. */
export const runServer = Effect.fn("runServer")(function* (config: AppConfig, _options: ServerOptions = {}) {
  const log = yield* Log;
  const metrics = yield* Metrics;
  const sql = yield* SqlClient;
  const context = yield* Effect.context<SqlClient>();
  const run = <A, E>(effect: Effect.Effect<A, E, SqlClient>): Promise<A> => Effect.runPromiseWith(context)(effect);

  const expectedMigrations = (yield* loadSqlMigrations(migrationsDirectory)) as Record<string, unknown>;
  const databasePing = () =>
    run(sql`SELECT 1`.pipe(Effect.as(undefined), Effect.catch((error) => Effect.succeed(`database unreachable: ${error.message}`))));
  const migrationsCheck = () =>
    run(
      sql<{ applied: number }>`SELECT count(*)::int AS applied FROM ${sql(migrationsTable)}`.pipe(
        Effect.map(([row]) => {
          const pending = Object.keys(expectedMigrations).length - (row?.applied ?? 0);
          return pending > 0 ? `${pending} migration(s) not applied` : undefined;
        }),
        Effect.catch((error) => Effect.succeed(`cannot read migrations: ${error.message}`)),
      ),
    );

  const http = yield* serveHttp({
    address: `${config.http.host.includes(":") ? `[${config.http.host}]` : config.http.host}:${config.http.port}`,
    routes: [
      ...healthRoutes({
        databasePing,
        readiness: [
          { name: "database", check: databasePing },
          { name: "migrations", check: migrationsCheck },
        ],
      }),
      metricsRoute(metrics),
    ],
    onError: (error, req) => log.error({ err: error, path: req.url }, "HTTP handler failed"),
  });
  log.info({ url: http.url }, `listening on ${http.url}`);
  return { url: http.url } satisfies RunningServer;
});
