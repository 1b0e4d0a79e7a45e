/**
 * The runtime's event bus: one typed stream of what happens in the actor tree
 * (transitions, restarts, escalations, progress, chat rates, errors, channel
 * and configuration changes, raw inspection). The control channel, metrics
 * and the console read it; nothing polls actors for state.
 *
 * Producers are often synchronous callbacks (XState actions, inspection
 * observers), so besides the Effect `publish` there is `emit`, which never
 * blocks and never throws. The bus slides: a consumer that falls behind loses
 * the oldest events instead of slowing the actors down.
 *
 * Adding an event: add an interface with a unique `_tag` and put it in the
 * `RuntimeEvent` union; consumers switch on `_tag` and ignore tags they do not
 * know.
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect";
import type { Scope } from "effect";
import type { ChannelSource } from "./channel-settings.ts";

/** Fields every event has. */
interface EventBase {
  /** When it happened, epoch milliseconds. */
  readonly at: number;
  /** The channel concerned; null for process-wide events. */
  readonly channel: string | null;
}

/**
 * An actor changed state. `actor` is its path under the channel: "channel",
 * "catalog", "processor", "processor.breaker", "processor.download", "chat";
 * "supervisor" for the root (channel null).
 */
export interface ActorTransition extends EventBase {
  readonly _tag: "ActorTransition";
  readonly actor: string;
  /** Null the first time the actor is seen. */
  readonly from: string | null;
  readonly to: string;
  /** The event that caused it. */
  readonly cause: string | null;
}

/** A channel restarted one of its children after it exited. */
export interface ChildRestarted extends EventBase {
  readonly _tag: "ChildRestarted";
  readonly channel: string;
  readonly actor: string;
  /** Restarts within the channel's intensity window, this one included. */
  readonly attempt: number;
  readonly backoffMs: number;
  readonly reason: string;
}

/** A channel exceeded its restart intensity: its children are stopped and it is `failed` until `retryInMs` passed. */
export interface ChannelEscalated extends EventBase {
  readonly _tag: "ChannelEscalated";
  readonly channel: string;
  readonly reason: string;
  readonly retryInMs: number;
}

/** A channel was added, removed, paused, resumed or updated. */
export interface ChannelChanged extends EventBase {
  readonly _tag: "ChannelChanged";
  readonly channel: string;
  readonly change: "added" | "removed" | "paused" | "resumed" | "updated";
  readonly source: ChannelSource | null;
}

/** A download made progress. */
export interface DownloadProgressed extends EventBase {
  readonly _tag: "DownloadProgressed";
  readonly channel: string;
  /** Row id in `vods`. */
  readonly vodId: number;
  readonly bytes: number;
  readonly total: number | null;
  readonly percent: number | null;
  /** Bytes per second. */
  readonly speed: number | null;
  /** Seconds left. */
  readonly eta: number | null;
}

/** A channel's chat rate, reported while its chat is recorded. */
export interface ChatRateMeasured extends EventBase {
  readonly _tag: "ChatRateMeasured";
  readonly channel: string;
  readonly perMinute: number;
}

/** Something failed; `actor` says where, when known. */
export interface ErrorReported extends EventBase {
  readonly _tag: "ErrorReported";
  readonly actor: string | null;
  readonly message: string;
}

/** An actor's shutdown took longer than allowed; its remaining work was abandoned. */
export interface ShutdownAbandoned extends EventBase {
  readonly _tag: "ShutdownAbandoned";
  readonly actor: string;
  /** Fibers still running at the deadline. */
  readonly fibers: number;
  readonly timeoutMs: number;
}

/** A reload of the channels file ran. */
export interface ConfigReloaded extends EventBase {
  readonly _tag: "ConfigReloaded";
  readonly trigger: "start" | "watch" | "sighup" | "control";
  readonly ok: boolean;
  readonly added: ReadonlyArray<string>;
  readonly removed: ReadonlyArray<string>;
  readonly updated: ReadonlyArray<string>;
  readonly failed: ReadonlyArray<{ readonly channel: string; readonly message: string }>;
  readonly errors: ReadonlyArray<{ readonly message: string; readonly line?: number; readonly column?: number }>;
}

/**
 * One XState inspection event, reduced to what a console can show: the same
 * stream the XState inspector sees. Only produced while someone asked for it
 * (`demandInspection`): there is one per actor event, far more than anything
 * else on the bus.
 */
export interface ActorInspected extends EventBase {
  readonly _tag: "ActorInspected";
  /** `actor`: created; `event`: received an event; `snapshot`: produced a snapshot. */
  readonly kind: "actor" | "event" | "snapshot";
  readonly actor: string;
  readonly sessionId: string;
  readonly parentSessionId: string | null;
  /** The event received (`event`) or that caused the snapshot (`snapshot`). */
  readonly eventType: string | null;
  /** The state after the snapshot, for machines. */
  readonly state: string | null;
  readonly status: string | null;
}

/** Every runtime event. */
export type RuntimeEvent =
  | ActorTransition
  | ChildRestarted
  | ChannelEscalated
  | ChannelChanged
  | DownloadProgressed
  | ChatRateMeasured
  | ErrorReported
  | ShutdownAbandoned
  | ConfigReloaded
  | ActorInspected;

/** A listener of runtime events; it must return quickly and never throw. */
export type RuntimeEventListener = (event: RuntimeEvent) => void;

/** Events a consumer may lag behind by before the oldest are dropped. */
export const RUNTIME_EVENTS_CAPACITY = 4_096;

/** The event bus. */
export class RuntimeEvents extends Context.Service<
  RuntimeEvents,
  {
    readonly publish: (event: RuntimeEvent) => Effect.Effect<void>;
    /** Publishes from synchronous code (XState actions, observers); never blocks, never throws. */
    readonly emit: (event: RuntimeEvent) => void;
    /** Whether anyone listens; producers skip building events nobody would read. */
    readonly listening: () => boolean;
    /** Whether `ActorInspected` events are wanted (see `demandInspection`). */
    readonly inspecting: () => boolean;
    /** Asks for `ActorInspected` events for the life of the scope (a console showing the raw actor stream). */
    readonly demandInspection: Effect.Effect<void, never, Scope.Scope>;
    /** Every event published from the moment the stream is run. */
    readonly stream: Stream.Stream<RuntimeEvent>;
    /** A subscription for the life of the scope. */
    readonly subscribe: Effect.Effect<PubSub.Subscription<RuntimeEvent>, never, Scope.Scope>;
    /** Calls `listener` synchronously for every event; returns the function that stops it. */
    readonly listen: (listener: RuntimeEventListener) => () => void;
    /**
     * Calls `onChange` whenever `listening()` flips (and once now), so costly
     * producers can attach only while someone listens; returns the function
     * that stops it. Demanding inspection counts as listening.
     */
    readonly watchListening: (onChange: (listening: boolean) => void) => () => void;
  }
>()("vod-tender/services/RuntimeEvents") {
  static readonly layer: Layer.Layer<RuntimeEvents> = Layer.effect(
    RuntimeEvents,
    Effect.gen(function* () {
      const pubsub = yield* PubSub.sliding<RuntimeEvent>(RUNTIME_EVENTS_CAPACITY);
      yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub));
      const listeners = new Set<RuntimeEventListener>();
      const watchers = new Set<(listening: boolean) => void>();
      let subscribers = 0;
      let inspectionDemands = 0;
      let wasListening = false;
      const listening = (): boolean => subscribers > 0 || listeners.size > 0 || inspectionDemands > 0;
      const notify = (): void => {
        const now = listening();
        if (now === wasListening) return;
        wasListening = now;
        for (const watcher of watchers) {
          try {
            watcher(now);
          } catch {
            // A watcher's bug stays its own.
          }
        }
      };

      const emit = (event: RuntimeEvent): void => {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch {
            // A listener's bug must not reach the actor that published.
          }
        }
        if (subscribers === 0) return;
        // A full sliding bus refuses the unsafe path; the effectful one slides and never suspends.
        if (!PubSub.publishUnsafe(pubsub, event)) Effect.runSync(PubSub.publish(pubsub, event));
      };

      const subscribe = Effect.acquireRelease(
        Effect.tap(PubSub.subscribe(pubsub), () =>
          Effect.sync(() => {
            subscribers += 1;
            notify();
          }),
        ),
        () =>
          Effect.sync(() => {
            subscribers -= 1;
            notify();
          }),
      );

      return RuntimeEvents.of({
        publish: (event) => Effect.sync(() => emit(event)),
        emit,
        listening,
        inspecting: () => inspectionDemands > 0,
        demandInspection: Effect.acquireRelease(
          Effect.sync(() => {
            inspectionDemands += 1;
            notify();
          }),
          () =>
            Effect.sync(() => {
              inspectionDemands -= 1;
              notify();
            }),
        ),
        stream: Stream.unwrap(Effect.map(subscribe, Stream.fromSubscription)),
        subscribe,
        listen: (listener) => {
          listeners.add(listener);
          notify();
          return () => {
            listeners.delete(listener);
            notify();
          };
        },
        watchListening: (onChange) => {
          watchers.add(onChange);
          onChange(listening());
          return () => void watchers.delete(onChange);
        },
      });
    }),
  );
}
