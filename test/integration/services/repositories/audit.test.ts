import { assert, layer } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { AuditRepository } from "../../../../src/services/repositories/audit.ts";
import { testDatabaseLayer } from "../../../support/database.ts";

layer(AuditRepository.layer.pipe(Layer.provideMerge(testDatabaseLayer())), { excludeTestServices: true })(
  "audit",
  (it) => {
    it.effect("record stores an entry and returns it with id and time", () =>
      Effect.gen(function* () {
        const audit = yield* AuditRepository;
        const before = Date.now();
        const recorded = yield* audit.record({
          actor: "ctl:ops",
          action: "channel.add",
          channel: "alpha",
          params: { name: "alpha", settings: { chat: "always" }, tags: [1, true, null] },
          result: "ok",
        });
        assert.isAbove(recorded.id, 0);
        assert.isAtLeast(recorded.at.getTime(), before - 5_000);
        assert.strictEqual(recorded.actor, "ctl:ops");
        assert.strictEqual(recorded.action, "channel.add");
        assert.strictEqual(recorded.channel, "alpha");
        assert.deepStrictEqual(recorded.params, { name: "alpha", settings: { chat: "always" }, tags: [1, true, null] });
        assert.strictEqual(recorded.result, "ok");
        assert.isUndefined(recorded.error);
        assert.isUndefined(recorded.target);
      }));

    it.effect("recent lists newest first, limited, optionally for one channel", () =>
      Effect.gen(function* () {
        const audit = yield* AuditRepository;
        yield* audit.record({ actor: "admin", action: "vod.reprocess", channel: "bravo", target: "v1", result: "ok" });
        yield* audit.record({ actor: "admin", action: "vod.cancel", channel: "bravo", target: "v2", error: "not running", result: "rejected" });
        yield* audit.record({ actor: "system", action: "config.reload", result: "ok" });
        const latest = yield* audit.recent({ limit: 2 });
        assert.deepStrictEqual(latest.map((entry) => entry.action), ["config.reload", "vod.cancel"]);
        const bravo = yield* audit.recent({ limit: 10, channel: "bravo" });
        assert.deepStrictEqual(bravo.map((entry) => entry.target), ["v2", "v1"]);
        assert.strictEqual(bravo[0]?.error, "not running");
        assert.isUndefined(bravo[0]?.params);
      }));
  },
);
