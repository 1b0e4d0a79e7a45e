/**
 * Starts the root of the actor tree and guards the two ways XState lets an
 * error out: an errored root with no error observer throws from a timer (an
 * uncaught exception), and an inspection observer that throws breaks the
 * actor being inspected. The root always has an error observer here, and
 * every inspection observer is wrapped.
 */
import { createActor } from "xstate";
import type { Actor, AnyActorRef, InspectionEvent, Observer, Subscription } from "xstate";
import { partitionOf } from "../machines/supervisor.ts";
import type { ChannelPolicy } from "../machines/channel.ts";
import type { SupervisorLogic } from "./actor-logic.ts";
import type { SchedulerAccounting } from "./indexed-scheduler.ts";
import { installIndexedScheduler } from "./indexed-scheduler.ts";
import { safeObserver } from "./inspection.ts";

/** The timers XState schedules delayed events with (XState's `Clock`, which it does not export). */
export interface TimerClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RootOptions {
  readonly logic: SupervisorLogic;
  readonly policy: ChannelPolicy;
  /** Partitions sharing the channels (see machines/partition.ts). */
  readonly partitions: number;
  /** The clock XState timers use; the real one when omitted (`SimulatedClock` in tests). */
  readonly clock?: TimerClock | undefined;
  /** Inspection observers attached from the very first event. */
  readonly observers: ReadonlyArray<Observer<InspectionEvent>>;
  /** Called if the root itself errors (a bug in the supervisor machine or its bindings). */
  readonly onError: (error: unknown) => void;
}

/** A running root. */
export interface RootActor {
  readonly actor: Actor<SupervisorLogic>;
  readonly scheduler: SchedulerAccounting;
  /** Resolves once the root has ended: done after a shutdown, or errored. */
  readonly ended: Promise<void>;
  /** Attaches another inspection observer (an inspector); unsubscribe to detach it. */
  readonly inspect: (observer: Observer<InspectionEvent>) => Subscription;
  /** The actor of a channel, while it has one. */
  readonly channel: (name: string) => AnyActorRef | undefined;
}

/** Creates and starts the root actor. */
export const startRootActor = (options: RootOptions): RootActor => {
  const observers = options.observers.map(safeObserver);
  const actor = createActor(options.logic, {
    id: "supervisor",
    input: { policy: options.policy, partitions: options.partitions },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    inspect: { next: (event: InspectionEvent) => observers.forEach((observer) => observer.next?.(event)) },
  });
  const scheduler = installIndexedScheduler(actor.system);
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  actor.subscribe({
    error: (error) => {
      markEnded();
      options.onError(error);
    },
    complete: () => markEnded(),
  });
  actor.start();
  return {
    actor,
    scheduler,
    ended,
    inspect: (observer) => actor.system.inspect(safeObserver(observer)),
    channel: (name) => {
      const partition = actor.getSnapshot().children[partitionOf(name, options.partitions)] as AnyActorRef | undefined;
      return (partition?.getSnapshot() as { readonly children?: Record<string, AnyActorRef | undefined> } | undefined)?.children?.[name];
    },
  };
};
