/**
 * Waiting for the operator to stop the process, and making sure it does stop.
 */
import { Effect } from "effect";

/** Completes with the first SIGINT or SIGTERM; handlers are removed afterwards. */
export const awaitShutdownSignal: Effect.Effect<NodeJS.Signals> = Effect.callback<NodeJS.Signals>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return Effect.sync(() => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
});

/**
 * Arms a last-resort exit: if an orderly shutdown has not finished after
 * `timeoutMs`, report it and exit with code 1 rather than hang forever. A second
 * signal during shutdown exits at once, as operators expect of Ctrl-C twice.
 */
export const armShutdownDeadline = (timeoutMs: number, report: (message: string) => void): void => {
  const timer = setTimeout(() => {
    report(`shutdown did not finish within ${timeoutMs} ms; exiting with work abandoned`);
    process.exit(1);
  }, timeoutMs);
  timer.unref();
  const again = (signal: NodeJS.Signals) => {
    report(`${signal} received again during shutdown; exiting now`);
    process.exit(1);
  };
  process.once("SIGINT", again);
  process.once("SIGTERM", again);
};
