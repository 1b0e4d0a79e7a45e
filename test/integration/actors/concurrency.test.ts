import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { Supervisor } from "../../../src/services/supervisor.ts";
import { eventually, settings, supervisorLayer } from "./supervisor-harness.ts";

/** A small deterministic generator, so a failure replays. */
const random = (seed: number) => () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
  return ((seed ^ (seed >>> 14)) >>> 0) / 4_294_967_296;
};

type Operation = { readonly kind: "add" | "remove"; readonly name: string };
type Outcome = "added" | "removed" | "ChannelExists" | "ChannelNotFound";

describe("concurrent operations", () => {
  it.live("200 concurrent adds and removes on overlapping names end in a consistent state", () =>
    Effect.gen(function* () {
      const supervisor = yield* Supervisor;
      const next = random(20_240_611);
      const names = Array.from({ length: 12 }, (_, i) => `name_${i}`);
      const operations: ReadonlyArray<Operation> = Array.from({ length: 200 }, () => ({
        kind: next() < 0.55 ? "add" : "remove",
        name: names[Math.floor(next() * names.length)]!,
      }));

      const outcomes = yield* Effect.forEach(
        operations,
        (operation): Effect.Effect<Outcome> =>
          operation.kind === "add"
            ? supervisor.addChannel(operation.name, settings).pipe(
                Effect.as("added" as const),
                Effect.catchTag("ChannelExists", () => Effect.succeed("ChannelExists" as const)),
                Effect.orDie,
              )
            : supervisor.removeChannel(operation.name).pipe(
                Effect.as("removed" as const),
                Effect.catchTag("ChannelNotFound", () => Effect.succeed("ChannelNotFound" as const)),
                Effect.orDie,
              ),
        { concurrency: "unbounded" },
      );

      // Every operation got a definite answer, and per name they alternate as
      // they must: an add succeeds only on an absent channel, a remove only
      // on a present one, whatever order they were served in.
      assert.strictEqual(outcomes.length, 200);
      const present = new Set<string>();
      const byName = new Map<string, Array<Outcome>>();
      operations.forEach((operation, i) => byName.set(operation.name, [...(byName.get(operation.name) ?? []), outcomes[i]!]));
      for (const [name, results] of byName) {
        const successes = results.filter((result) => result === "added" || result === "removed");
        for (let i = 1; i < successes.length; i++) assert.notStrictEqual(successes[i], successes[i - 1], `${name}: ${successes.join(",")}`);
        const adds = results.filter((result) => result === "added").length;
        const removes = results.filter((result) => result === "removed").length;
        assert.include([0, 1], adds - removes, `${name}: ${results.join(",")}`);
        if (adds - removes === 1) present.add(name);
      }

      // The registry, the actor tree and the answers agree.
      const listed = yield* supervisor.list;
      assert.deepStrictEqual(listed.map((status) => status.name).sort(), [...present].sort());
      const running = yield* eventually(
        Effect.map(supervisor.summary, (summary) => (summary.running === present.size ? summary : undefined)),
      );
      assert.strictEqual(Object.values(running).reduce((sum, count) => sum + count, 0), present.size);
      for (const status of listed) assert.notStrictEqual(status.tree.sessionId, "");

      // Removing what is left brings the runtime back to empty.
      yield* Effect.forEach([...present], (name) => supervisor.removeChannel(name), { concurrency: "unbounded" });
      const resources = yield* supervisor.resources;
      // The root and its 8 partitions remain, nothing else.
      assert.deepInclude(resources, { channels: 0, actors: 9, fibers: 0, holds: 0, timers: 0, locks: 0, scopes: 1 });
    }).pipe(Effect.scoped, Effect.provide(supervisorLayer())));
});
