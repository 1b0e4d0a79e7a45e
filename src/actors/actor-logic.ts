/**
 * The machines bound to the services: every named side effect of every
 * machine becomes an Effect run in the `ActorScope` of the actor it belongs
 * to, and every report becomes a runtime event. Built once per runtime (the
 * logic is shared by all channels; per-channel data travels in inputs).
 */
import { Effect } from "effect";
import type { Scope } from "effect";
import type { BreakerRecord } from "../machines/breaker.ts";
import { breakerMachine } from "../machines/breaker.ts";
import { catalogMachine } from "../machines/catalog.ts";
import type { SupervisionReport } from "../machines/channel.ts";
import { channelMachine } from "../machines/channel.ts";
import { chatMachine } from "../machines/chat.ts";
import type { ChildName } from "../machines/child-report.ts";
import { downloadMachine } from "../machines/download.ts";
import { describeError } from "../machines/failure.ts";
import { processorMachine } from "../machines/processor.ts";
import type { ChannelEnd } from "../machines/partition.ts";
import { partitionMachine } from "../machines/partition.ts";
import type { SupervisorReport } from "../machines/supervisor.ts";
import { supervisorMachine } from "../machines/supervisor.ts";
import type { RuntimeEvents } from "../services/runtime-events.ts";
import type { CloseReport } from "./actor-scope.ts";
import type { BreakerStore } from "./breaker-store.ts";
import type { CatalogWork } from "./catalog-work.ts";
import type { ChannelRegistry } from "./channel-registry.ts";
import type { ChatWork } from "./chat-work.ts";
import type { ProcessorWork } from "./processor-work.ts";
import type { ToolCheck } from "./tool-check.ts";
import { fromWork } from "./work-actor.ts";
import type { WorkOwner } from "./work-actor.ts";

/** What the bound machines need. */
export interface ActorDependencies {
  readonly registry: ChannelRegistry;
  readonly events: RuntimeEvents["Service"];
  readonly catalog: CatalogWork["Service"];
  readonly processor: ProcessorWork["Service"];
  readonly chat: ChatWork["Service"];
  readonly breakers: BreakerStore["Service"];
  readonly tools: ToolCheck["Service"];
  /** How long an actor's shutdown may take before its remaining work is abandoned. */
  readonly shutdownTimeoutMs: number;
  /** Called when a partition reports that a channel's actor ended. */
  readonly onChannelEnded: (report: ChannelEnd) => void;
  /** Called when the root replaced a crashed partition: its channels are gone. */
  readonly onPartitionCrashed: (report: SupervisorReport) => void;
}

/** The supervisor machine with everything below it bound to `deps`. */
export const makeSupervisorLogic = (deps: ActorDependencies) => {
  const { registry, events } = deps;

  const ownedBy =
    (child: ChildName): WorkOwner =>
    (input) =>
      registry.childScope(input.channel, child);
  const ownedByChannel: WorkOwner = (input) => registry.channelScope(input.channel);

  const reportError = (channel: string, actor: string, message: string): void => {
    const at = Date.now();
    const entry = registry.get(channel);
    if (entry !== undefined) entry.lastError = { actor, message, at };
    events.emit({ _tag: "ErrorReported", at, channel, actor, message });
  };

  const reportAbandoned = (channel: string, reports: ReadonlyArray<CloseReport | undefined>): void => {
    for (const report of reports) {
      if (report === undefined || report.abandoned === 0) continue;
      const entry = registry.get(channel);
      if (entry !== undefined) entry.abandoned += report.abandoned;
      events.emit({
        _tag: "ShutdownAbandoned",
        at: Date.now(),
        channel,
        actor: report.actor,
        fibers: report.abandoned,
        timeoutMs: deps.shutdownTimeoutMs,
      });
    }
  };

  // Breaker writes are serialized per channel, latest state wins, and a write
  // in flight is finished even when its actor stops (that is the flush).
  const persistBreaker = (channel: string, record: BreakerRecord): void => {
    const entry = registry.get(channel);
    if (entry === undefined) return;
    entry.breakerPending = record;
    if (entry.breakerWriting) return;
    const scope = registry.childScope(channel, "processor");
    if (scope === undefined) return;
    entry.breakerWriting = true;
    const drain: Effect.Effect<void, never, Scope.Scope> = Effect.suspend(() => {
      const next = entry.breakerPending;
      entry.breakerPending = null;
      if (next === null) {
        entry.breakerWriting = false;
        return Effect.void;
      }
      return deps.breakers.save(channel, next).pipe(
        Effect.catch((error) => Effect.sync(() => reportError(channel, "processor.breaker", error.message))),
        Effect.andThen(drain),
      );
    });
    scope.run(Effect.uninterruptible(drain)).addObserver(() => {
      entry.breakerWriting = false;
    });
  };

  const breaker = breakerMachine.provide({
    actors: {
      load: fromWork(ownedBy("processor"), (input) => deps.breakers.load(input.channel, input.cooldownMs)),
    },
    actions: {
      persist: ({ context }, record) => persistBreaker(context.channel, record),
      reportLoadError: ({ context }, { error }) =>
        reportError(context.channel, "processor.breaker", `breaker state unreadable, starting closed: ${describeError(error)}`),
    },
  });

  const download = downloadMachine.provide({
    actors: {
      slot: fromWork(
        ownedBy("processor"),
        (input, notify) =>
          deps.processor.acquireSlot(input.channel, input.job).pipe(Effect.andThen(Effect.sync(() => notify({ type: "SLOT.ACQUIRED" })))),
        "resource",
      ),
      prepare: fromWork(ownedBy("processor"), (input) => deps.processor.prepare(input.channel, input.job, input.attempt)),
      download: fromWork(ownedBy("processor"), (input, notify) =>
        deps.processor.download(input.channel, input.job, input.attempt, (progress) => {
          notify({ type: "PROGRESS", progress });
          events.emit({ _tag: "DownloadProgressed", at: Date.now(), channel: input.channel, vodId: input.job.vodId, ...progress });
        }),
      ),
      verify: fromWork(ownedBy("processor"), (input) => deps.processor.verify(input.channel, input.job, input.file)),
      upload: fromWork(ownedBy("processor"), (input) => deps.processor.upload(input.channel, input.job, input.file, input.settings)),
    },
  });

  const processor = processorMachine.provide({
    actors: {
      breaker,
      download,
      checkTools: fromWork(ownedBy("processor"), () => deps.tools.check),
      claimNext: fromWork(ownedBy("processor"), (input) => deps.processor.claimNext(input.channel)),
      finish: fromWork(ownedBy("processor"), (input) => deps.processor.finish(input.channel, input.job, input.outcome)),
    },
    actions: {
      reportError: ({ context }, { message }) => reportError(context.channel, "processor", message),
    },
  });

  const catalog = catalogMachine.provide({
    actors: {
      scan: fromWork(ownedBy("catalog"), (input) => deps.catalog.scan(input.channel, input.settings)),
    },
    actions: {
      reportError: ({ context }, { message }) => reportError(context.channel, "catalog", `scan failed: ${message}`),
    },
  });

  const chat = chatMachine.provide({
    actors: {
      watchLive: fromWork(
        ownedBy("chat"),
        (input, notify) =>
          deps.chat.watchLive(input.channel, (change) => notify(change.live ? { type: "LIVE", stream: change.stream } : { type: "OFFLINE" })),
        "resource",
      ),
      record: fromWork(ownedBy("chat"), (input, notify) =>
        deps.chat.record(input.channel, input.stream, {
          connected: () => notify({ type: "CONNECTED" }),
          rate: (perMinute) => {
            notify({ type: "RATE", perMinute });
            events.emit({ _tag: "ChatRateMeasured", at: Date.now(), channel: input.channel, perMinute });
          },
        }),
      ),
      reconcile: fromWork(ownedBy("chat"), (input) => deps.chat.reconcile(input.channel, input.stream, input.attempt)),
    },
    actions: {
      reportError: ({ context }, { message }) => reportError(context.channel, "chat", message),
    },
  });

  const supervisionReport = (channel: string, report: SupervisionReport): void => {
    const at = Date.now();
    switch (report.kind) {
      case "crash":
        reportError(channel, report.child, `crashed: ${report.message}`);
        return;
      case "restart":
        events.emit({
          _tag: "ChildRestarted",
          at,
          channel,
          actor: report.child,
          attempt: report.attempt,
          backoffMs: report.backoffMs,
          reason: report.reason,
        });
        return;
      case "escalate": {
        const entry = registry.get(channel);
        if (entry !== undefined) entry.lastError = { actor: "channel", message: report.reason, at };
        events.emit({ _tag: "ChannelEscalated", at, channel, reason: report.reason, retryInMs: report.retryInMs });
        return;
      }
    }
  };

  const channel = channelMachine.provide({
    actors: {
      catalog,
      processor,
      chat,
      releaseChild: fromWork(ownedByChannel, (input) =>
        registry
          .releaseChild(input.channel, input.child, deps.shutdownTimeoutMs)
          .pipe(Effect.tap((report) => Effect.sync(() => reportAbandoned(input.channel, [report]))), Effect.asVoid),
      ),
      releaseChildren: fromWork(ownedByChannel, (input) =>
        registry
          .releaseChildren(input.channel, deps.shutdownTimeoutMs)
          .pipe(Effect.tap((reports) => Effect.sync(() => reportAbandoned(input.channel, reports))), Effect.asVoid),
      ),
    },
    actions: {
      report: ({ context }, report) => supervisionReport(context.name, report),
    },
  });

  const partition = partitionMachine.provide({
    actors: { channel },
    actions: {
      report: (_args, report) => deps.onChannelEnded(report),
    },
  });

  return supervisorMachine.provide({
    actors: { partition },
    actions: {
      report: (_args, report) => deps.onPartitionCrashed(report),
    },
  });
};

/** The logic `makeSupervisorLogic` returns. */
export type SupervisorLogic = ReturnType<typeof makeSupervisorLogic>;
