/**
 * A channel's catalog: `idle` ↔ `scanning`. It scans on its interval and on
 * demand (`SCAN`); a scan that fails with an expected failure waits in
 * `backoff` (doubling, never longer than the interval) and tries again. After
 * every scan it tells its channel, which wakes the processor.
 *
 * The first scan waits `firstScanDelayMs` so thousands of channels started
 * together do not all scan in the same second; the actor layer picks the
 * spread. An interval of 0 means on demand only.
 */
import type { CatalogSettings } from "../services/channel-settings.ts";
import { assign, sendParent, setup } from "xstate";
import type { Backoff } from "./backoff.ts";
import { backoffDelay, timerDelay } from "./backoff.ts";
import type { ChildReport } from "./child-report.ts";
import { describeError, isExpectedFailure } from "./failure.ts";
import { unbound } from "./unbound.ts";

/** What a scan found. */
export interface ScanResult {
  /** VODs the source listed. */
  readonly found: number;
  /** Of those, how many were new to the catalog. */
  readonly added: number;
}

export interface CatalogInput {
  readonly channel: string;
  readonly settings: CatalogSettings;
  readonly backoff: Backoff;
  readonly firstScanDelayMs: number;
}

/** What the `scan` actor receives. */
export interface ScanInput {
  readonly channel: string;
  readonly settings: CatalogSettings;
}

export interface CatalogContext {
  readonly channel: string;
  readonly settings: CatalogSettings;
  readonly backoff: Backoff;
  /** Delay before the next scheduled scan; negative when none is scheduled (interval 0). */
  readonly nextScanMs: number;
  /** Consecutive failed scans. */
  readonly failures: number;
  readonly lastScan: ScanResult | null;
  readonly lastError: string | null;
}

/** `SCAN`: scan now. `SETTINGS`: new catalog settings, applied without a restart. */
export type CatalogEvent = { readonly type: "SCAN" } | { readonly type: "SETTINGS"; readonly settings: CatalogSettings };

const scheduleAfter = (settings: CatalogSettings): number => (settings.intervalMs > 0 ? settings.intervalMs : -1);

/** The catalog machine; bind `scan` with `provide`. */
export const catalogMachine = setup({
  types: {
    context: {} as CatalogContext,
    events: {} as CatalogEvent,
    input: {} as CatalogInput,
  },
  actors: {
    scan: unbound<ScanResult, ScanInput>("catalog.scan"),
  },
  actions: {
    /** Reports a failed scan; bound by the actor layer. */
    reportError: (_args, _params: { readonly message: string }) => {},
    applySettings: assign({
      settings: ({ context, event }) => (event.type === "SETTINGS" ? event.settings : context.settings),
    }),
  },
  guards: {
    onDemandOnly: ({ context }) => context.nextScanMs < 0,
    handled: (_, params: { readonly error: unknown }) => isExpectedFailure(params.error),
  },
  delays: {
    nextScan: ({ context }) => timerDelay(context.nextScanMs),
    retryDelay: ({ context }) => {
      const delay = backoffDelay(context.backoff, context.failures);
      return context.settings.intervalMs > 0 ? Math.min(delay, timerDelay(context.settings.intervalMs)) : delay;
    },
  },
}).createMachine({
  id: "catalog",
  context: ({ input }) => ({
    channel: input.channel,
    settings: input.settings,
    backoff: input.backoff,
    nextScanMs: Math.max(0, input.firstScanDelayMs),
    failures: 0,
    lastScan: null,
    lastError: null,
  }),
  entry: sendParent({ type: "CHILD.READY", child: "catalog" } satisfies ChildReport),
  initial: "idle",
  states: {
    idle: {
      initial: "deciding",
      states: {
        deciding: { always: [{ guard: "onDemandOnly", target: "onDemand" }, { target: "scheduled" }] },
        scheduled: { after: { nextScan: "#catalog.scanning" } },
        onDemand: {},
      },
      on: {
        SCAN: "scanning",
        // Re-entering re-arms the timer with the new interval.
        SETTINGS: {
          target: "idle",
          reenter: true,
          actions: ["applySettings", assign({ nextScanMs: ({ event }) => scheduleAfter(event.settings) })],
        },
      },
    },
    scanning: {
      invoke: {
        src: "scan",
        input: ({ context }) => ({ channel: context.channel, settings: context.settings }),
        onDone: {
          target: "idle",
          actions: [
            assign({
              lastScan: ({ event }) => event.output,
              failures: 0,
              lastError: null,
              nextScanMs: ({ context }) => scheduleAfter(context.settings),
            }),
            sendParent(({ event }) => ({ type: "CATALOG.SCANNED", found: event.output.found, added: event.output.added }) satisfies ChildReport),
          ],
        },
        onError: {
          guard: { type: "handled", params: ({ event }) => ({ error: event.error }) },
          target: "backoff",
          actions: [
            assign({
              failures: ({ context }) => context.failures + 1,
              lastError: ({ event }) => describeError(event.error),
            }),
            { type: "reportError", params: ({ event }) => ({ message: describeError(event.error) }) },
          ],
        },
      },
      on: { SETTINGS: { actions: "applySettings" } },
    },
    backoff: {
      after: { retryDelay: "scanning" },
      on: {
        SCAN: "scanning",
        SETTINGS: { actions: "applySettings" },
      },
    },
  },
});
