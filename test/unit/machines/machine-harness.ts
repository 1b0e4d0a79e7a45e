/**
 * Runs one machine as the child of a recording parent, the way a channel runs
 * its children: `sendParent` reports land in `received`, and the child's
 * error or completion is kept instead of escalating.
 */
import { createActor, setup } from "xstate";
import type { AnyActorLogic, AnyActorRef, AnyEventObject, SimulatedClock } from "xstate";

export interface Harness {
  /** Events the child sent to its parent, in order. */
  readonly received: Array<AnyEventObject>;
  /** The running child, or undefined once it stopped. */
  readonly child: () => AnyActorRef | undefined;
  readonly send: (event: AnyEventObject) => void;
  /** The child's current state value. */
  readonly value: () => unknown;
  /** The child's context. */
  readonly context: () => Record<string, unknown>;
  readonly error: () => unknown;
  readonly stop: () => void;
}

export const underParent = (logic: AnyActorLogic, input: unknown, clock: SimulatedClock): Harness => {
  const received: Array<AnyEventObject> = [];
  let error: unknown;
  const parent = setup({ actors: { child: logic } }).createMachine({
    invoke: {
      id: "child",
      src: "child",
      input: () => input,
      onError: { actions: ({ event }) => void (error = event.error) },
    },
    on: { "*": { actions: ({ event }) => void received.push(event) } },
  });
  const actor = createActor(parent, { clock }).start();
  const child = (): AnyActorRef | undefined => actor.getSnapshot().children.child as AnyActorRef | undefined;
  return {
    received,
    child,
    send: (event) => child()?.send(event),
    value: () => child()?.getSnapshot().value,
    context: () => child()?.getSnapshot().context,
    error: () => error,
    stop: () => actor.stop(),
  };
};

/** Lets promise callbacks and microtasks run. */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};
