import { assert, layer } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { globalChannel, KvRepository } from "../../../../src/services/repositories/kv.ts";
import { testDatabaseLayer } from "../../../support/database.ts";

layer(KvRepository.layer.pipe(Layer.provideMerge(testDatabaseLayer())), { excludeTestServices: true })("kv", (it) => {
  it.effect("an unset key reads as undefined", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      assert.isUndefined(yield* kv.get("alpha", "never_set"));
    }));

  it.effect("set then get round-trips, and a second set overwrites", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      yield* kv.set("alpha", "circuit_state", "open");
      assert.strictEqual(yield* kv.get("alpha", "circuit_state"), "open");
      yield* kv.set("alpha", "circuit_state", "closed");
      assert.strictEqual(yield* kv.get("alpha", "circuit_state"), "closed");
    }));

  it.effect("keys are per channel", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      yield* kv.set("bravo", "catalog_after", "cursor-b");
      yield* kv.set("charlie", "catalog_after", "cursor-c");
      yield* kv.set(globalChannel, "catalog_after", "cursor-global");
      assert.strictEqual(yield* kv.get("bravo", "catalog_after"), "cursor-b");
      assert.strictEqual(yield* kv.get("charlie", "catalog_after"), "cursor-c");
      assert.strictEqual(yield* kv.get(globalChannel, "catalog_after"), "cursor-global");
    }));

  it.effect("getMany returns only the keys that are set", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      yield* kv.set("delta", "circuit_failures", "3");
      yield* kv.set("delta", "circuit_open_until", "2030-01-01T00:00:00.000Z");
      yield* kv.set("echo", "circuit_state", "open");
      const values = yield* kv.getMany("delta", ["circuit_state", "circuit_failures", "circuit_open_until"]);
      assert.deepStrictEqual(
        [...values.entries()].sort(),
        [
          ["circuit_failures", "3"],
          ["circuit_open_until", "2030-01-01T00:00:00.000Z"],
        ],
      );
      assert.strictEqual((yield* kv.getMany("delta", [])).size, 0);
    }));

  it.effect("setMany writes new keys and overwrites existing ones together", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      yield* kv.set("foxtrot", "circuit_state", "closed");
      yield* kv.setMany("foxtrot", { circuit_state: "open", circuit_failures: "5" });
      const values = yield* kv.getMany("foxtrot", ["circuit_state", "circuit_failures"]);
      assert.strictEqual(values.get("circuit_state"), "open");
      assert.strictEqual(values.get("circuit_failures"), "5");
      yield* kv.setMany("foxtrot", {});
      assert.strictEqual(yield* kv.get("foxtrot", "circuit_state"), "open");
    }));

  it.effect("remove deletes one key and says whether it existed", () =>
    Effect.gen(function* () {
      const kv = yield* KvRepository;
      yield* kv.set("golf", "circuit_state", "open");
      yield* kv.set("golf", "circuit_failures", "1");
      assert.isTrue(yield* kv.remove("golf", "circuit_state"));
      assert.isFalse(yield* kv.remove("golf", "circuit_state"));
      assert.isUndefined(yield* kv.get("golf", "circuit_state"));
      assert.strictEqual(yield* kv.get("golf", "circuit_failures"), "1");
    }));
});
