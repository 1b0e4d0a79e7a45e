/**
 * A channel's download circuit breaker, as in the Go original: `closed` counts
 * consecutive failures and opens after `threshold` of them (0 disables it);
 * `open` refuses work for `cooldownMs`, then `halfOpen` lets exactly one probe
 * through: its success closes the breaker (count reset), its failure opens it
 * again.
 *
 * The machine is time-free: it keeps durations, never clock readings. Its state
 * survives restarts through `persist` (after every change) and `load` (at
 * start), which the actor layer binds to `kv`; that binding turns the open
 * duration into the absolute `circuit_open_until` and back. XState does not
 * restore `after` timers from snapshots, so the open period is always re-armed
 * from what `load` returns.
 */
import { assign, setup } from "xstate";
import { unbound } from "./unbound.ts";

/** The breaker's state, as stored in `kv` (`half-open` there) and shown in status. */
export type BreakerState = "closed" | "open" | "halfOpen";

/** What `load` found for a channel, relative to now. */
export interface BreakerRestore {
  readonly state: BreakerState;
  readonly failures: number;
  /** Time left in the open period; 0 unless `state` is `open`. */
  readonly openRemainingMs: number;
}

/** What `persist` must store after a change. */
export interface BreakerRecord {
  readonly state: BreakerState;
  readonly failures: number;
  /** Length of the open period that starts now; 0 unless `state` is `open`. */
  readonly openForMs: number;
}

export interface BreakerInput {
  readonly channel: string;
  /** Consecutive failures that open the breaker; 0 disables it. */
  readonly threshold: number;
  readonly cooldownMs: number;
}

export interface BreakerContext {
  readonly channel: string;
  readonly threshold: number;
  readonly cooldownMs: number;
  readonly failures: number;
  /** Length of the current (or last) open period. */
  readonly openForMs: number;
}

/**
 * `SUCCESS`/`FAILURE`: outcome of a download that counts (permanent failures
 * and cancels do not). `PROBE`: the one half-open attempt has started;
 * `RELEASE`: it ended without a verdict. `RESET`: an operator closed it.
 */
export type BreakerEvent =
  | { readonly type: "SUCCESS" }
  | { readonly type: "FAILURE" }
  | { readonly type: "PROBE" }
  | { readonly type: "RELEASE" }
  | { readonly type: "RESET" };

const record = (state: BreakerState, context: BreakerContext): BreakerRecord => ({
  state,
  failures: context.failures,
  openForMs: state === "open" ? context.openForMs : 0,
});

/** The breaker machine; bind `load` and `persist` with `provide`. */
export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  actors: {
    /** Reads the stored state; `cooldownMs` is the wait to assume for an open breaker stored without a deadline. */
    load: unbound<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>("breaker.load"),
  },
  actions: {
    /** Stores the breaker's state; bound by the actor layer (kv). */
    persist: (_args, _record: BreakerRecord) => {},
    /** Reports that the stored state could not be read; bound by the actor layer. */
    reportLoadError: (_args, _error: { readonly error: unknown }) => {},
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    clearFailures: assign({ failures: 0 }),
    startCooldown: assign({ openForMs: ({ context }) => context.cooldownMs }),
  },
  guards: {
    /** This failure reaches the threshold (never when the breaker is disabled). */
    trips: ({ context }) => context.threshold > 0 && context.failures + 1 >= context.threshold,
    hasFailures: ({ context }) => context.failures > 0,
  },
  delays: {
    openPeriod: ({ context }) => Math.max(0, context.openForMs),
  },
}).createMachine({
  id: "breaker",
  context: ({ input }) => ({
    channel: input.channel,
    threshold: input.threshold,
    cooldownMs: input.cooldownMs,
    failures: 0,
    openForMs: 0,
  }),
  initial: "restoring",
  states: {
    restoring: {
      invoke: {
        src: "load",
        input: ({ context }) => ({ channel: context.channel, cooldownMs: context.cooldownMs }),
        onDone: [
          {
            guard: ({ event }) => event.output.state === "open",
            target: "open",
            actions: assign({
              failures: ({ event }) => event.output.failures,
              openForMs: ({ event }) => event.output.openRemainingMs,
            }),
          },
          {
            guard: ({ event }) => event.output.state === "halfOpen",
            target: "halfOpen",
            actions: assign({ failures: ({ event }) => event.output.failures }),
          },
          { target: "closed", actions: assign({ failures: ({ event }) => event.output.failures }) },
        ],
        // Unreadable state: run closed rather than refuse all work, and say so.
        onError: { target: "closed", actions: { type: "reportLoadError", params: ({ event }) => ({ error: event.error }) } },
      },
    },
    closed: {
      on: {
        FAILURE: [
          {
            guard: "trips",
            target: "open",
            actions: ["countFailure", "startCooldown", { type: "persist", params: ({ context }) => record("open", context) }],
          },
          { actions: ["countFailure", { type: "persist", params: ({ context }) => record("closed", context) }] },
        ],
        SUCCESS: {
          guard: "hasFailures",
          actions: ["clearFailures", { type: "persist", params: ({ context }) => record("closed", context) }],
        },
      },
    },
    open: {
      after: {
        openPeriod: {
          target: "halfOpen",
          actions: { type: "persist", params: ({ context }) => record("halfOpen", context) },
        },
      },
    },
    halfOpen: {
      initial: "ready",
      states: {
        ready: { on: { PROBE: "probing" } },
        probing: { on: { RELEASE: "ready" } },
      },
      on: {
        SUCCESS: {
          target: "closed",
          actions: ["clearFailures", { type: "persist", params: ({ context }) => record("closed", context) }],
        },
        FAILURE: {
          target: "open",
          actions: ["countFailure", "startCooldown", { type: "persist", params: ({ context }) => record("open", context) }],
        },
      },
    },
  },
  on: {
    RESET: {
      target: ".closed",
      actions: ["clearFailures", { type: "persist", params: ({ context }) => record("closed", context) }],
    },
  },
});

/** The breaker's state from a snapshot's value; `undefined` while it is still loading. */
export const breakerStateOf = (value: unknown): BreakerState | "probing" | undefined => {
  if (value === "closed" || value === "open") return value;
  if (typeof value === "object" && value !== null && "halfOpen" in value) {
    return (value as { halfOpen: unknown }).halfOpen === "probing" ? "probing" : "halfOpen";
  }
  return undefined;
};
