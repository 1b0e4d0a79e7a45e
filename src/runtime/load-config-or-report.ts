/**
 * Loads the configuration for a command; on failure prints every problem, one
 * per line, and yields the exit code instead.
 */
import { Effect, Exit } from "effect";
import type { AppConfig } from "../services/config.ts";
import { loadConfig } from "../services/config.ts";

/** The configuration, or exit code 2 after printing why there is none. */
export const loadConfigOrReport = async (
  env: Record<string, string | undefined>,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<AppConfig | 2> => {
  const exit = await Effect.runPromiseExit(loadConfig(env));
  if (Exit.isSuccess(exit)) return exit.value;
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail");
  const text = error && error._tag === "Fail" ? error.error.message : String(exit.cause);
  stderr.write(`vod-tender: invalid configuration:\n${text.split("\n").map((line) => `  ${line}`).join("\n")}\n`);
  return 2;
};
