/**
 * Health endpoints: `/healthz` (the Go original's: database ping → `ok`),
 * `/health/live` (the process answers) and `/health/ready` (every readiness
 * check passes; otherwise 503 naming the first failing check).
 */
import type { Route } from "./http-server.ts";
import { sendJson, sendText } from "./http-server.ts";

/** One named readiness check; resolves to an error message when not ready. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<string | undefined>;
}

export interface ReadinessReport {
  readonly status: "ready" | "not_ready";
  /** The first check that failed, as the Go original's `/readyz` names it. */
  readonly failed_check?: string;
  readonly error?: string;
  readonly checks: Record<string, { ok: boolean; error?: string }>;
}

// A check that hangs (a wedged database) must not hang the probe: load balancers
// time out around a few seconds, and a late answer is a wrong one.
const CHECK_TIMEOUT_MS = 2_000;

const withTimeout = (name: string, run: () => Promise<string | undefined>): Promise<string | undefined> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`${name} check timed out after ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
    run().then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve(error instanceof Error ? error.message : String(error));
      },
    );
  });

/** Runs every check concurrently and reports all of them. */
export const runReadiness = async (checks: ReadonlyArray<ReadinessCheck>): Promise<ReadinessReport> => {
  const results = await Promise.all(checks.map(async (c) => [c.name, await withTimeout(c.name, c.check)] as const));
  const report: ReadinessReport["checks"] = {};
  let failed: { name: string; error: string } | undefined;
  for (const [name, error] of results) {
    report[name] = error === undefined ? { ok: true } : { ok: false, error };
    if (error !== undefined && failed === undefined) failed = { name, error };
  }
  return failed
    ? { status: "not_ready", failed_check: failed.name, error: failed.error, checks: report }
    : { status: "ready", checks: report };
};

/** The three health routes. `databasePing` resolves to an error message or undefined. */
export const healthRoutes = (options: {
  readonly databasePing: () => Promise<string | undefined>;
  readonly readiness: ReadonlyArray<ReadinessCheck>;
}): ReadonlyArray<Route> => [
  {
    method: "GET",
    path: "/healthz",
    handle: async (_req, res) => {
      const error = await withTimeout("database", options.databasePing);
      if (error === undefined) sendText(res, 200, "ok");
      else sendJson(res, 503, { status: "error", failed_check: "database", error });
    },
  },
  { method: "GET", path: "/health/live", handle: (_req, res) => sendJson(res, 200, { status: "live" }) },
  {
    method: "GET",
    path: "/health/ready",
    handle: async (_req, res) => {
      const report = await runReadiness(options.readiness);
      sendJson(res, report.status === "ready" ? 200 : 503, report);
    },
  },
];
