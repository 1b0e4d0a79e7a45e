/**
 * A fresh database per test file (or per test) in the run's shared embedded
 * cluster. `createTestDatabase` for plain async code; `testDatabaseLayer` for
 * Effect tests: a migrated `SqlClient`/`PgClient`, dropped with the layer.
 *
 * Run database tests on the live clock (`it.live`, or
 * `layer(testDatabaseLayer(), { excludeTestServices: true })`): moving
 * `TestClock` also moves the client's pool and timeout timers and can hang
 * queries. To pin "now" for code under test, provide a `Clock.Clock` to that
 * effect alone.
 */
import * as PgClient from "@effect/sql-pg/PgClient";
import { Clock, Context, Effect, Layer, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { connectPgClient, type DatabaseError, runMigrations } from "../../src/services/database.ts";

/** A database created for one test file; `drop` removes it (closing leftover sessions). */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly drop: () => Promise<void>;
}

const adminStatement = (adminUrl: string, statement: string): Promise<void> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const client = yield* PgClient.makeClient({ url: Redacted.make(adminUrl) });
        yield* client.unsafe(statement).unprepared;
      }),
    ).pipe(Effect.provide(Reactivity.layer)),
  );

/** Creates a uniquely named, empty database in the shared cluster. */
export const createTestDatabase = async (): Promise<TestDatabase> => {
  const adminUrl = inject("postgresAdminUrl");
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await adminStatement(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminStatement(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
};

/**
 * A layer with `SqlClient` and `PgClient` on a new test database, migrated
 * unless `migrate: false`; the database is dropped when the layer is released.
 * Migrations run on the live clock so chat partitions match the real month.
 */
export const testDatabaseLayer = (options?: {
  readonly migrate?: boolean;
}): Layer.Layer<PgClient.PgClient | SqlClient, DatabaseError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const database = yield* Effect.acquireRelease(
        Effect.promise(() => createTestDatabase()),
        (db) => Effect.promise(() => db.drop()),
      );
      const client = yield* connectPgClient(Redacted.make(database.url), { maxConnections: 4 });
      if (options?.migrate !== false) {
        yield* runMigrations().pipe(
          Effect.provideService(SqlClient, client),
          Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()),
        );
      }
      return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient, client));
    }),
  ).pipe(Layer.provide(Reactivity.layer));
