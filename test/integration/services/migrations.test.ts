import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll } from "vitest";
import { connectPgClient, runMigrations } from "../../../src/services/database.ts";
import { chatPartitionName, listChatPartitions } from "../../../src/services/chat-partitions.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

// A client on the file's database, with nothing migrated yet.
const withSql = <A, E>(effect: Effect.Effect<A, E, SqlClient>) =>
  Effect.gen(function* () {
    const client = yield* connectPgClient(Redacted.make(database.url), { maxConnections: 2 });
    return yield* effect.pipe(Effect.provideService(SqlClient, client));
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer));

describe("migrations", () => {
  it.live("apply once, then are a no-op", () =>
    withSql(
      Effect.gen(function* () {
        const first = yield* runMigrations();
        assert.deepStrictEqual(first, [{ id: 1, name: "schema" }]);
        const second = yield* runMigrations();
        assert.deepStrictEqual(second, []);
        const sql = yield* SqlClient;
        const recorded = yield* sql<{ migration_id: number }>`SELECT migration_id FROM vod_tender_migrations`;
        assert.deepStrictEqual(recorded.map((row) => row.migration_id), [1]);
      }),
    ));

  it.live("create a chat partition for the current month", () =>
    withSql(
      Effect.gen(function* () {
        const names = (yield* listChatPartitions).map((partition) => partition.name);
        assert.include(names, chatPartitionName(new Date()));
      }),
    ));
});
