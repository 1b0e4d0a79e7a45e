/**
 * Process signals: SIGINT or SIGTERM at any moment, during start-up as much as
 * while serving, turn into an orderly shutdown of the running program.
 */
import { Cause, Effect, Exit } from "effect";

export interface RunUntilSignalOptions {
  /** Longest an orderly shutdown may take before the process gives up and exits 1. */
  readonly shutdownTimeoutMs: number;
  /** Where to say what happened (the process log). */
  readonly report: (message: string) => void;
}

/** How the program ended: by a signal (after an orderly shutdown), by itself, or by failing. */
export type RunOutcome =
  | { readonly _tag: "Signalled"; readonly signal: NodeJS.Signals }
  | { readonly _tag: "Completed" }
  | { readonly _tag: "Failed"; readonly error: unknown };

/**
 * Runs `program` (which normally never ends) until SIGINT or SIGTERM, then
 * interrupts it so its scopes close and finalizers run in reverse order. If the
 * shutdown has not finished after `shutdownTimeoutMs`, reports it and exits 1
 * rather than hang. A second signal exits at once, as operators expect of Ctrl-C
 * twice; one within the first second is taken for the same request delivered
 * twice (a wrapper forwarding the signal to its process group), not impatience.
 */
export const runUntilSignal = async <E>(program: Effect.Effect<void, E>, options: RunUntilSignalOptions): Promise<RunOutcome> => {
  const fiber = Effect.runFork(program);
  let received: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received === undefined) {
      received = { signal, at: Date.now() };
      options.report(`${signal} received: shutting down`);
      setTimeout(() => {
        options.report(`shutdown did not finish within ${options.shutdownTimeoutMs} ms; exiting with work abandoned`);
        process.exit(1);
      }, options.shutdownTimeoutMs).unref();
      fiber.interruptUnsafe();
      return;
    }
    if (Date.now() - received.at < 1_000) return;
    options.report(`${signal} received again during shutdown; exiting now`);
    process.exit(1);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const exit = await new Promise<Exit.Exit<void, E>>((resolve) => fiber.addObserver(resolve));
    if (received !== undefined && (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause))) {
      return { _tag: "Signalled", signal: received.signal };
    }
    if (Exit.isSuccess(exit)) return { _tag: "Completed" };
    return { _tag: "Failed", error: Cause.squash(exit.cause) };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
};
