import { afterEach, describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { Scope } from "effect";
import { assign, createActor, setup } from "xstate";
import type { AnyEventObject, PromiseActorLogic } from "xstate";
import { ActorAccounting, ActorScope } from "../../../src/actors/actor-scope.ts";
import { fromWork } from "../../../src/actors/work-actor.ts";
import type { WorkMode, WorkOwner } from "../../../src/actors/work-actor.ts";
import type { WorkError } from "../../../src/actors/work-error.ts";
import { permanent, retryable } from "../../../src/actors/work-error.ts";

const accounting = new ActorAccounting();
const owner = new ActorScope("alice/catalog", Effect.runSync(Effect.context<never>()), accounting);
const ownedByAlice: WorkOwner = (input) => (input.channel === "alice" ? owner : undefined);

const until = async (condition: () => boolean): Promise<void> => {
  for (let turn = 0; turn < 500 && !condition(); turn++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
};

/**
 * A machine that invokes `work` in `running` and records how it ended and
 * what it was told; `LEAVE` leaves the state (which stops the work).
 */
const host = (work: PromiseActorLogic<unknown, { readonly channel: string }>, channel = "alice") => {
  const told: Array<AnyEventObject> = [];
  const machine = setup({
    types: { context: {} as { output: unknown; error: unknown } },
    actors: { work },
  }).createMachine({
    context: { output: undefined, error: undefined },
    initial: "running",
    states: {
      running: {
        invoke: {
          src: "work",
          input: { channel },
          onDone: { target: "done", actions: assign({ output: ({ event }) => event.output }) },
          onError: { target: "failed", actions: assign({ error: ({ event }) => event.error }) },
        },
        on: {
          LEAVE: "left",
          "*": { actions: ({ event }) => void told.push(event) },
        },
      },
      done: {},
      failed: {},
      left: {},
    },
  });
  const actor = createActor(machine).start();
  return { actor, told, state: () => actor.getSnapshot().value };
};

const work = <A>(effect: (notify: (event: AnyEventObject) => void) => Effect.Effect<A, WorkError, Scope.Scope>, mode?: WorkMode) =>
  fromWork<A, { readonly channel: string }>(ownedByAlice, (_input, notify) => effect(notify), mode) as PromiseActorLogic<unknown, { readonly channel: string }>;

afterEach(async () => {
  await until(() => accounting.fibers === 0);
});

describe("fromWork", () => {
  it("a success is the actor's output", async () => {
    const { actor, state } = host(work(() => Effect.succeed({ found: 3, added: 1 })));
    await until(() => state() === "done");
    expect(actor.getSnapshot().context.output).toEqual({ found: 3, added: 1 });
  });

  it("a WorkError becomes a retryable or permanent failure the machine can handle", async () => {
    const transient = host(work(() => Effect.fail(retryable("HTTP 503"))));
    await until(() => transient.state() === "failed");
    expect(transient.actor.getSnapshot().context.error).toEqual({ _tag: "Failure", kind: "retryable", message: "HTTP 503" });

    const final = host(work(() => Effect.fail(permanent("VOD deleted"))));
    await until(() => final.state() === "failed");
    expect(final.actor.getSnapshot().context.error).toEqual({ _tag: "Failure", kind: "permanent", message: "VOD deleted" });
  });

  it("a defect becomes a crash", async () => {
    const { actor, state } = host(work(() => Effect.die(new TypeError("x is undefined"))));
    await until(() => state() === "failed");
    expect(actor.getSnapshot().context.error).toEqual({ _tag: "Failure", kind: "crash", message: "x is undefined" });
  });

  it("sends what the work tells it to the invoking machine", async () => {
    const { told, state } = host(
      work((notify) =>
        Effect.sync(() => notify({ type: "PROGRESS", percent: 50 })).pipe(Effect.andThen(Effect.sleep(5)), Effect.as("ok")),
      ),
    );
    await until(() => state() === "done");
    expect(told).toEqual([{ type: "PROGRESS", percent: 50 }]);
  });

  it("stopping the actor interrupts the work and runs its finalizers (the subprocess is killed)", async () => {
    const finalized: Array<string> = [];
    const { actor, state } = host(
      work(() =>
        Effect.acquireRelease(Effect.succeed("yt-dlp"), (name) => Effect.sync(() => finalized.push(`killed ${name}`))).pipe(
          Effect.andThen(Effect.never),
        ),
      ),
    );
    await until(() => accounting.fibers === 1);
    actor.send({ type: "LEAVE" });
    expect(state()).toBe("left");
    await until(() => finalized.length === 1);
    expect(finalized).toEqual(["killed yt-dlp"]);
  });

  it("a resource lives on after its effect succeeded, until the actor stops", async () => {
    const events: Array<string> = [];
    const { actor, told, state } = host(
      work(
        (notify) =>
          Effect.acquireRelease(Effect.sync(() => events.push("subscribed")), () => Effect.sync(() => events.push("unsubscribed"))).pipe(
            Effect.andThen(Effect.sync(() => notify({ type: "OFFLINE" }))),
          ),
        "resource",
      ),
    );
    await until(() => told.length === 1);
    expect(state()).toBe("running");
    expect(events).toEqual(["subscribed"]);
    expect(accounting.holds).toBe(1);
    actor.send({ type: "LEAVE" });
    await until(() => events.length === 2);
    expect(events).toEqual(["subscribed", "unsubscribed"]);
    expect(accounting.holds).toBe(0);
  });

  it("work whose owner is gone fails as a crash without running", async () => {
    let ran = false;
    const { actor, state } = host(work(() => Effect.sync(() => (ran = true))), "nobody");
    await until(() => state() === "failed");
    expect(ran).toBe(false);
    expect(actor.getSnapshot().context.error).toMatchObject({ kind: "crash" });
  });
});
