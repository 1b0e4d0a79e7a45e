/**
 * The `channels` table: every channel the runtime knows, with where it came
 * from. Control-added channels live only here, so they survive restarts; env
 * and file channels are written here too, so the console and the API list all
 * channels from one place.
 */
import { Context, Effect, Layer, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { ChannelSource } from "../channel-settings.ts";

/** A stored channel. */
export interface ChannelRecord {
  /** Twitch login, lower case. */
  readonly name: string;
  readonly twitchUserId: string | null;
  readonly displayName: string | null;
  readonly source: ChannelSource;
  readonly enabled: boolean;
  readonly paused: boolean;
  /** Settings as the source gave them (a JSON object; shape owned by channel-settings.ts). */
  readonly settings: Schema.JsonObject;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * What `upsert` writes. On insert, omitted fields take their defaults
 * (enabled, not paused, no settings); on update, omitted fields keep their
 * stored value.
 */
export interface ChannelUpsert {
  readonly name: string;
  readonly source: ChannelSource;
  readonly twitchUserId?: string;
  readonly displayName?: string;
  readonly enabled?: boolean;
  readonly paused?: boolean;
  readonly settings?: Schema.JsonObject;
}

/** Reads and writes of `channels`. */
export interface ChannelStore {
  /** Inserts or updates one channel; returns it as stored. */
  readonly upsert: (channel: ChannelUpsert) => Effect.Effect<ChannelRecord, SqlError>;
  /** Deletes a channel; true when it existed. Its VODs, chat and kv rows stay. */
  readonly remove: (name: string) => Effect.Effect<boolean, SqlError>;
  /** Every channel, by name. */
  readonly list: Effect.Effect<ReadonlyArray<ChannelRecord>, SqlError>;
  /** One channel, or undefined. */
  readonly get: (name: string) => Effect.Effect<ChannelRecord | undefined, SqlError>;
}

const ChannelRow = Schema.Struct({
  name: Schema.String,
  twitch_user_id: Schema.NullOr(Schema.String),
  display_name: Schema.NullOr(Schema.String),
  source: Schema.Literals(["env", "file", "control"]),
  enabled: Schema.Boolean,
  paused: Schema.Boolean,
  settings: Schema.JsonObject,
  created_at: Schema.Date,
  updated_at: Schema.Date,
});

// A row that does not match is a schema/code mismatch, not a runtime condition.
const toRecord = (row: unknown): Effect.Effect<ChannelRecord> =>
  Schema.decodeUnknownEffect(ChannelRow)(row).pipe(
    Effect.map((decoded) => ({
      name: decoded.name,
      twitchUserId: decoded.twitch_user_id,
      displayName: decoded.display_name,
      source: decoded.source,
      enabled: decoded.enabled,
      paused: decoded.paused,
      settings: decoded.settings,
      createdAt: decoded.created_at,
      updatedAt: decoded.updated_at,
    })),
    Effect.orDie,
  );

/** The `channels` repository. */
export class ChannelsRepository extends Context.Service<ChannelsRepository, ChannelStore>()(
  "vod-tender/services/repositories/Channels",
) {
  /** The repository over the `SqlClient` in context. */
  static readonly layer: Layer.Layer<ChannelsRepository, never, SqlClient> = Layer.effect(
    ChannelsRepository,
    Effect.gen(function* () {
      const sql = yield* SqlClient;

      const upsert = Effect.fn("Channels.upsert")(function* (channel: ChannelUpsert) {
        const settings = channel.settings === undefined ? null : JSON.stringify(channel.settings);
        const rows = yield* sql`
          INSERT INTO channels (name, source, twitch_user_id, display_name, enabled, paused, settings)
          VALUES (
            ${channel.name}, ${channel.source}, ${channel.twitchUserId ?? null}, ${channel.displayName ?? null},
            COALESCE(${channel.enabled ?? null}::boolean, true), COALESCE(${channel.paused ?? null}::boolean, false),
            COALESCE(${settings}::jsonb, '{}'::jsonb)
          )
          ON CONFLICT (name) DO UPDATE SET
            source = EXCLUDED.source,
            twitch_user_id = COALESCE(${channel.twitchUserId ?? null}::text, channels.twitch_user_id),
            display_name = COALESCE(${channel.displayName ?? null}::text, channels.display_name),
            enabled = COALESCE(${channel.enabled ?? null}::boolean, channels.enabled),
            paused = COALESCE(${channel.paused ?? null}::boolean, channels.paused),
            settings = COALESCE(${settings}::jsonb, channels.settings),
            updated_at = now()
          RETURNING *`;
        return yield* toRecord(rows[0]);
      });

      const remove = Effect.fn("Channels.remove")(function* (name: string) {
        const rows = yield* sql`DELETE FROM channels WHERE name = ${name} RETURNING name`;
        return rows.length > 0;
      });

      const list = sql`SELECT * FROM channels ORDER BY name`.pipe(
        Effect.flatMap((rows) => Effect.forEach(rows, toRecord)),
        Effect.withSpan("Channels.list"),
      );

      const get = Effect.fn("Channels.get")(function* (name: string) {
        const rows = yield* sql`SELECT * FROM channels WHERE name = ${name}`;
        return rows[0] === undefined ? undefined : yield* toRecord(rows[0]);
      });

      return ChannelsRepository.of({ upsert, remove, list, get });
    }),
  );
}
