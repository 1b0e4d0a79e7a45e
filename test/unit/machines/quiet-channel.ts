/**
 * The channel machine bound to work that succeeds and then has nothing to do:
 * what a healthy channel with an empty queue and an offline stream looks like.
 */
import { fromPromise } from "xstate";
import { breakerMachine } from "../../../src/machines/breaker.ts";
import type { BreakerRestore } from "../../../src/machines/breaker.ts";
import { catalogMachine } from "../../../src/machines/catalog.ts";
import type { ScanInput, ScanResult } from "../../../src/machines/catalog.ts";
import { channelMachine } from "../../../src/machines/channel.ts";
import type { ChannelPolicy } from "../../../src/machines/channel.ts";
import { chatMachine } from "../../../src/machines/chat.ts";
import type { DownloadJob } from "../../../src/machines/download.ts";
import { processorMachine } from "../../../src/machines/processor.ts";
import type { ToolStatus } from "../../../src/machines/processor.ts";

const forever = <Output, Input>() => fromPromise<Output, Input>(() => new Promise<Output>(() => {}));

export const quietChannel = channelMachine.provide({
  actors: {
    catalog: catalogMachine.provide({
      actors: { scan: fromPromise<ScanResult, ScanInput>(async () => ({ found: 0, added: 0 })) },
    }),
    processor: processorMachine.provide({
      actors: {
        breaker: breakerMachine.provide({
          actors: { load: fromPromise<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>(async () => ({ state: "closed", failures: 0, openRemainingMs: 0 })) },
        }),
        checkTools: fromPromise<ToolStatus, { readonly channel: string }>(async () => ({ missing: [] })),
        claimNext: fromPromise<DownloadJob | null, { readonly channel: string }>(async () => null),
      },
    }),
    chat: chatMachine.provide({ actors: { watchLive: forever(), record: forever() } }),
    releaseChild: fromPromise(async () => {}),
    releaseChildren: fromPromise(async () => {}),
  },
});

export { quietSettings } from "../../support/quiet-settings.ts";

export const quietPolicy: ChannelPolicy = {
  supervision: {
    maxRestarts: 3,
    restartWindowMs: 60_000,
    restartBackoff: { baseMs: 500, maxMs: 8_000 },
    failedRetryMs: 300_000,
    restartTypes: { catalog: "permanent", processor: "permanent", chat: "permanent" },
  },
  processor: {
    circuit: { threshold: 0, cooldownMs: 300_000 },
    download: { maxAttempts: 3, backoff: { baseMs: 1_000, maxMs: 10_000 } },
    toolRecheckMs: 60_000,
    pollIntervalMs: 0,
  },
  catalog: { backoff: { baseMs: 1_000, maxMs: 60_000 } },
  chat: { reconnect: { baseMs: 1_000, maxMs: 60_000 }, reconcile: { delayMs: 60_000, retryMs: 30_000, maxAttempts: 3 } },
};
