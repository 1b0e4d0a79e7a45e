/**
 * Small per-channel state in the `kv` table: breaker keys (`circuit_state`,
 * `circuit_failures`, `circuit_open_until`), the catalog cursor
 * (`catalog_after`), job timestamps. Values are text, as in the Go original;
 * callers encode numbers and dates themselves.
 */
import { Array as Arr, Context, Effect, Layer } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

/** The `channel` of entries that belong to no channel. */
export const globalChannel = "";

/** Reads and writes of `kv`. */
export interface KvStore {
  /** The value of `key` for `channel`, or undefined when unset. */
  readonly get: (channel: string, key: string) => Effect.Effect<string | undefined, SqlError>;
  /** Sets `key` for `channel` (insert or overwrite). */
  readonly set: (channel: string, key: string, value: string) => Effect.Effect<void, SqlError>;
  /** The values of `keys` that are set for `channel`; unset keys are absent from the map. */
  readonly getMany: (channel: string, keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string>, SqlError>;
  /** Sets several keys of `channel` in one statement, so readers never see half of them. */
  readonly setMany: (channel: string, entries: Readonly<Record<string, string>>) => Effect.Effect<void, SqlError>;
  /** Removes `key` for `channel`; true when it was set. */
  readonly remove: (channel: string, key: string) => Effect.Effect<boolean, SqlError>;
}

/** The `kv` repository. */
export class KvRepository extends Context.Service<KvRepository, KvStore>()("vod-tender/services/repositories/Kv") {
  /** The repository over the `SqlClient` in context. */
  static readonly layer: Layer.Layer<KvRepository, never, SqlClient> = Layer.effect(
    KvRepository,
    Effect.gen(function* () {
      const sql = yield* SqlClient;

      const get = Effect.fn("Kv.get")(function* (channel: string, key: string) {
        const rows = yield* sql<{ readonly value: string }>`
          SELECT value FROM kv WHERE channel = ${channel} AND key = ${key}`;
        return rows[0]?.value;
      });

      const set = Effect.fn("Kv.set")(function* (channel: string, key: string, value: string) {
        yield* sql`
          INSERT INTO kv (channel, key, value, updated_at) VALUES (${channel}, ${key}, ${value}, now())
          ON CONFLICT (channel, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`;
      });

      const getMany = Effect.fn("Kv.getMany")(function* (channel: string, keys: ReadonlyArray<string>) {
        if (keys.length === 0) return new Map<string, string>();
        const rows = yield* sql<{ readonly key: string; readonly value: string }>`
          SELECT key, value FROM kv WHERE channel = ${channel} AND key = ANY(${[...keys]})`;
        return new Map(rows.map((row) => [row.key, row.value]));
      });

      const setMany = Effect.fn("Kv.setMany")(function* (channel: string, entries: Readonly<Record<string, string>>) {
        const rows = Object.entries(entries).map(([key, value]) => ({ channel, key, value }));
        if (!Arr.isArrayNonEmpty(rows)) return;
        yield* sql`
          INSERT INTO kv ${sql.insert(rows)}
          ON CONFLICT (channel, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`;
      });

      const remove = Effect.fn("Kv.remove")(function* (channel: string, key: string) {
        const rows = yield* sql`DELETE FROM kv WHERE channel = ${channel} AND key = ${key} RETURNING key`;
        return rows.length > 0;
      });

      return KvRepository.of({ get, set, getMany, setMany, remove });
    }),
  );
}
