import { assert, layer } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { ChannelsRepository } from "../../../../src/services/repositories/channels.ts";
import { testDatabaseLayer } from "../../../support/database.ts";

layer(ChannelsRepository.layer.pipe(Layer.provideMerge(testDatabaseLayer())), { excludeTestServices: true })(
  "channels",
  (it) => {
    it.effect("upsert inserts with defaults and get reads it back", () =>
      Effect.gen(function* () {
        const channels = yield* ChannelsRepository;
        const stored = yield* channels.upsert({ name: "alpha", source: "env" });
        assert.strictEqual(stored.name, "alpha");
        assert.strictEqual(stored.source, "env");
        assert.isTrue(stored.enabled);
        assert.isFalse(stored.paused);
        assert.isNull(stored.twitchUserId);
        assert.isNull(stored.displayName);
        assert.deepStrictEqual(stored.settings, {});
        assert.instanceOf(stored.createdAt, Date);
        assert.deepStrictEqual(yield* channels.get("alpha"), stored);
      }));

    it.effect("settings round-trip as JSON", () =>
      Effect.gen(function* () {
        const channels = yield* ChannelsRepository;
        const settings = { chat: "always", catalog: { intervalMs: 60000, max: 0 }, upload: { enabled: false } };
        yield* channels.upsert({ name: "bravo", source: "control", settings, twitchUserId: "1234", displayName: "Bravo" });
        const stored = yield* channels.get("bravo");
        assert.deepStrictEqual(stored?.settings, settings);
        assert.strictEqual(stored?.twitchUserId, "1234");
        assert.strictEqual(stored?.displayName, "Bravo");
      }));

    it.effect("a second upsert changes the given fields and keeps the others", () =>
      Effect.gen(function* () {
        const channels = yield* ChannelsRepository;
        const first = yield* channels.upsert({
          name: "charlie",
          source: "file",
          twitchUserId: "42",
          settings: { chat: "auto" },
        });
        const second = yield* channels.upsert({ name: "charlie", source: "control", paused: true });
        assert.strictEqual(second.source, "control");
        assert.isTrue(second.paused);
        assert.isTrue(second.enabled);
        assert.strictEqual(second.twitchUserId, "42");
        assert.deepStrictEqual(second.settings, { chat: "auto" });
        assert.strictEqual(second.createdAt.getTime(), first.createdAt.getTime());
        assert.isAtLeast(second.updatedAt.getTime(), first.updatedAt.getTime());
        const third = yield* channels.upsert({ name: "charlie", source: "control", enabled: false, settings: {} });
        assert.isFalse(third.enabled);
        assert.isTrue(third.paused);
        assert.deepStrictEqual(third.settings, {});
      }));

    it.effect("list returns every channel by name; remove deletes one", () =>
      Effect.gen(function* () {
        const channels = yield* ChannelsRepository;
        yield* channels.upsert({ name: "zulu", source: "env" });
        yield* channels.upsert({ name: "delta", source: "file" });
        const names = (yield* channels.list).map((channel) => channel.name);
        assert.deepStrictEqual(names, [...names].sort());
        assert.includeMembers(names, ["delta", "zulu"]);
        assert.isTrue(yield* channels.remove("zulu"));
        assert.isFalse(yield* channels.remove("zulu"));
        assert.isUndefined(yield* channels.get("zulu"));
        assert.notInclude((yield* channels.list).map((channel) => channel.name), "zulu");
      }));
  },
);
