/**
 * Runs `vod-tender` as a real child process on the project's Node, collecting its
 * output, for tests that must see the command a user types.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
export const binPath = fileURLToPath(new URL("../../bin/vod-tender.js", import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string;
  /** Resolves when a line matching `pattern` has been written; rejects on exit or timeout. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  /** Resolves with the exit code (signal-killed → 128 + signal number). */
  readonly exited: Promise<number>;
}

/** Starts `vod-tender <args>` with `env` added to a clean copy of this process's environment. */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string>): CliProcess => {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: projectRoot,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => {
      for (const waiter of waiters) waiter();
      resolve(code ?? (signal === "SIGKILL" ? 137 : signal === "SIGTERM" ? 143 : 1));
    }),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`));
      }, timeoutMs);
      const check = () => {
        const match = text.match(pattern);
        if (match) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`process exited before ${pattern}; output:\n${text}`));
        }
      };
      waiters.add(check);
      check();
    });
  return { child, output: () => text, waitFor, exited };
};
