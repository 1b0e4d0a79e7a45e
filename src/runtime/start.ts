/**
 * `vod-tender start`: runs the archiver until SIGINT or SIGTERM, then shuts it
 * down in order within `SHUTDOWN_TIMEOUT` and exits 0.
 */
import { loadConfigOrReport } from "./load-config-or-report.ts";
import { parseInspectFlag } from "./inspect-flag.ts";
import { serveUntilSignal } from "./serve-until-signal.ts";

/** Runs the command; resolves with the exit code once shut down. */
export const runStart = async (argv: ReadonlyArray<string>): Promise<number> => {
  let inspectPort: number | undefined;
  try {
    inspectPort = parseInspectFlag(argv);
  } catch (error) {
    process.stderr.write(`vod-tender start: ${(error as Error).message}\n`);
    return 2;
  }
  const config = await loadConfigOrReport(process.env);
  if (config === 2) return 2;
  return serveUntilSignal("vod-tender", config, { inspectPort });
};
