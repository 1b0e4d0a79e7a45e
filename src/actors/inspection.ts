/**
 * XState inspection, turned into runtime events. The root actor's system
 * reports every actor created, every event received and every snapshot; from
 * those this observer derives `ActorTransition`s (an actor's state changed)
 * and, for a console that wants the raw stream, `ActorInspected` events —
 * the same stream the XState inspector gets.
 *
 * Transitions are built only while someone listens to the bus, and the raw
 * events only while someone demanded them: ten thousand idle channels cost
 * nothing here. Observers are called inside XState's own processing, so
 * nothing here may throw.
 */
import type { InspectionEvent, Observer } from "xstate";
import { channelStateOf } from "../machines/channel.ts";
import type { RuntimeEvents } from "../services/runtime-events.ts";

/** Where an actor sits in the tree. */
export interface ActorPath {
  /** The channel it belongs to; null for the root and its partitions. */
  readonly channel: string | null;
  /** Its path under the channel: "channel", "processor", "processor.breaker", ...; "supervisor" for the root, "supervisor.p7" for a partition. */
  readonly actor: string;
}

/**
 * What the tree walk needs of an actor. XState types inspected actors as
 * `ActorRefLike`, but they are the actors themselves, which have these.
 */
export interface TreeRef {
  readonly id: string;
  readonly sessionId: string;
  readonly src: unknown;
  readonly _parent?: TreeRef | undefined;
}

// Work actors are named by what they do (`scan`, `claimNext`); machine children by their id.
const nameOf = (ref: TreeRef): string => (typeof ref.src === "string" ? ref.src : ref.id);

/** The path of `ref` in a tree rooted at the supervisor (supervisor → partition → channel → ...). */
export const actorPath = (ref: TreeRef): ActorPath => {
  const chain: Array<TreeRef> = [];
  for (let current: TreeRef | undefined = ref; current !== undefined; current = current._parent) chain.push(current);
  if (chain.length === 1) return { channel: null, actor: "supervisor" };
  if (chain.length === 2) return { channel: null, actor: `supervisor.${ref.id}` };
  const channel = chain[chain.length - 3]!.id;
  if (chain.length === 3) return { channel, actor: "channel" };
  return { channel, actor: chain.slice(0, -3).reverse().map(nameOf).join(".") };
};

/** A state value as one string: `idle`, `idle.scheduled`, `live.session.recording`; parallel regions in parentheses. */
export const stateString = (value: unknown): string => {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, inner] = entries[0]!;
    return `${key}.${stateString(inner)}`;
  }
  return `(${entries.map(([key, inner]) => `${key}.${stateString(inner)}`).join(", ")})`;
};

const machineValue = (snapshot: unknown): { readonly value: unknown } | undefined =>
  typeof snapshot === "object" && snapshot !== null && "value" in snapshot ? (snapshot as { value: unknown }) : undefined;

const statusOf = (snapshot: unknown): string | null =>
  typeof snapshot === "object" && snapshot !== null && "status" in snapshot ? String((snapshot as { status: unknown }).status) : null;

/** How a state is reported: a channel by its coarse state (running, degraded, ...), others by their full state. */
const reportedState = (path: ActorPath, value: unknown): string =>
  path.actor === "channel" ? channelStateOf(value) : stateString(value);

/** An observer for the root's system that publishes transitions and inspection events. */
export const inspectionObserver = (events: RuntimeEvents["Service"]): Observer<InspectionEvent> => {
  const lastState = new WeakMap<TreeRef, string>();
  const paths = new WeakMap<TreeRef, ActorPath>();
  const pathOf = (ref: TreeRef): ActorPath => {
    let path = paths.get(ref);
    if (path === undefined) {
      path = actorPath(ref);
      paths.set(ref, path);
    }
    return path;
  };

  const observe = (event: InspectionEvent): void => {
    if (!events.listening()) return;
    const raw = events.inspecting();
    if (!raw && event.type !== "@xstate.snapshot") return;
    const ref = event.actorRef as unknown as TreeRef;
    const path = pathOf(ref);
    const at = Date.now();
    switch (event.type) {
      case "@xstate.snapshot": {
        const machine = machineValue(event.snapshot);
        const status = statusOf(event.snapshot);
        // A machine that reached a final state reports it; one that was stopped or errored reports that.
        const state = machine === undefined ? null : status === "active" || status === "done" ? reportedState(path, machine.value) : status;
        if (state !== null) {
          const previous = lastState.get(ref) ?? null;
          if (previous !== state) {
            lastState.set(ref, state);
            events.emit({ _tag: "ActorTransition", at, channel: path.channel, actor: path.actor, from: previous, to: state, cause: event.event.type });
          }
        }
        if (!raw) return;
        events.emit({
          _tag: "ActorInspected",
          at,
          channel: path.channel,
          kind: "snapshot",
          actor: path.actor,
          sessionId: ref.sessionId,
          parentSessionId: ref._parent?.sessionId ?? null,
          eventType: event.event.type,
          state,
          status,
        });
        return;
      }
      case "@xstate.event":
        events.emit({
          _tag: "ActorInspected",
          at,
          channel: path.channel,
          kind: "event",
          actor: path.actor,
          sessionId: ref.sessionId,
          parentSessionId: ref._parent?.sessionId ?? null,
          eventType: event.event.type,
          state: null,
          status: null,
        });
        return;
      case "@xstate.actor":
        events.emit({
          _tag: "ActorInspected",
          at,
          channel: path.channel,
          kind: "actor",
          actor: path.actor,
          sessionId: ref.sessionId,
          parentSessionId: ref._parent?.sessionId ?? null,
          eventType: null,
          state: null,
          status: null,
        });
        return;
      default:
        return;
    }
  };

  return {
    next: (event) => {
      try {
        observe(event);
      } catch {
        // Inspection must never break the actor being inspected.
      }
    },
  };
};

/** Wraps an observer so that nothing it throws reaches XState. */
export const safeObserver = <T>(observer: Observer<T>): Observer<T> => ({
  next: (value) => {
    try {
      observer.next?.(value);
    } catch {
      // An inspector's failure is its own.
    }
  },
});
