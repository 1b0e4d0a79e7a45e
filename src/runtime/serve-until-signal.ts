/**
 * Runs the archiver until SIGINT or SIGTERM, then shuts it down in order within
 * `SHUTDOWN_TIMEOUT`: the shared life of `start` and `demo`.
 */
import { Effect } from "effect";
import type { AppConfig } from "../services/config.ts";
import { makePinoLogger } from "../services/log.ts";
import { makeMetrics } from "../services/metrics.ts";
import { runtimeLayer } from "./runtime-layer.ts";
import type { RunningServer, ServerOptions } from "./server.ts";
import { runServer } from "./server.ts";
import { runUntilSignal } from "./shutdown-signal.ts";

/** Resolves with the exit code: 0 after an orderly shutdown, 1 when the archiver failed. */
export const serveUntilSignal = async (
  command: string,
  config: AppConfig,
  options: ServerOptions & { readonly onReady?: (server: RunningServer) => Promise<void> | void } = {},
): Promise<number> => {
  const log = makePinoLogger(config.log);
  const program = Effect.gen(function* () {
    const server = yield* runServer(config, options);
    if (options.onReady) yield* Effect.promise(async () => options.onReady?.(server));
    yield* Effect.never;
  }).pipe(Effect.scoped, Effect.provide(runtimeLayer(config, log, makeMetrics())));

  // A margin over SHUTDOWN_TIMEOUT (which bounds the actors) leaves room for the
  // database to stop after them.
  const outcome = await runUntilSignal(program, {
    shutdownTimeoutMs: config.supervisor.shutdownTimeoutMs + 5_000,
    report: (message) => log.info(message),
  });
  switch (outcome._tag) {
    case "Signalled":
      log.info(`${command} stopped`);
      return 0;
    case "Completed":
      return 0;
    case "Failed":
      process.stderr.write(`${command}: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}\n`);
      return 1;
  }
};
