import { assert, describe, it } from "@effect/vitest";
import { Deferred, Effect, Fiber } from "effect";
import { makeDownloadSlots, SlotPool } from "../../../src/services/download-slots.ts";

/** Queues a waiter and records its grant in `granted`. */
const wait = (pool: SlotPool, granted: Array<string>, channel: string, name: string, priority = 0) =>
  pool.request(channel, priority, () => granted.push(name));

describe("SlotPool", () => {
  it("grants at once while slots are free and nobody waits", () => {
    const pool = new SlotPool(2);
    const granted: Array<string> = [];
    assert.isTrue(wait(pool, granted, "a", "a1").granted);
    assert.isTrue(wait(pool, granted, "b", "b1").granted);
    assert.isFalse(wait(pool, granted, "a", "a2").granted);
    assert.deepStrictEqual(pool.snapshot(), { capacity: 2, inUse: 2, holding: { a: 1, b: 1 }, waiting: { a: 1 } });
  });

  it("a channel with one VOD waits at most one turn behind a channel with fifty", () => {
    const pool = new SlotPool(1);
    const granted: Array<string> = [];
    assert.isTrue(wait(pool, granted, "busy", "busy0").granted);
    for (let i = 1; i < 50; i++) wait(pool, granted, "busy", `busy${i}`);
    wait(pool, granted, "single", "single0");
    pool.release("busy");
    assert.deepStrictEqual(granted, ["single0"]);
    pool.release("single");
    pool.release("busy");
    assert.deepStrictEqual(granted, ["single0", "busy1", "busy2"]);
  });

  it("serves the least recently served channel first, then higher priority, then arrival", () => {
    const pool = new SlotPool(1);
    const granted: Array<string> = [];
    wait(pool, granted, "a", "a1");
    wait(pool, granted, "a", "a2");
    wait(pool, granted, "low", "low1", 0);
    wait(pool, granted, "high", "high1", 5);
    wait(pool, granted, "late", "late1", 0);
    for (let i = 0; i < 4; i++) pool.release(granted.length === 0 ? "a" : (granted[granted.length - 1]!.replace(/\d+$/, "")));
    // Never-served channels beat "a" (served once); among them priority, then arrival.
    assert.deepStrictEqual(granted, ["high1", "low1", "late1", "a2"]);
  });

  it("keeps arrival order within a channel", () => {
    const pool = new SlotPool(1);
    const granted: Array<string> = [];
    wait(pool, granted, "a", "a0");
    wait(pool, granted, "a", "a1");
    wait(pool, granted, "a", "a2");
    pool.release("a");
    pool.release("a");
    assert.deepStrictEqual(granted, ["a1", "a2"]);
  });

  it("a canceled waiter leaves the line; one canceled after its grant passes the slot on", () => {
    const pool = new SlotPool(1);
    const granted: Array<string> = [];
    wait(pool, granted, "a", "a0");
    const gone = wait(pool, granted, "b", "b0").waiter!;
    const late = wait(pool, granted, "c", "c0").waiter!;
    pool.cancel(gone);
    pool.release("a");
    assert.deepStrictEqual(granted, ["c0"]);
    // c was granted but its fiber was interrupted at that moment: the slot comes back.
    pool.cancel(late);
    assert.strictEqual(pool.snapshot().inUse, 0);
  });
});

describe("DownloadSlots", () => {
  it.effect("holds a slot for the scope and frees it when the scope closes", () =>
    Effect.gen(function* () {
      const slots = yield* makeDownloadSlots(1);
      const held = yield* Deferred.make<void>();
      const done = yield* Deferred.make<void>();
      const holder = yield* slots.withSlot("a")(Deferred.succeed(held, undefined).pipe(Effect.andThen(Deferred.await(done)))).pipe(Effect.forkChild);
      yield* Deferred.await(held);
      const waiter = yield* slots.withSlot("b")(Effect.succeed("b ran")).pipe(Effect.forkChild);
      yield* Effect.yieldNow;
      assert.deepStrictEqual(yield* slots.snapshot, { capacity: 1, inUse: 1, holding: { a: 1 }, waiting: { b: 1 } });
      yield* Deferred.succeed(done, undefined);
      yield* Fiber.join(holder);
      assert.strictEqual(yield* Fiber.join(waiter), "b ran");
      assert.deepStrictEqual(yield* slots.snapshot, { capacity: 1, inUse: 0, holding: {}, waiting: {} });
    }));

  it.effect("an interrupted waiter gives up its place and takes no slot", () =>
    Effect.gen(function* () {
      const slots = yield* makeDownloadSlots(1);
      const release = yield* Deferred.make<void>();
      const holder = yield* slots.withSlot("a")(Deferred.await(release)).pipe(Effect.forkChild);
      yield* Effect.yieldNow;
      const waiter = yield* slots.withSlot("b")(Effect.never).pipe(Effect.forkChild);
      yield* Effect.yieldNow;
      yield* Fiber.interrupt(waiter);
      assert.deepStrictEqual((yield* slots.snapshot).waiting, {});
      yield* Deferred.succeed(release, undefined);
      yield* Fiber.join(holder);
      assert.strictEqual((yield* slots.snapshot).inUse, 0);
    }));

  it.effect("with one slot, a channel's single download starts right after the running one of a channel with fifty", () =>
    Effect.gen(function* () {
      const slots = yield* makeDownloadSlots(1);
      const started: Array<string> = [];
      const singleQueued = yield* Deferred.make<void>();
      // The busy channel downloads its VODs back to back, as its processor does.
      const busy = Effect.gen(function* () {
        for (let i = 0; i < 50; i++) {
          yield* slots.withSlot("busy")(
            Effect.gen(function* () {
              started.push(`busy${i}`);
              if (i === 0) yield* Deferred.await(singleQueued);
              yield* Effect.yieldNow;
            }),
          );
        }
      });
      const single = Effect.gen(function* () {
        yield* Effect.yieldNow;
        const queued = slots.withSlot("single")(Effect.sync(() => void started.push("single0")));
        const fiber = yield* Effect.forkChild(queued);
        yield* Effect.yieldNow;
        yield* Deferred.succeed(singleQueued, undefined);
        yield* Fiber.join(fiber);
      });
      yield* Effect.all([busy, single], { concurrency: 2 });
      assert.strictEqual(started.length, 51);
      assert.deepStrictEqual(started.slice(0, 3), ["busy0", "single0", "busy1"]);
    }));
});
