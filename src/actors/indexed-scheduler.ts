/**
 * A replacement for the scheduler of an XState actor system, indexed by the
 * actor that scheduled each delayed event.
 *
 * XState's own scheduler keeps every delayed event of the system in one object
 * and, whenever any actor stops (every finished promise actor included),
 * scans all of them for that actor's events. With one system holding ten
 * thousand channels, each with its catalog and poll timers, that scan makes
 * every actor stop cost O(all timers). This one keeps each actor's events
 * apart, so stopping an actor costs only its own, and it counts what is
 * pending (part of the runtime's accounting).
 *
 * It is installed on the root before the root starts; the system looks the
 * scheduler up on every use. It does not persist delayed events: the runtime
 * never restores XState snapshots (deadlines that must survive restarts live
 * in `kv`).
 */
import type { ActorSystem, ActorSystemInfo, AnyActorRef, EventObject } from "xstate";

/** An actor system of any kind. */
type AnyActorSystem = ActorSystem<ActorSystemInfo>;

/** What the installed scheduler can tell about itself. */
export interface SchedulerAccounting {
  /** Delayed events waiting to fire. */
  readonly pending: () => number;
}

type Relay = (source: AnyActorRef, target: AnyActorRef, event: EventObject) => void;

/**
 * Installs the indexed scheduler on `system` (the root actor's, before it
 * starts). Timers go through the system's clock, so a `SimulatedClock` still
 * drives them.
 */
export const installIndexedScheduler = (system: AnyActorSystem): SchedulerAccounting => {
  const clock = system._clock;
  // `_relay` delivers with the source recorded for inspection; plain `send` is the public fallback.
  const internal = system as AnyActorSystem & { readonly _relay?: Relay };
  const relay: Relay =
    typeof internal._relay === "function" ? internal._relay.bind(system) : (_source, target, event) => target.send(event);
  const bySource = new Map<string, Map<string, unknown>>();
  let pending = 0;
  let anonymous = 0;

  const forget = (sessionId: string, id: string): unknown => {
    const timers = bySource.get(sessionId);
    const handle = timers?.get(id);
    if (timers === undefined || handle === undefined) return undefined;
    timers.delete(id);
    if (timers.size === 0) bySource.delete(sessionId);
    pending -= 1;
    return handle;
  };

  system.scheduler = {
    schedule: (source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id: string | undefined) => {
      const key = id ?? `anonymous.${anonymous++}`;
      const previous = forget(source.sessionId, key);
      if (previous !== undefined) clock.clearTimeout(previous);
      const handle = clock.setTimeout(() => {
        forget(source.sessionId, key);
        relay(source, target, event);
      }, delay);
      let timers = bySource.get(source.sessionId);
      if (timers === undefined) {
        timers = new Map();
        bySource.set(source.sessionId, timers);
      }
      timers.set(key, handle);
      pending += 1;
    },
    cancel: (source: AnyActorRef, id: string) => {
      const handle = forget(source.sessionId, id);
      if (handle !== undefined) clock.clearTimeout(handle);
    },
    cancelAll: (actorRef: AnyActorRef) => {
      const timers = bySource.get(actorRef.sessionId);
      if (timers === undefined) return;
      bySource.delete(actorRef.sessionId);
      pending -= timers.size;
      for (const handle of timers.values()) clock.clearTimeout(handle);
    },
  };
  return { pending: () => pending };
};
