/**
 * `vod-tender start`: runs the archiver until SIGINT or SIGTERM, then shuts it
 * down in order within `SHUTDOWN_TIMEOUT` and exits 0.
 */
import { Cause, Effect, Exit } from "effect";
import { Log } from "../services/log.ts";
import { loadConfigOrReport } from "./load-config-or-report.ts";
import { runServer, serverLayer } from "./server.ts";
import { armShutdownDeadline, awaitShutdownSignal } from "./shutdown-signal.ts";

/** Runs the command; resolves with the exit code once shut down. */
export const runStart = async (argv: ReadonlyArray<string>): Promise<number> => {
  const config = await loadConfigOrReport(process.env);
  if (config === 2) return 2;
  const program = Effect.gen(function* () {
    const log = yield* Log;
    yield* runServer(config, { inspect: argv.includes("--inspect") });
    const signal = yield* awaitShutdownSignal;
    log.info({ signal }, `${signal} received: shutting down`);
    // Finalizers run in reverse order of acquisition once this scope closes;
    // a margin over SHUTDOWN_TIMEOUT leaves room for the database to stop.
    armShutdownDeadline(config.supervisor.shutdownTimeoutMs + 5_000, (message) => log.error(message));
  }).pipe(Effect.scoped, Effect.provide(serverLayer(config)));

  const exit = await Effect.runPromiseExit(program);
  if (Exit.isSuccess(exit)) {
    process.stderr.write("vod-tender stopped\n");
    return 0;
  }
  const failure = Cause.squash(exit.cause);
  process.stderr.write(`vod-tender: ${failure instanceof Error ? failure.message : String(failure)}\n`);
  return 1;
};
