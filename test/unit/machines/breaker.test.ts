import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, fromPromise } from "xstate";
import { decodeBreaker, encodeBreaker } from "../../../src/actors/breaker-store.ts";
import { breakerMachine, breakerStateOf } from "../../../src/machines/breaker.ts";
import type { BreakerRecord, BreakerRestore } from "../../../src/machines/breaker.ts";

const COOLDOWN = 60_000;
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs a breaker whose `load`/`persist` go through the real kv encoding into a
 * map, with "now" read from the simulated clock: what the actor layer does
 * with the database, minus the database.
 */
const harness = (kv: Map<string, string>, clock: SimulatedClock, threshold = 3) => {
  const persisted: Array<BreakerRecord> = [];
  const loadErrors: Array<unknown> = [];
  const machine = breakerMachine.provide({
    actors: {
      load: fromPromise<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>(async () => decodeBreaker(kv, clock.now(), COOLDOWN)),
    },
    actions: {
      persist: (_args, record) => {
        persisted.push(record);
        for (const [key, value] of Object.entries(encodeBreaker(record, clock.now()))) kv.set(key, value);
      },
      reportLoadError: (_args, { error }) => {
        loadErrors.push(error);
      },
    },
  });
  const actor = createActor(machine, { clock, input: { channel: "alice", threshold, cooldownMs: COOLDOWN } });
  const state = () => breakerStateOf(actor.getSnapshot().value);
  return { actor, persisted, loadErrors, state };
};

describe("breaker", () => {
  it("opens after the threshold, goes half-open after the cooldown, and a probe decides", async () => {
    const clock = new SimulatedClock();
    const kv = new Map<string, string>();
    const { actor, persisted, state } = harness(kv, clock);
    actor.start();
    await flush();
    expect(state()).toBe("closed");

    actor.send({ type: "FAILURE" });
    actor.send({ type: "FAILURE" });
    expect(state()).toBe("closed");
    expect(actor.getSnapshot().context.failures).toBe(2);

    actor.send({ type: "FAILURE" });
    expect(state()).toBe("open");
    expect(persisted.at(-1)).toEqual({ state: "open", failures: 3, openForMs: COOLDOWN });
    expect(kv.get("circuit_state")).toBe("open");
    expect(Date.parse(kv.get("circuit_open_until")!)).toBe(clock.now() + COOLDOWN);

    clock.increment(COOLDOWN - 1);
    expect(state()).toBe("open");
    clock.increment(1);
    expect(state()).toBe("halfOpen");
    expect(kv.get("circuit_state")).toBe("half-open");

    // The one probe fails: open again for a full cooldown.
    actor.send({ type: "PROBE" });
    expect(state()).toBe("probing");
    actor.send({ type: "FAILURE" });
    expect(state()).toBe("open");
    expect(actor.getSnapshot().context.failures).toBe(4);

    clock.increment(COOLDOWN);
    expect(state()).toBe("halfOpen");
    actor.send({ type: "PROBE" });
    actor.send({ type: "SUCCESS" });
    expect(state()).toBe("closed");
    expect(actor.getSnapshot().context.failures).toBe(0);
    expect(persisted.at(-1)).toEqual({ state: "closed", failures: 0, openForMs: 0 });
    expect(kv.get("circuit_state")).toBe("closed");
    expect(kv.get("circuit_open_until")).toBe("");
    actor.stop();
  });

  it("a success in closed resets the consecutive count", async () => {
    const clock = new SimulatedClock();
    const { actor, state } = harness(new Map(), clock);
    actor.start();
    await flush();
    actor.send({ type: "FAILURE" });
    actor.send({ type: "FAILURE" });
    actor.send({ type: "SUCCESS" });
    actor.send({ type: "FAILURE" });
    actor.send({ type: "FAILURE" });
    expect(state()).toBe("closed");
    expect(actor.getSnapshot().context.failures).toBe(2);
    actor.stop();
  });

  it("threshold 0 disables it, as in the Go original", async () => {
    const clock = new SimulatedClock();
    const { actor, state } = harness(new Map(), clock, 0);
    actor.start();
    await flush();
    for (let i = 0; i < 50; i++) actor.send({ type: "FAILURE" });
    expect(state()).toBe("closed");
    expect(actor.getSnapshot().context.failures).toBe(50);
    actor.stop();
  });

  it("restored from kv while open, it waits only the time left on the deadline", async () => {
    const clock = new SimulatedClock();
    clock.set(1_700_000_000_000);
    const kv = new Map<string, string>();
    const first = harness(kv, clock);
    first.actor.start();
    await flush();
    for (let i = 0; i < 3; i++) first.actor.send({ type: "FAILURE" });
    expect(first.state()).toBe("open");
    // The process stops 20 s into the cooldown; its timers die with it.
    clock.increment(20_000);
    first.actor.stop();

    // Time passes while nothing runs; the new actor must re-arm from kv.
    const restarted = new SimulatedClock();
    restarted.set(clock.now() + 10_000);
    const second = harness(kv, restarted);
    second.actor.start();
    await flush();
    expect(second.state()).toBe("open");
    expect(second.actor.getSnapshot().context.failures).toBe(3);
    restarted.increment(COOLDOWN - 30_000 - 1);
    expect(second.state()).toBe("open");
    restarted.increment(1);
    expect(second.state()).toBe("halfOpen");
    second.actor.stop();
  });

  it("restored open past its deadline, it goes half-open at once", async () => {
    const clock = new SimulatedClock();
    clock.set(1_700_000_000_000);
    const kv = new Map(Object.entries(encodeBreaker({ state: "open", failures: 7, openForMs: 5_000 }, clock.now() - 60_000)));
    const { actor, state } = harness(kv, clock);
    actor.start();
    await flush();
    clock.increment(0);
    expect(state()).toBe("halfOpen");
    expect(actor.getSnapshot().context.failures).toBe(7);
    actor.stop();
  });

  it("restores half-open, and starts closed (reporting why) when kv cannot be read", async () => {
    const clock = new SimulatedClock();
    const halfOpen = harness(new Map([["circuit_state", "half-open"], ["circuit_failures", "4"]]), clock);
    halfOpen.actor.start();
    await flush();
    expect(halfOpen.state()).toBe("halfOpen");
    halfOpen.actor.stop();

    const loadErrors: Array<unknown> = [];
    const broken = createActor(
      breakerMachine.provide({
        actors: { load: fromPromise<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>(() => Promise.reject(new Error("kv unreachable"))) },
        actions: { reportLoadError: (_args, { error }) => void loadErrors.push(error) },
      }),
      { clock, input: { channel: "alice", threshold: 3, cooldownMs: COOLDOWN } },
    ).start();
    await flush();
    expect(breakerStateOf(broken.getSnapshot().value)).toBe("closed");
    expect(loadErrors).toHaveLength(1);
    broken.stop();
  });

  it("RESET closes an open breaker and forgets its failures", async () => {
    const clock = new SimulatedClock();
    const kv = new Map<string, string>();
    const { actor, state } = harness(kv, clock);
    actor.start();
    await flush();
    for (let i = 0; i < 3; i++) actor.send({ type: "FAILURE" });
    expect(state()).toBe("open");
    actor.send({ type: "RESET" });
    expect(state()).toBe("closed");
    expect(kv.get("circuit_failures")).toBe("0");
    // The cancelled cooldown must not fire later.
    clock.increment(COOLDOWN * 2);
    expect(state()).toBe("closed");
    actor.stop();
  });
});
