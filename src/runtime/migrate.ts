/**
 * `vod-tender migrate`: applies pending migrations to the configured database
 * (or the embedded one) and reports what it applied.
 */
import { Cause, Effect, Exit } from "effect";
import { databaseLayer, runMigrations } from "../services/database.ts";
import { loadConfigOrReport } from "./load-config-or-report.ts";

/** Runs the command; returns the exit code. */
export const runMigrate = async (_argv: ReadonlyArray<string>): Promise<number> => {
  const config = await loadConfigOrReport(process.env);
  if (config === 2) return 2;
  const exit = await Effect.runPromiseExit(
    runMigrations().pipe(Effect.provide(databaseLayer({ url: config.databaseUrl, dataDir: config.dataDir, migrate: false }))),
  );
  if (Exit.isFailure(exit)) {
    const failure = Cause.squash(exit.cause);
    process.stderr.write(`vod-tender migrate: ${failure instanceof Error ? failure.message : String(failure)}\n`);
    return 1;
  }
  if (exit.value.length === 0) process.stdout.write("schema is up to date\n");
  for (const migration of exit.value) process.stdout.write(`applied ${String(migration.id).padStart(4, "0")}_${migration.name}\n`);
  return 0;
};
