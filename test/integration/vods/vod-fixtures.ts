/**
 * Helpers shared by the VOD pipeline tests: rows inserted straight into `vods`,
 * and clients on one test database that stand for separate processes.
 */
import * as PgClient from "@effect/sql-pg/PgClient";
import { Clock, Context, Effect, Layer, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { connectPgClient, runMigrations } from "../../../src/services/database.ts";

/** Columns a test may set on an inserted VOD; the rest take the table's defaults. */
export interface VodFixture {
  readonly channel: string;
  readonly twitch_vod_id?: string | null;
  readonly title?: string;
  readonly date?: Date;
  readonly duration_seconds?: number;
  readonly url?: string;
  readonly priority?: number;
  readonly processed?: boolean;
  readonly is_placeholder?: boolean;
  readonly stream_id?: string | null;
  readonly failed_permanently?: boolean;
  readonly download_state?: string | null;
  readonly next_attempt_at?: Date | null;
  readonly file_path?: string | null;
  readonly sha256?: string | null;
  readonly youtube_url?: string | null;
}

let nextId = 900_000;

/** Inserts one VOD and returns its row id. */
export const insertVod = (fixture: VodFixture) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const row = {
      title: `VOD ${nextId}`,
      date: new Date("2024-01-01T00:00:00Z"),
      ...fixture,
      twitch_vod_id: fixture.twitch_vod_id === undefined ? String(nextId++) : fixture.twitch_vod_id,
    };
    const rows = yield* sql<{ readonly id: number }>`INSERT INTO vods ${sql.insert(row)} RETURNING id`;
    return rows[0]!.id;
  });

/** A migrated database's `SqlClient`/`PgClient` from its URL, as another process would have them. */
export const clientLayer = (url: string, migrate = false): Layer.Layer<PgClient.PgClient | SqlClient, unknown> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const client = yield* connectPgClient(Redacted.make(url), { maxConnections: 4 });
      if (migrate) {
        yield* runMigrations().pipe(
          Effect.provideService(SqlClient, client),
          Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()),
        );
      }
      return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient, client));
    }),
  ).pipe(Layer.provide(Reactivity.layer));
