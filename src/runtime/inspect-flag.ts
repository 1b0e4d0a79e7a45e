/**
 * The `--inspect[=PORT]` flag of `start` and `demo`. The relay's port differs
 * from the Stately default (8080) because that is also vod-tender's HTTP port.
 */

/** Port of the inspector relay when `--inspect` names none. */
export const DEFAULT_INSPECT_PORT = 8081;

/** The relay port asked for, undefined without the flag; throws naming the flag on a bad port. */
export const parseInspectFlag = (argv: ReadonlyArray<string>): number | undefined => {
  for (const arg of argv) {
    if (arg === "--inspect") return DEFAULT_INSPECT_PORT;
    if (arg.startsWith("--inspect=")) {
      const text = arg.slice("--inspect=".length);
      const port = Number(text);
      if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`--inspect: expected a port number, got "${text}"`);
      return port;
    }
  }
  return undefined;
};
