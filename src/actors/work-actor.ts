/**
 * XState actor logic that runs an Effect: the bridge from a machine's named
 * side effect to the services that perform it.
 *
 * The Effect runs in a fiber of its owner's `ActorScope` (so the owner's
 * shutdown interrupts it and waits for its finalizers); stopping the XState
 * actor interrupts the fiber. Its exit becomes the actor's end, in the shape
 * of a promise actor so machines declare it with `fromPromise` types:
 *
 * - success → `done` with the value (`task`), or the actor stays active
 *   holding what the effect acquired until it is stopped (`resource`);
 * - `WorkError` → `error` with a `retryable` or `permanent` `Failure`, which
 *   the machine handles;
 * - a defect or anything else → `error` with a `crash` `Failure`, which the
 *   machine leaves unhandled so its supervisor restarts it.
 *
 * While it runs, the effect can send events to the machine that invoked it
 * (`notify`): progress, "connected", live/offline.
 *
 * Results and notifications reach XState in a microtask, never synchronously
 * from inside the fiber: work that completes at once would otherwise run its
 * machine's next steps nested inside whatever actor is mid-transition (deep
 * recursion, and events to that actor held until the whole chain returns).
 */
import { Cause, Exit } from "effect";
import type { Effect, Scope } from "effect";
import type { AnyActorRef, AnyEventObject, PromiseActorLogic, PromiseSnapshot } from "xstate";
import type { Failure } from "../machines/failure.ts";
import { describeError, failure } from "../machines/failure.ts";
import type { ActorScope } from "./actor-scope.ts";
import { WorkError } from "./work-error.ts";

/** `task`: ends with the effect. `resource`: lives on after the effect succeeded, until stopped. */
export type WorkMode = "task" | "resource";

/** Sends an event to the machine that invoked the work. */
export type Notify = (event: AnyEventObject) => void;

const WORK_DONE = "vod-tender.work.done";
const WORK_FAILED = "vod-tender.work.failed";
const XSTATE_STOP = "xstate.stop";

// The `Failure` a machine sees for an Effect's failed exit.
const failureOfCause = (cause: Cause.Cause<unknown>): Failure => {
  const error = Cause.findErrorOption(cause);
  if (error._tag === "Some") {
    const value = error.value;
    if (value instanceof WorkError) return failure(value.retryable ? "retryable" : "permanent", value.message);
    return failure("crash", describeError(value));
  }
  if (Cause.hasInterruptsOnly(cause)) return failure("crash", "work was interrupted while its actor was still running");
  return failure("crash", describeError(Cause.squash(cause)));
};

interface Running {
  readonly stop: () => void;
}

/** Finds the `ActorScope` a piece of work belongs to, from the channel it is for. */
export type WorkOwner = (input: { readonly channel: string }) => ActorScope | undefined;

/**
 * Logic that runs `run(input, notify)` as an Effect in the `ActorScope` that
 * `owner(input)` returns. An owner that is gone (its channel was removed)
 * makes the actor fail as a crash at once.
 */
export const fromWork = <Output, Input extends { readonly channel: string }>(
  owner: WorkOwner,
  run: (input: Input, notify: Notify) => Effect.Effect<Output, WorkError, Scope.Scope>,
  mode: WorkMode = "task",
): PromiseActorLogic<Output, Input> => {
  const running = new WeakMap<AnyActorRef, Running>();
  type Snapshot = PromiseSnapshot<Output, Input>;
  const logic = {
    config: run,
    transition: (snapshot: Snapshot, event: AnyEventObject, scope: { readonly self: AnyActorRef }): Snapshot => {
      if (snapshot.status !== "active") return snapshot;
      switch (event.type) {
        case WORK_DONE:
          return { ...snapshot, status: "done", output: event.output as Output, input: undefined };
        case WORK_FAILED:
          return { ...snapshot, status: "error", error: event.error, input: undefined };
        case XSTATE_STOP:
          running.get(scope.self)?.stop();
          running.delete(scope.self);
          return { ...snapshot, status: "stopped", input: undefined };
        default:
          return snapshot;
      }
    },
    start: (snapshot: Snapshot, scope: { readonly self: AnyActorRef }): void => {
      if (snapshot.status !== "active") return;
      const { self } = scope;
      const input = snapshot.input as Input;
      const actorScope = owner(input);
      if (actorScope === undefined || actorScope.closed) {
        queueMicrotask(() => self.send({ type: WORK_FAILED, error: failure("crash", "the actor that owns this work is gone") }));
        return;
      }
      const notify: Notify = (event) => queueMicrotask(() => self._parent?.send(event));
      const settle = (exit: Exit.Exit<Output, WorkError>): void =>
        queueMicrotask(() => {
          if (self.getSnapshot().status !== "active") return;
          if (Exit.isSuccess(exit)) {
            if (mode === "task") self.send({ type: WORK_DONE, output: exit.value });
          } else {
            self.send({ type: WORK_FAILED, error: failureOfCause(exit.cause) });
          }
        });
      if (mode === "task") {
        const fiber = actorScope.run(run(input, notify));
        running.set(self, { stop: () => fiber.interruptUnsafe() });
        fiber.addObserver(settle);
      } else {
        const held = actorScope.hold(run(input, notify));
        running.set(self, { stop: held.release });
        held.fiber.addObserver(settle);
      }
    },
    getInitialSnapshot: (_scope: unknown, input: Input): Snapshot => ({ status: "active", output: undefined, error: undefined, input }),
    getPersistedSnapshot: (snapshot: Snapshot) => snapshot,
    restoreSnapshot: (snapshot: unknown) => snapshot as Snapshot,
  };
  return logic as unknown as PromiseActorLogic<Output, Input>;
};
