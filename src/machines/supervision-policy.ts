/**
 * OTP supervision, as data: how a channel treats its children when they exit.
 *
 * - Restart type, per child: `permanent` children are always restarted,
 *   `transient` ones only after a crash (not after finishing normally),
 *   `temporary` ones never.
 * - Restart intensity: more than `maxRestarts` restarts within
 *   `restartWindowMs` (all children of the channel together, as an OTP
 *   supervisor counts them) escalates: the channel stops its children, enters
 *   `failed` with the reason, and tries again after `failedRetryMs`.
 * - Backoff: the n-th restart of a child within the window waits
 *   `restartBackoff.baseMs · 2^(n-1)`, capped at `restartBackoff.maxMs`.
 * - Strategy: one_for_one — only the child that exited is restarted.
 */
import type { Backoff } from "./backoff.ts";
import type { ChildName } from "./child-report.ts";

/** When a child that exited is started again. */
export type RestartType = "permanent" | "transient" | "temporary";

export interface SupervisionPolicy {
  /** Restarts allowed within the window (OTP intensity); one more escalates. */
  readonly maxRestarts: number;
  /** The window, in milliseconds (OTP period). */
  readonly restartWindowMs: number;
  readonly restartBackoff: Backoff;
  /** How long a `failed` channel waits before starting its children again. */
  readonly failedRetryMs: number;
  readonly restartTypes: Readonly<Record<ChildName, RestartType>>;
}

/** Defaults in line with the project's environment defaults (SUPERVISOR_*). */
export const defaultSupervisionPolicy: SupervisionPolicy = {
  maxRestarts: 5,
  restartWindowMs: 60_000,
  restartBackoff: { baseMs: 500, maxMs: 30_000 },
  failedRetryMs: 300_000,
  restartTypes: { catalog: "permanent", processor: "permanent", chat: "permanent" },
};
