/**
 * Delays between attempts, shared by the machines. Pure: no jitter (machines
 * must replay identically under a simulated clock); spreading load is the
 * actor layer's business.
 */

/** An exponential backoff: `baseMs` before the first retry, doubling up to `maxMs`. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

// Longest delay a Node timer can hold; longer ones fire at once.
const MAX_TIMER_MS = 2_147_483_647;

/** Clamps a delay to what a timer can wait for. */
export const timerDelay = (ms: number): number => Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));

/** Delay before retry number `attempt` (1 = first retry). */
export const backoffDelay = (backoff: Backoff, attempt: number): number =>
  timerDelay(Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1)));
