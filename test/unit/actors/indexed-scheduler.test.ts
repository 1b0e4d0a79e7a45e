import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, setup } from "xstate";
import type { AnyActorRef } from "xstate";
import { installIndexedScheduler } from "../../../src/actors/indexed-scheduler.ts";

// A child with a timer of its own.
const ticker = setup({}).createMachine({
  initial: "waiting",
  states: {
    waiting: { after: { 1_000: "ticked" } },
    ticked: {},
  },
});

const parent = setup({ actors: { ticker } }).createMachine({
  invoke: [
    { id: "a", src: "ticker" },
    { id: "b", src: "ticker" },
  ],
});

describe("indexed scheduler", () => {
  it("fires delayed events through the system clock and counts what is pending", () => {
    const clock = new SimulatedClock();
    const root = createActor(parent, { clock });
    const scheduler = installIndexedScheduler(root.system);
    root.start();
    expect(scheduler.pending()).toBe(2);
    const a = root.getSnapshot().children.a as AnyActorRef;
    clock.increment(999);
    expect(a.getSnapshot().value).toBe("waiting");
    clock.increment(1);
    expect(a.getSnapshot().value).toBe("ticked");
    expect(scheduler.pending()).toBe(0);
    root.stop();
  });

  it("cancels only the stopped actor's timers, and a cancelled timer never fires", () => {
    const clock = new SimulatedClock();
    const withStop = setup({ types: { events: {} as { type: "STOP.A" } }, actors: { ticker } }).createMachine({
      initial: "both",
      states: {
        both: {
          invoke: [{ id: "b", src: "ticker" }],
          initial: "withA",
          states: {
            withA: { invoke: { id: "a", src: "ticker" }, on: { "STOP.A": "withoutA" } },
            withoutA: {},
          },
        },
      },
    });
    const root = createActor(withStop, { clock });
    const scheduler = installIndexedScheduler(root.system);
    root.start();
    const a = root.getSnapshot().children.a as AnyActorRef;
    const b = root.getSnapshot().children.b as AnyActorRef;
    expect(scheduler.pending()).toBe(2);
    root.send({ type: "STOP.A" });
    expect(scheduler.pending()).toBe(1);
    clock.increment(5_000);
    expect(a.getSnapshot().value).toBe("waiting");
    expect(a.getSnapshot().status).toBe("stopped");
    expect(b.getSnapshot().value).toBe("ticked");
    expect(scheduler.pending()).toBe(0);
    root.stop();
  });

  it("re-scheduling an id replaces the earlier timer instead of leaking it", () => {
    const clock = new SimulatedClock();
    const rearm = setup({ types: { events: {} as { type: "REARM" } | { type: "FIRE" } } }).createMachine({
      context: { fired: 0 },
      on: {
        REARM: { actions: ({ self, system }) => system.scheduler.schedule(self, self, { type: "FIRE" }, 100, "same") },
        FIRE: { actions: ({ context }) => void (context.fired += 1) },
      },
    });
    const root = createActor(rearm, { clock });
    const scheduler = installIndexedScheduler(root.system);
    root.start();
    root.send({ type: "REARM" });
    clock.increment(50);
    root.send({ type: "REARM" });
    expect(scheduler.pending()).toBe(1);
    clock.increment(60);
    expect(root.getSnapshot().context.fired).toBe(0);
    clock.increment(40);
    expect(root.getSnapshot().context.fired).toBe(1);
    expect(scheduler.pending()).toBe(0);
    root.stop();
  });
});
