import { describe, expect, it } from "vitest";
import { SimulatedClock, fromPromise } from "xstate";
import type { CatalogInput, ScanInput, ScanResult } from "../../../src/machines/catalog.ts";
import { catalogMachine } from "../../../src/machines/catalog.ts";
import { failure } from "../../../src/machines/failure.ts";
import type { Failure } from "../../../src/machines/failure.ts";
import { settle, underParent } from "./machine-harness.ts";

const HOUR = 3_600_000;

const input = (overrides: Partial<CatalogInput> = {}): CatalogInput => ({
  channel: "alice",
  settings: { intervalMs: HOUR, max: 0, maxAgeDays: 0 },
  backoff: { baseMs: 1_000, maxMs: 600_000 },
  firstScanDelayMs: 5_000,
  ...overrides,
});

/** A scan that answers from a script and counts its calls. */
const scanner = (script: Array<ScanResult | Failure | Error> = []) => {
  const calls: Array<ScanInput> = [];
  const errors: Array<string> = [];
  const machine = catalogMachine.provide({
    actors: {
      scan: fromPromise<ScanResult, ScanInput>(async ({ input }) => {
        calls.push(input);
        const next = script.shift() ?? { found: 3, added: 1 };
        if ("found" in next) return next;
        throw next;
      }),
    },
    actions: { reportError: (_args, { message }) => void errors.push(message) },
  });
  return { machine, calls, errors };
};

describe("catalog", () => {
  it("reports ready, scans after the first delay, then on its interval, and tells its channel", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scanner();
    const run = underParent(machine, input(), clock);
    expect(run.received).toContainEqual({ type: "CHILD.READY", child: "catalog" });
    expect(run.value()).toEqual({ idle: "scheduled" });

    clock.increment(4_999);
    await settle();
    expect(calls).toHaveLength(0);
    clock.increment(1);
    await settle();
    expect(calls).toHaveLength(1);
    expect(run.received).toContainEqual({ type: "CATALOG.SCANNED", found: 3, added: 1 });
    expect(run.value()).toEqual({ idle: "scheduled" });

    clock.increment(HOUR - 1);
    await settle();
    expect(calls).toHaveLength(1);
    clock.increment(1);
    await settle();
    expect(calls).toHaveLength(2);
    run.stop();
  });

  it("scans on demand, and a demand while idle does not double the schedule", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scanner();
    const run = underParent(machine, input(), clock);
    run.send({ type: "SCAN" });
    await settle();
    expect(calls).toHaveLength(1);
    // The first-scan timer was replaced by a full interval.
    clock.increment(5_000);
    await settle();
    expect(calls).toHaveLength(1);
    clock.increment(HOUR - 5_000);
    await settle();
    expect(calls).toHaveLength(2);
    run.stop();
  });

  it("backs off on failures, doubling, and resets after a success", async () => {
    const clock = new SimulatedClock();
    const { machine, calls, errors } = scanner([failure("retryable", "Helix 503"), failure("retryable", "Helix 503"), failure("permanent", "unknown user")]);
    const run = underParent(machine, input({ firstScanDelayMs: 0 }), clock);
    clock.increment(0);
    await settle();
    expect(run.value()).toBe("backoff");
    expect(run.context().failures).toBe(1);
    clock.increment(1_000);
    await settle();
    expect(calls).toHaveLength(2);
    expect(run.value()).toBe("backoff");
    clock.increment(1_999);
    await settle();
    expect(calls).toHaveLength(2);
    clock.increment(1);
    await settle();
    expect(calls).toHaveLength(3);
    // A permanent failure backs off too: the next scan may still work (a renamed channel, a fixed token).
    expect(run.value()).toBe("backoff");
    clock.increment(4_000);
    await settle();
    expect(calls).toHaveLength(4);
    expect(run.value()).toEqual({ idle: "scheduled" });
    expect(run.context().failures).toBe(0);
    expect(errors).toEqual(["Helix 503", "Helix 503", "unknown user"]);
    run.stop();
  });

  it("applies new settings without a restart and re-arms with the new interval", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scanner();
    const run = underParent(machine, input({ firstScanDelayMs: 0 }), clock);
    clock.increment(0);
    await settle();
    expect(calls).toHaveLength(1);
    const before = run.child();
    run.send({ type: "SETTINGS", settings: { intervalMs: 60_000, max: 10, maxAgeDays: 0 } });
    expect(run.child()).toBe(before);
    clock.increment(60_000);
    await settle();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.settings.max).toBe(10);
    run.stop();
  });

  it("with interval 0 it scans once at start and then only on demand", async () => {
    const clock = new SimulatedClock();
    const { machine, calls } = scanner();
    const run = underParent(machine, input({ firstScanDelayMs: 0, settings: { intervalMs: 0, max: 0, maxAgeDays: 0 } }), clock);
    clock.increment(0);
    await settle();
    expect(calls).toHaveLength(1);
    expect(run.value()).toEqual({ idle: "onDemand" });
    clock.increment(30 * 24 * HOUR);
    await settle();
    expect(calls).toHaveLength(1);
    run.send({ type: "SCAN" });
    await settle();
    expect(calls).toHaveLength(2);
    run.stop();
  });

  it("a crashing scan errors the catalog for its supervisor", async () => {
    const clock = new SimulatedClock();
    const { machine } = scanner([new RangeError("bad page cursor")]);
    const run = underParent(machine, input({ firstScanDelayMs: 0 }), clock);
    clock.increment(0);
    await settle();
    expect(run.error()).toBeInstanceOf(RangeError);
    expect(run.child()?.getSnapshot().status).toBe("error");
    run.stop();
  });
});
