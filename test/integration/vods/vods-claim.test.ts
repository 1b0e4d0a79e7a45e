import { assert, describe, it } from "@effect/vitest";
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll } from "vitest";
import { CLAIM_LOCK_NAMESPACE, VodClaims } from "../../../src/services/repositories/vods-claim.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";
import { clientLayer, insertVod } from "./vod-fixtures.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await Effect.runPromise(Layer.build(clientLayer(database.url, true)).pipe(Effect.scoped));
});
afterAll(async () => {
  await database?.drop();
});

/** A process's view of the database: its own pool and its own claims (its own claim lock). */
const processOn = (scope: Scope.Scope) =>
  Layer.buildWithScope(VodClaims.layer.pipe(Layer.provideMerge(clientLayer(database.url))), scope).pipe(
    Effect.map((context) => ({ claims: Context.get(context, VodClaims), sql: Context.get(context, SqlClient) })),
  );

const freshProcess = Effect.gen(function* () {
  const scope = yield* Scope.make();
  const process = yield* processOn(scope);
  return { ...process, scope };
});

const stop = (scope: Scope.Closeable) => Scope.close(scope, Exit.void);

describe("VOD claims", () => {
  it.live("take the channel's highest priority, then oldest, VOD; skip what is not workable", () =>
    Effect.gen(function* () {
      const a = yield* freshProcess;
      const channel = "order";
      const provide = Effect.provideService(SqlClient, a.sql);
      const old = yield* insertVod({ channel, date: new Date("2024-01-01T00:00:00Z") }).pipe(provide);
      const newer = yield* insertVod({ channel, date: new Date("2024-02-01T00:00:00Z") }).pipe(provide);
      const urgent = yield* insertVod({ channel, date: new Date("2024-03-01T00:00:00Z"), priority: 5 }).pipe(provide);
      yield* insertVod({ channel, date: new Date("2023-01-01T00:00:00Z"), is_placeholder: true, twitch_vod_id: null, stream_id: "s1" }).pipe(provide);
      yield* insertVod({ channel, date: new Date("2023-01-02T00:00:00Z"), processed: true }).pipe(provide);
      yield* insertVod({ channel, date: new Date("2023-01-03T00:00:00Z"), failed_permanently: true }).pipe(provide);
      yield* insertVod({ channel, date: new Date("2023-01-04T00:00:00Z"), download_state: "canceled" }).pipe(provide);
      yield* insertVod({ channel, date: new Date("2023-01-05T00:00:00Z"), next_attempt_at: new Date(Date.now() + 3_600_000) }).pipe(provide);
      // The archive of a stream still live is still growing.
      yield* insertVod({ channel, date: new Date("2023-01-06T00:00:00Z"), stream_id: "live-1" }).pipe(provide);
      yield* a.sql`INSERT INTO streams (channel, stream_id, started_at) VALUES (${channel}, 'live-1', now())`;
      yield* insertVod({ channel: "other", date: new Date("2020-01-01T00:00:00Z"), priority: 99 }).pipe(provide);

      const order: Array<number> = [];
      for (let i = 0; i < 4; i++) {
        const claimed = yield* a.claims.claimNext(channel);
        if (claimed === undefined) break;
        order.push(claimed.id);
        assert.strictEqual(claimed.channel, channel);
        assert.strictEqual(claimed.downloadState, "queued");
        yield* a.claims.finish(claimed.id, { _tag: "Done" });
      }
      assert.deepStrictEqual(order, [urgent, old, newer]);
      yield* stop(a.scope);
    }));

  it.live("two processes racing never take the same VOD", () =>
    Effect.gen(function* () {
      const a = yield* freshProcess;
      const b = yield* freshProcess;
      const channels = ["race1", "race2", "race3"];
      for (const channel of channels) {
        for (let i = 0; i < 8; i++) yield* insertVod({ channel, date: new Date(Date.UTC(2024, 0, 1 + i)) }).pipe(Effect.provideService(SqlClient, a.sql));
      }
      const taken = new Map<number, Array<string>>();
      const worker = (name: string, process: typeof a) =>
        Effect.gen(function* () {
          let idle = 0;
          while (idle < channels.length) {
            idle = 0;
            for (const channel of channels) {
              const claimed = yield* process.claims.claimNext(channel);
              if (claimed === undefined) {
                idle++;
                continue;
              }
              taken.set(claimed.id, [...(taken.get(claimed.id) ?? []), name]);
              // Hold the claim a moment, as a download would, so the other process's
              // claims overlap with it and must skip the locked rows.
              yield* Effect.sleep("5 millis");
              yield* process.claims.finish(claimed.id, { _tag: "Done" });
            }
          }
        });
      yield* Effect.all([worker("a", a), worker("b", b)], { concurrency: 2 });
      const all = yield* a.sql<{ readonly id: number }>`SELECT id FROM vods WHERE channel LIKE 'race%'`;
      assert.strictEqual(all.length, 24);
      for (const row of all) assert.strictEqual(taken.get(row.id)?.length, 1, `VOD ${row.id} taken by ${taken.get(row.id)}`);
      const takers = [...taken.values()].flat();
      assert.isTrue(takers.includes("a") && takers.includes("b"), "both processes took work");
      yield* stop(a.scope);
      yield* stop(b.scope);
    }));

  it.live("a VOD held by a live process is left alone; a dead process's VOD is taken over at once", () =>
    Effect.gen(function* () {
      const a = yield* freshProcess;
      const b = yield* freshProcess;
      const channel = "takeover";
      const only = yield* insertVod({ channel }).pipe(Effect.provideService(SqlClient, a.sql));
      const claimed = yield* a.claims.claimNext(channel);
      assert.strictEqual(claimed?.id, only);
      assert.isUndefined(yield* b.claims.claimNext(channel));
      assert.isTrue(yield* a.claims.holds(only));
      // SIGKILL leaves no finalizer run: the session just ends. Ending A's lock session is the same to the database.
      yield* b.sql`
        SELECT pg_terminate_backend(pid) FROM pg_locks
        WHERE locktype = 'advisory' AND classid::bigint = ${CLAIM_LOCK_NAMESPACE} AND objid::bigint = ${a.claims.claimant.key} AND granted`;
      // The backend exits (and its lock goes) a moment after it is told to.
      while (
        (yield* b.sql`
          SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = ${CLAIM_LOCK_NAMESPACE}
            AND objid::bigint = ${a.claims.claimant.key}`).length > 0
      ) {
        yield* Effect.sleep("20 millis");
      }
      const taken = yield* b.claims.claimNext(channel);
      assert.strictEqual(taken?.id, only);
      assert.isTrue(yield* b.claims.holds(only));
      // A's late verdict does not overwrite B's claim.
      yield* a.claims.finish(only, { _tag: "Canceled" }).pipe(Effect.ignore);
      const row = yield* b.sql<{ readonly claimed_by: string; readonly download_state: string }>`
        SELECT claimed_by, download_state FROM vods WHERE id = ${only}`;
      assert.strictEqual(row[0]?.claimed_by, b.claims.claimant.label);
      assert.strictEqual(row[0]?.download_state, "queued");
      yield* stop(a.scope);
      yield* stop(b.scope);
    }));

  it.live("claiming again gives back the channel's unfinished claim, so a restarted processor resumes it", () =>
    Effect.gen(function* () {
      const a = yield* freshProcess;
      const channel = "restart";
      const first = yield* insertVod({ channel, date: new Date("2024-01-01T00:00:00Z") }).pipe(Effect.provideService(SqlClient, a.sql));
      yield* insertVod({ channel, date: new Date("2024-01-02T00:00:00Z") }).pipe(Effect.provideService(SqlClient, a.sql));
      assert.strictEqual((yield* a.claims.claimNext(channel))?.id, first);
      assert.strictEqual((yield* a.claims.claimNext(channel))?.id, first);
      assert.deepStrictEqual(yield* a.claims.held, [first]);
      yield* stop(a.scope);
    }));

  it.live("finish: a retry waits for its time, a permanent failure and a cancel stay out of the queue", () =>
    Effect.gen(function* () {
      const a = yield* freshProcess;
      const provide = Effect.provideService(SqlClient, a.sql);
      const retry = yield* insertVod({ channel: "fin-retry" }).pipe(provide);
      const failed = yield* insertVod({ channel: "fin-failed" }).pipe(provide);
      const canceled = yield* insertVod({ channel: "fin-cancel" }).pipe(provide);
      assert.strictEqual((yield* a.claims.claimNext("fin-retry"))?.id, retry);
      yield* a.claims.finish(retry, { _tag: "Retry", retryAt: new Date(Date.now() + 1_500), message: "network: reset" });
      assert.isUndefined(yield* a.claims.claimNext("fin-retry"));
      yield* Effect.sleep("1600 millis");
      assert.strictEqual((yield* a.claims.claimNext("fin-retry"))?.id, retry);

      assert.strictEqual((yield* a.claims.claimNext("fin-failed"))?.id, failed);
      yield* a.claims.finish(failed, { _tag: "Failed", message: "not-found: gone" });
      assert.isUndefined(yield* a.claims.claimNext("fin-failed"));

      assert.strictEqual((yield* a.claims.claimNext("fin-cancel"))?.id, canceled);
      yield* a.claims.finish(canceled, { _tag: "Canceled" });
      assert.isUndefined(yield* a.claims.claimNext("fin-cancel"));

      const rows = yield* a.sql<{ readonly id: number; readonly download_state: string; readonly failed_permanently: boolean; readonly claim_key: number | null }>`
        SELECT id, download_state, failed_permanently, claim_key FROM vods WHERE id IN (${failed}, ${canceled}) ORDER BY id`;
      assert.deepStrictEqual(
        rows.map((row) => [row.download_state, row.failed_permanently, row.claim_key]),
        [
          ["failed", true, null],
          ["canceled", false, null],
        ],
      );
      yield* stop(a.scope);
    }));
});
