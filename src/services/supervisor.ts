/**
 * The Supervisor: the runtime's actor tree as a service. It owns the root
 * actor and one channel actor per channel (each with its catalog, processor
 * and chat), adds, removes, pauses, resumes and updates channels, reports
 * their status, and publishes what happens on the `RuntimeEvents` bus.
 *
 * - Operations on one channel are serialized; different channels proceed
 *   concurrently. Adding a channel that exists, or touching one that does not,
 *   fails with a typed error.
 * - Removing a channel stops its children in reverse order and waits, bounded
 *   by `shutdownTimeoutMs`, for their fibers, subprocesses and sockets to go;
 *   what does not go in time is abandoned and reported.
 * - Nothing a channel does can take the process or another channel down: a
 *   channel actor that crashes is restarted after a backoff, and a root that
 *   errors is rebuilt with every channel.
 * - The work behind the actors (`CatalogWork`, `ProcessorWork`, `ChatWork`,
 *   `BreakerStore`, `ToolCheck`) comes from the Effect context, so the real
 *   implementations replace the idle ones without changes here.
 *
 * Every method returns an Effect; plain async code (HTTP, control) runs them
 * through a `ManagedRuntime`.
 */
import { Context, Effect, Layer, Schema } from "effect";
import type { Scope, Stream } from "effect";
import type { InspectionEvent, Observer } from "xstate";
import { ActorAccounting, ActorScope } from "../actors/actor-scope.ts";
import type { CloseReport } from "../actors/actor-scope.ts";
import { makeSupervisorLogic } from "../actors/actor-logic.ts";
import { BreakerStore } from "../actors/breaker-store.ts";
import { CatalogWork } from "../actors/catalog-work.ts";
import { ChannelRegistry } from "../actors/channel-registry.ts";
import type { ChannelEntry } from "../actors/channel-registry.ts";
import { channelStatus } from "../actors/channel-status.ts";
import type { ChannelStatus } from "../actors/channel-status.ts";
import { ChatWork } from "../actors/chat-work.ts";
import { inspectionObserver } from "../actors/inspection.ts";
import { makeKeyedLock } from "../actors/keyed-lock.ts";
import { ProcessorWork } from "../actors/processor-work.ts";
import { startRootActor } from "../actors/root-actor.ts";
import type { RootActor, TimerClock } from "../actors/root-actor.ts";
import { ToolCheck } from "../actors/tool-check.ts";
import { backoffDelay } from "../machines/backoff.ts";
import type { ChannelCommand, ChannelPolicy, ChannelState } from "../machines/channel.ts";
import { channelStateOf } from "../machines/channel.ts";
import { describeError } from "../machines/failure.ts";
import type { ChannelEnd } from "../machines/partition.ts";
import type { SupervisorReport } from "../machines/supervisor.ts";
import { partitionOf } from "../machines/supervisor.ts";
import { defaultSupervisionPolicy } from "../machines/supervision-policy.ts";
import type { ChannelSettings, ChannelSource } from "./channel-settings.ts";
import { RuntimeEvents } from "./runtime-events.ts";
import type { RuntimeEvent } from "./runtime-events.ts";

export type { ActorNode, ChannelStatus, ChildView, DownloadView } from "../actors/channel-status.ts";

/** The channel is already running. */
export class ChannelExists extends Schema.TaggedError<ChannelExists>()("ChannelExists", { channel: Schema.String }) {}

/** No channel of that name is running. */
export class ChannelNotFound extends Schema.TaggedError<ChannelNotFound>()("ChannelNotFound", { channel: Schema.String }) {}

/** The name cannot be a Twitch login (lower case letters, digits, underscore; at most 25). */
export class InvalidChannelName extends Schema.TaggedError<InvalidChannelName>()("InvalidChannelName", {
  channel: Schema.String,
  reason: Schema.String,
}) {}

/** The supervisor is shutting down and takes no more operations. */
export class SupervisorClosed extends Schema.TaggedError<SupervisorClosed>()("SupervisorClosed", {}) {}

/** How the supervisor runs its channels. */
export interface SupervisorOptions {
  /** Supervision, processor, catalog and chat limits shared by every channel. */
  readonly policy: ChannelPolicy;
  /** How long an actor's shutdown may take before its remaining work is abandoned (OTP `shutdown`). */
  readonly shutdownTimeoutMs: number;
  /** A new channel's first catalog scan comes at a random moment within this long, so mass starts spread out. */
  readonly firstScanSpreadMs: number;
  /** A fixed wait before that spread (0 by default). */
  readonly firstScanDelayMs?: number | undefined;
  /** Partitions of the root sharing the channels; more keep adds and removes cheap with very many channels. */
  readonly partitions: number;
  /** The clock XState timers use; the real one when omitted. */
  readonly clock?: TimerClock | undefined;
}

/** Defaults matching the environment defaults of the configuration. */
export const defaultSupervisorOptions: SupervisorOptions = {
  policy: {
    supervision: defaultSupervisionPolicy,
    processor: {
      circuit: { threshold: 0, cooldownMs: 300_000 },
      download: { maxAttempts: 5, backoff: { baseMs: 2_000, maxMs: 300_000 } },
      toolRecheckMs: 60_000,
      pollIntervalMs: 60_000,
    },
    catalog: { backoff: { baseMs: 5_000, maxMs: 600_000 } },
    chat: {
      reconnect: { baseMs: 1_000, maxMs: 60_000 },
      reconcile: { delayMs: 60_000, retryMs: 30_000, maxAttempts: 30 },
    },
  },
  shutdownTimeoutMs: 10_000,
  firstScanSpreadMs: 60_000,
  partitions: 64,
};

/** The supervisor's options; provide it to override the defaults. */
export const SupervisorOptions = Context.Reference<SupervisorOptions>("vod-tender/services/SupervisorOptions", {
  defaultValue: () => defaultSupervisorOptions,
});

/** How a channel is added. */
export interface AddChannelOptions {
  /** Start paused: the actor exists, its children do not run. */
  readonly paused?: boolean | undefined;
  /** Where the channel came from (env, file, control). */
  readonly source?: ChannelSource | undefined;
}

/** Commands for a running channel besides the lifecycle ones. */
export type ChannelRequest = Extract<ChannelCommand, { readonly type: "SCAN" | "WAKE" | "CANCEL" | "BREAKER.RESET" | "RETRY" }>;

/** How a removal went. */
export interface RemoveReport {
  readonly channel: string;
  /** Fibers abandoned during the removal because they outlived the shutdown timeout; 0 for a clean teardown. */
  readonly abandoned: number;
}

/** The runtime's own accounting of what runs. */
export interface RuntimeResources {
  readonly channels: number;
  /** XState actors in the tree, the root included. */
  readonly actors: number;
  /** Actor scopes open. */
  readonly scopes: number;
  /** Work fibers running. */
  readonly fibers: number;
  /** Resources held open by actors (subscriptions, download slots). */
  readonly holds: number;
  /** XState delayed events waiting to fire. */
  readonly timers: number;
  /** Channels with an operation running or waiting. */
  readonly locks: number;
}

/** The actor tree. */
export class Supervisor extends Context.Service<
  Supervisor,
  {
    readonly addChannel: (
      name: string,
      settings: ChannelSettings,
      options?: AddChannelOptions,
    ) => Effect.Effect<ChannelStatus, ChannelExists | InvalidChannelName | SupervisorClosed>;
    /** Stops the channel in order, waits (bounded) for its resources, and forgets it. */
    readonly removeChannel: (name: string) => Effect.Effect<RemoveReport, ChannelNotFound | SupervisorClosed>;
    readonly pause: (name: string) => Effect.Effect<ChannelStatus, ChannelNotFound | SupervisorClosed>;
    /** Resumes a paused channel; also retries a `failed` one at once. */
    readonly resume: (name: string) => Effect.Effect<ChannelStatus, ChannelNotFound | SupervisorClosed>;
    /** Applies new settings; children whose settings did not change are not touched. */
    readonly update: (name: string, settings: ChannelSettings) => Effect.Effect<ChannelStatus, ChannelNotFound | SupervisorClosed>;
    /** Sends a request to a channel: scan now, wake the processor, cancel a download, reset the breaker, retry. */
    readonly request: (name: string, request: ChannelRequest) => Effect.Effect<void, ChannelNotFound | SupervisorClosed>;
    readonly list: Effect.Effect<ReadonlyArray<ChannelStatus>>;
    /** How many channels are in each state; cheap enough to ask often, even with thousands of channels. */
    readonly summary: Effect.Effect<Readonly<Record<ChannelState, number>>>;
    readonly status: (name: string) => Effect.Effect<ChannelStatus, ChannelNotFound>;
    /** Runtime events from the moment the stream is run. */
    readonly events: Stream.Stream<RuntimeEvent>;
    readonly resources: Effect.Effect<RuntimeResources>;
    /** Attaches an XState inspection observer (an inspector) to the tree for the life of the scope. */
    readonly inspect: (observer: Observer<InspectionEvent>) => Effect.Effect<void, never, Scope.Scope>;
  }
>()("vod-tender/services/Supervisor") {
  /** The supervisor; the work services decide what the actors actually do. */
  static readonly layer: Layer.Layer<Supervisor, never, RuntimeEvents | CatalogWork | ProcessorWork | ChatWork | BreakerStore | ToolCheck> =
    // Suspended: `makeSupervisor` is defined below the class, after its static fields are initialized.
    Layer.effect(Supervisor, Effect.suspend(() => makeSupervisor));
}

const LOGIN = /^[a-z0-9_]{1,25}$/;
// Beyond a channel's own shutdown timeout, how long its stop may take before it is killed.
const STOP_MARGIN_MS = 2_000;

const countActors = (ref: { getSnapshot: () => unknown }): number => {
  const snapshot = ref.getSnapshot() as { readonly children?: Record<string, { getSnapshot: () => unknown } | undefined> };
  let count = 1;
  for (const child of Object.values(snapshot.children ?? {})) if (child !== undefined) count += countActors(child);
  return count;
};

const makeSupervisor = Effect.gen(function* () {
  const options = yield* SupervisorOptions;
  const events = yield* RuntimeEvents;
  const services = yield* Effect.context<never>();
  const accounting = new ActorAccounting();
  const registry = new ChannelRegistry(services, accounting);
  const locks = makeKeyedLock();
  // The supervisor's own background work: restarting crashed channels, rebuilding the root.
  const background = new ActorScope("supervisor", services, accounting);
  // Inspection costs an event object per actor event; it is attached only while
  // someone listens to the bus or an inspector is attached.
  const inspectors = new Set<Observer<InspectionEvent>>();
  const internalInspector = inspectionObserver(events);
  const timeout = options.shutdownTimeoutMs;
  let closed = false;
  let crashes = 0;

  const emitChange = (channel: string, change: "added" | "removed" | "paused" | "resumed" | "updated", source: ChannelSource | null) =>
    events.emit({ _tag: "ChannelChanged", at: Date.now(), channel, change, source });

  const firstScanDelay = (settings: ChannelSettings): number => {
    const window = settings.catalog.intervalMs > 0 ? Math.min(options.firstScanSpreadMs, settings.catalog.intervalMs) : options.firstScanSpreadMs;
    return (options.firstScanDelayMs ?? 0) + Math.floor(Math.random() * Math.max(0, window));
  };

  const deps = {
    registry,
    events,
    catalog: yield* CatalogWork,
    processor: yield* ProcessorWork,
    chat: yield* ChatWork,
    breakers: yield* BreakerStore,
    tools: yield* ToolCheck,
    shutdownTimeoutMs: timeout,
    onChannelEnded: (report: ChannelEnd) => onChannelEnded(report),
    onPartitionCrashed: (report: SupervisorReport) => onPartitionCrashed(report),
  };
  const logic = makeSupervisorLogic(deps);

  let inspection: { unsubscribe: () => void } | undefined;
  const syncInspection = (): void => {
    if (inspectors.size > 0 && inspection === undefined) {
      inspection = root.inspect({ next: (event) => inspectors.forEach((observer) => observer.next?.(event)) });
    } else if (inspectors.size === 0 && inspection !== undefined) {
      inspection.unsubscribe();
      inspection = undefined;
    }
  };

  const startRoot = (): RootActor =>
    startRootActor({
      logic,
      policy: options.policy,
      partitions: options.partitions,
      clock: options.clock,
      observers: [],
      onError: (error) => onRootError(error),
    });

  let root = startRoot();
  const stopWatching = events.watchListening((listening) => {
    if (listening) inspectors.add(internalInspector);
    else inspectors.delete(internalInspector);
    syncInspection();
  });

  const channelRef = (name: string) => root.channel(name);

  const spawn = (entry: ChannelEntry): void => {
    entry.rearm();
    root.actor.send({
      type: "CHANNEL.ADD",
      name: entry.name,
      settings: entry.settings,
      paused: entry.paused,
      firstScanDelayMs: firstScanDelay(entry.settings),
    });
  };

  const reportAbandoned = (channel: string, reports: ReadonlyArray<CloseReport>): number => {
    let abandoned = 0;
    for (const report of reports) {
      if (report.abandoned === 0) continue;
      abandoned += report.abandoned;
      events.emit({ _tag: "ShutdownAbandoned", at: Date.now(), channel, actor: report.actor, fibers: report.abandoned, timeoutMs: timeout });
    }
    return abandoned;
  };

  // A channel's actor is gone and it was not asked to go: release what its
  // children held and start it again after a backoff, unless it is being
  // removed meanwhile.
  const restartChannel = (entry: ChannelEntry): void => {
    if (entry.removing || closed) return;
    entry.crashes += 1;
    const delay = backoffDelay(options.policy.supervision.restartBackoff, entry.crashes);
    background.run(
      Effect.gen(function* () {
        reportAbandoned(entry.name, yield* registry.releaseChildren(entry.name, timeout));
        yield* Effect.sleep(delay);
        yield* locks.withLock(
          entry.name,
          Effect.sync(() => {
            if (registry.get(entry.name) === entry && !entry.removing && !closed) spawn(entry);
          }),
        );
      }),
    );
  };

  // A channel actor ended. Stopping is the normal end of a removal; a crash is
  // a bug in the channel's own logic.
  function onChannelEnded(report: ChannelEnd): void {
    const entry = registry.get(report.channel);
    if (entry === undefined) return;
    entry.markEnded();
    if (report.kind !== "crashed") return;
    const message = `channel actor crashed: ${describeError(report.error)}`;
    entry.lastError = { actor: "channel", message, at: Date.now() };
    events.emit({ _tag: "ErrorReported", at: Date.now(), channel: report.channel, actor: "channel", message });
    restartChannel(entry);
  }

  // A partition crashed and was replaced empty: its channels went with it.
  function onPartitionCrashed(report: SupervisorReport): void {
    events.emit({
      _tag: "ErrorReported",
      at: Date.now(),
      channel: null,
      actor: `supervisor.${report.partition}`,
      message: `partition crashed: ${describeError(report.error)}`,
    });
    for (const name of registry.names()) {
      const entry = registry.get(name);
      if (entry === undefined || partitionOf(name, options.partitions) !== report.partition) continue;
      entry.markEnded();
      restartChannel(entry);
    }
  }

  // The root itself errored: every channel went with it. Rebuild the root and
  // start every channel again, after releasing what their children held.
  function onRootError(error: unknown): void {
    events.emit({ _tag: "ErrorReported", at: Date.now(), channel: null, actor: "supervisor", message: `root actor crashed: ${describeError(error)}` });
    if (closed) return;
    crashes += 1;
    const delay = backoffDelay(options.policy.supervision.restartBackoff, crashes);
    for (const name of registry.names()) registry.get(name)?.markEnded();
    background.run(
      Effect.gen(function* () {
        yield* Effect.forEach(registry.names(), (name) => registry.releaseChildren(name, timeout), { concurrency: 64, discard: true });
        yield* Effect.sleep(delay);
        if (closed) return;
        root = startRoot();
        inspection = undefined;
        syncInspection();
        for (const name of registry.names()) {
          const entry = registry.get(name);
          if (entry !== undefined && !entry.removing) spawn(entry);
        }
      }),
    );
  }

  const ensureOpen = Effect.suspend(() => (closed ? Effect.fail(new SupervisorClosed()) : Effect.void));

  const entryOf = (name: string) =>
    Effect.suspend(() => {
      const entry = registry.get(name);
      return entry === undefined ? Effect.fail(new ChannelNotFound({ channel: name })) : Effect.succeed(entry);
    });

  // A command on an existing channel: serialised with that channel's other
  // commands, refused once shut down, `ChannelNotFound` for an unknown name.
  const withChannel = <A, E, R>(name: string, command: (entry: ChannelEntry) => Effect.Effect<A, E, R>) =>
    locks.withLock(
      name,
      Effect.gen(function* () {
        yield* ensureOpen;
        return yield* command(yield* entryOf(name));
      }),
    );

  const statusOf = (entry: ChannelEntry): ChannelStatus => channelStatus(entry, channelRef(entry.name));

  const send = (name: string, command: ChannelCommand): void => root.actor.send({ type: "CHANNEL.SEND", name, command });

  const addChannel = (name: string, settings: ChannelSettings, add: AddChannelOptions = {}) =>
    locks.withLock(
      name,
      Effect.gen(function* () {
        yield* ensureOpen;
        if (!LOGIN.test(name)) {
          return yield* new InvalidChannelName({ channel: name, reason: "a Twitch login is 1–25 lower case letters, digits or underscores" });
        }
        if (registry.get(name) !== undefined) return yield* new ChannelExists({ channel: name });
        const entry = registry.create(name, settings, add.paused ?? false, add.source ?? null);
        spawn(entry);
        emitChange(name, "added", entry.source);
        return statusOf(entry);
      }),
    );

  const removeChannel = (name: string) =>
    withChannel(name, (entry) =>
      Effect.gen(function* () {
        entry.removing = true;
        entry.abandoned = 0;
        if (channelRef(name) !== undefined) {
          send(name, { type: "STOP" });
          const ended = yield* Effect.promise(() => entry.ended).pipe(Effect.timeoutOption(timeout + STOP_MARGIN_MS));
          if (ended._tag === "None") root.actor.send({ type: "CHANNEL.KILL", name });
        }
        // The channel's stop already released its children; this catches what a kill or a crash left.
        const reports = [...(yield* registry.releaseChildren(name, timeout)), yield* entry.scope.close(timeout)];
        const abandoned = entry.abandoned + reportAbandoned(name, reports);
        registry.delete(name);
        emitChange(name, "removed", entry.source);
        return { channel: name, abandoned };
      }),
    );

  const lifecycle = (name: string, command: "PAUSE" | "RESUME") =>
    withChannel(name, (entry) =>
      Effect.sync(() => {
        send(name, { type: command });
        entry.paused = command === "PAUSE";
        emitChange(name, command === "PAUSE" ? "paused" : "resumed", entry.source);
        return statusOf(entry);
      }),
    );

  const update = (name: string, settings: ChannelSettings) =>
    withChannel(name, (entry) =>
      Effect.sync(() => {
        send(name, { type: "SETTINGS", settings });
        entry.settings = settings;
        emitChange(name, "updated", entry.source);
        return statusOf(entry);
      }),
    );

  const request = (name: string, command: ChannelRequest) =>
    withChannel(name, () => Effect.sync(() => send(name, command)));

  const shutdown = Effect.gen(function* () {
    closed = true;
    stopWatching();
    root.actor.send({ type: "SHUTDOWN" });
    yield* Effect.promise(() => root.ended).pipe(Effect.timeoutOption(timeout + STOP_MARGIN_MS));
    // Whatever did not stop in time (or never got an actor) is released here, bounded.
    yield* Effect.forEach(
      registry.names(),
      (name) =>
        Effect.gen(function* () {
          const entry = registry.get(name);
          if (entry === undefined) return;
          reportAbandoned(name, [...(yield* registry.releaseChildren(name, timeout)), yield* entry.scope.close(timeout)]);
          registry.delete(name);
        }),
      { concurrency: 64, discard: true },
    );
    root.actor.stop();
    yield* background.close(timeout);
  });
  yield* Effect.addFinalizer(() => shutdown);

  return Supervisor.of({
    addChannel,
    removeChannel,
    pause: (name) => lifecycle(name, "PAUSE"),
    resume: (name) => lifecycle(name, "RESUME"),
    update,
    request,
    list: Effect.sync(() => registry.names().flatMap((name) => {
      const entry = registry.get(name);
      return entry === undefined ? [] : [statusOf(entry)];
    })),
    summary: Effect.sync(() => {
      const counts: Record<ChannelState, number> = { starting: 0, running: 0, degraded: 0, paused: 0, stopping: 0, stopped: 0, failed: 0 };
      for (const name of registry.names()) {
        const ref = channelRef(name);
        counts[ref === undefined ? "stopped" : channelStateOf(ref.getSnapshot().value)] += 1;
      }
      return counts;
    }),
    status: (name) => Effect.map(entryOf(name), statusOf),
    events: events.stream,
    resources: Effect.sync(() => ({
      channels: registry.size,
      actors: countActors(root.actor),
      scopes: accounting.scopes,
      fibers: accounting.fibers,
      holds: accounting.holds,
      timers: root.scheduler.pending(),
      locks: locks.size(),
    })),
    inspect: (observer) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          inspectors.add(observer);
          syncInspection();
        }),
        () =>
          Effect.sync(() => {
            inspectors.delete(observer);
            syncInspection();
          }),
      ),
  });
});
