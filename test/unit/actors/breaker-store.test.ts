import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { TestClock } from "effect/testing";
import { BreakerStore, decodeBreaker, encodeBreaker } from "../../../src/actors/breaker-store.ts";

const NOW = Date.parse("2024-10-15T14:30:00Z");

describe("breaker kv encoding", () => {
  it.effect("writes the Go keys and values: state, failures, RFC 3339 deadline", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(encodeBreaker({ state: "open", failures: 5, openForMs: 300_000 }, NOW), {
        circuit_state: "open",
        circuit_failures: "5",
        circuit_open_until: "2024-10-15T14:35:00.000Z",
      });
      assert.deepStrictEqual(encodeBreaker({ state: "halfOpen", failures: 5, openForMs: 0 }, NOW), {
        circuit_state: "half-open",
        circuit_failures: "5",
        circuit_open_until: "",
      });
    }));

  it.effect("reads back the time left, Go's formats included, and treats nonsense as closed", () =>
    Effect.sync(() => {
      const rows = (entries: Record<string, string>) => new Map(Object.entries(entries));
      assert.deepStrictEqual(
        decodeBreaker(rows({ circuit_state: "open", circuit_failures: "3", circuit_open_until: "2024-10-15T16:32:00+02:00" }), NOW, 300_000),
        { state: "open", failures: 3, openRemainingMs: 120_000 },
      );
      assert.deepStrictEqual(decodeBreaker(rows({ circuit_state: "open", circuit_open_until: String(NOW - 1) }), NOW, 300_000), {
        state: "open",
        failures: 0,
        openRemainingMs: 0,
      });
      // Open without a deadline: a full cooldown.
      assert.deepStrictEqual(decodeBreaker(rows({ circuit_state: "open" }), NOW, 300_000), { state: "open", failures: 0, openRemainingMs: 300_000 });
      assert.deepStrictEqual(decodeBreaker(rows({ circuit_state: "half-open", circuit_failures: "2" }), NOW, 1), {
        state: "halfOpen",
        failures: 2,
        openRemainingMs: 0,
      });
      assert.deepStrictEqual(decodeBreaker(rows({ circuit_state: "sideways", circuit_failures: "-4" }), NOW, 1), {
        state: "closed",
        failures: 0,
        openRemainingMs: 0,
      });
      assert.deepStrictEqual(decodeBreaker(new Map(), NOW, 1), { state: "closed", failures: 0, openRemainingMs: 0 });
    }));
});

describe("BreakerStore", () => {
  it.effect("keeps the deadline absolute: what is loaded later has less time left", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW);
      const store = yield* BreakerStore;
      yield* store.save("alice", { state: "open", failures: 4, openForMs: 60_000 });
      yield* TestClock.adjust(20_000);
      assert.deepStrictEqual(yield* store.load("alice", 60_000), { state: "open", failures: 4, openRemainingMs: 40_000 });
      assert.deepStrictEqual(yield* store.load("bob", 60_000), { state: "closed", failures: 0, openRemainingMs: 0 });
    }).pipe(Effect.provide(BreakerStore.layerMemory)));

  it.effect("reports a kv failure as a retryable WorkError naming the channel", () =>
    Effect.gen(function* () {
      const store = BreakerStore.fromKv({
        getMany: () => Effect.fail(new Error("connection refused")),
        setMany: () => Effect.fail(new Error("read-only transaction")),
      });
      const loaded = yield* Effect.flip(store.load("alice", 1));
      assert.strictEqual(loaded.message, "cannot read breaker of alice: connection refused");
      assert.isTrue(loaded.retryable);
      const saved = yield* Effect.flip(store.save("alice", { state: "closed", failures: 0, openForMs: 0 }));
      assert.strictEqual(saved.message, "cannot store breaker of alice: read-only transaction");
    }));
});
