/**
 * The `oauth_tokens` table: OAuth tokens per provider (`twitch`, `youtube`) and
 * channel (`''` = shared by every channel), sealed at rest with AES-256-GCM
 * (`token-cipher.ts`) when `ENCRYPTION_KEY` is set.
 *
 * Rows written without a key (and rows from the Go original) are plain text,
 * `encryption_version` 0; they are read as they are and sealed the next time
 * they are written with a key. A sealed value is bound to its row (provider,
 * channel and field as associated data), so copying it onto another row does
 * not open it. Token values leave this module only as `Redacted`.
 */
import { createHash } from "node:crypto";
import { Context, Effect, Layer, Redacted, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import { revealSecret } from "../reveal-secret.ts";
import { makeTokenCipher, type TokenCipher, type TokenCipherKeyError } from "../token-cipher.ts";

/** The `channel` of tokens every channel shares. */
export const sharedTokenChannel = "";

/** A stored token, opened. */
export interface OAuthToken {
  readonly provider: string;
  readonly channel: string;
  readonly accessToken: Redacted.Redacted<string>;
  readonly refreshToken: Redacted.Redacted<string> | undefined;
  readonly expiry: Date | undefined;
  readonly scope: string | undefined;
  readonly updatedAt: Date;
}

/** A token to store. */
export interface OAuthTokenInput {
  readonly provider: string;
  readonly channel: string;
  readonly accessToken: Redacted.Redacted<string> | string;
  readonly refreshToken?: Redacted.Redacted<string> | string | undefined;
  readonly expiry?: Date | undefined;
  readonly scope?: string | undefined;
}

/** What is known about a stored token without opening it. */
export interface OAuthTokenInfo {
  readonly provider: string;
  readonly channel: string;
  readonly hasRefreshToken: boolean;
  readonly expiry: Date | undefined;
  readonly scope: string | undefined;
  /** 0 plain text, 1 sealed. */
  readonly encryptionVersion: number;
  readonly updatedAt: Date;
}

/**
 * A token could not be read or written: the database failed (`database`), a
 * sealed value did not open with the configured key (`decrypt`: wrong key or
 * tampered row), or a sealed row exists but no key is configured (`no-key`).
 */
export class TokenStoreError extends Schema.TaggedError<TokenStoreError>()("TokenStoreError", {
  reason: Schema.Literals(["database", "decrypt", "no-key"]),
  provider: Schema.String,
  channel: Schema.String,
  message: Schema.String,
}) {}

/** Reads and writes of `oauth_tokens`. */
export interface TokenStore {
  /** The token of exactly this provider and channel. */
  readonly get: (provider: string, channel: string) => Effect.Effect<OAuthToken | undefined, TokenStoreError>;
  /** The channel's own token, else the shared one. */
  readonly resolve: (provider: string, channel: string) => Effect.Effect<OAuthToken | undefined, TokenStoreError>;
  /** Inserts or replaces a token (sealed when a key is configured). A refresh token left out keeps the stored one. */
  readonly put: (token: OAuthTokenInput) => Effect.Effect<void, TokenStoreError>;
  /** Deletes a token; true when it existed. */
  readonly remove: (provider: string, channel: string) => Effect.Effect<boolean, TokenStoreError>;
  /** Every stored token, described without its values. */
  readonly list: Effect.Effect<ReadonlyArray<OAuthTokenInfo>, TokenStoreError>;
}

const TokenRow = Schema.Struct({
  provider: Schema.String,
  channel: Schema.String,
  access_token: Schema.String,
  refresh_token: Schema.NullOr(Schema.String),
  expiry: Schema.NullOr(Schema.Date),
  scope: Schema.NullOr(Schema.String),
  encryption_version: Schema.Number,
  encryption_key_id: Schema.NullOr(Schema.String),
  updated_at: Schema.Date,
});

const decodeRow = Schema.decodeUnknownEffect(TokenRow);

/** Names a key without revealing it: the first 16 hex digits of its SHA-256. */
export const encryptionKeyId = (key: Uint8Array): string => createHash("sha256").update(key).digest("hex").slice(0, 16);

/** The associated data a sealed field is bound to. */
const fieldContext = (provider: string, channel: string, field: "access" | "refresh"): string => `oauth_tokens:${provider}:${channel}:${field}`;

/** The `oauth_tokens` repository. */
export class TokensRepository extends Context.Service<TokensRepository, TokenStore>()("vod-tender/services/repositories/Tokens") {
  /**
   * The repository over the `SqlClient` in context, sealing with `encryptionKey`
   * (`ENCRYPTION_KEY`'s 32 bytes) or storing plain text without one.
   */
  static readonly layer = (
    encryptionKey: Redacted.Redacted<Uint8Array> | undefined,
  ): Layer.Layer<TokensRepository, TokenCipherKeyError, SqlClient> =>
    Layer.effect(
      TokensRepository,
      Effect.gen(function* () {
        const sql = yield* SqlClient;
        const key = encryptionKey === undefined ? undefined : Redacted.value(encryptionKey);
        const cipher: TokenCipher | undefined = key === undefined ? undefined : yield* makeTokenCipher(key);
        const keyId = key === undefined ? null : encryptionKeyId(key);

        const failure = (provider: string, channel: string, reason: TokenStoreError["reason"], message: string) =>
          new TokenStoreError({ reason, provider, channel, message });
        const database = (provider: string, channel: string) => (error: SqlError) =>
          failure(provider, channel, "database", error.message);

        const open = (row: typeof TokenRow.Type, field: "access" | "refresh", value: string) => {
          if (row.encryption_version === 0) return Effect.succeed(value);
          if (cipher === undefined) {
            return Effect.fail(
              failure(row.provider, row.channel, "no-key", "token is encrypted but ENCRYPTION_KEY is not set"),
            );
          }
          return cipher.decrypt(value, fieldContext(row.provider, row.channel, field)).pipe(
            Effect.mapError((error) =>
              failure(
                row.provider,
                row.channel,
                "decrypt",
                `cannot open the stored ${field} token (${error.reason}${
                  row.encryption_key_id !== null && row.encryption_key_id !== keyId ? ": sealed with a different ENCRYPTION_KEY" : ""
                })`,
              ),
            ),
          );
        };

        const toToken = (raw: unknown) =>
          Effect.gen(function* () {
            const row = yield* decodeRow(raw).pipe(Effect.orDie);
            const access = yield* open(row, "access", row.access_token);
            const refresh = row.refresh_token === null ? undefined : yield* open(row, "refresh", row.refresh_token);
            return {
              provider: row.provider,
              channel: row.channel,
              accessToken: Redacted.make(access),
              refreshToken: refresh === undefined ? undefined : Redacted.make(refresh),
              expiry: row.expiry ?? undefined,
              scope: row.scope ?? undefined,
              updatedAt: row.updated_at,
            } satisfies OAuthToken;
          });

        const get = Effect.fn("Tokens.get")(function* (provider: string, channel: string) {
          const rows = yield* sql`SELECT * FROM oauth_tokens WHERE provider = ${provider} AND channel = ${channel}`.pipe(
            Effect.mapError(database(provider, channel)),
          );
          return rows[0] === undefined ? undefined : yield* toToken(rows[0]);
        });

        const resolve = Effect.fn("Tokens.resolve")(function* (provider: string, channel: string) {
          return (yield* get(provider, channel)) ?? (channel === sharedTokenChannel ? undefined : yield* get(provider, sharedTokenChannel));
        });

        const seal = (provider: string, channel: string, field: "access" | "refresh", value: string) =>
          cipher === undefined ? Effect.succeed(value) : cipher.encrypt(value, fieldContext(provider, channel, field));

        const put = Effect.fn("Tokens.put")(function* (token: OAuthTokenInput) {
          const { provider, channel } = token;
          const access = yield* seal(provider, channel, "access", revealSecret(token.accessToken));
          let refresh: string | null = null;
          if (token.refreshToken !== undefined) {
            refresh = yield* seal(provider, channel, "refresh", revealSecret(token.refreshToken));
          } else {
            // The stored refresh token is re-sealed too, so the row never mixes versions.
            const stored = yield* get(provider, channel);
            if (stored?.refreshToken !== undefined) refresh = yield* seal(provider, channel, "refresh", Redacted.value(stored.refreshToken));
          }
          yield* sql`
            INSERT INTO oauth_tokens (provider, channel, access_token, refresh_token, expiry, scope, encryption_version, encryption_key_id)
            VALUES (${provider}, ${channel}, ${access}, ${refresh}, ${token.expiry ?? null}, ${token.scope ?? null},
              ${cipher === undefined ? 0 : 1}, ${keyId})
            ON CONFLICT (provider, channel) DO UPDATE SET
              access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token, expiry = EXCLUDED.expiry,
              scope = COALESCE(EXCLUDED.scope, oauth_tokens.scope), encryption_version = EXCLUDED.encryption_version,
              encryption_key_id = EXCLUDED.encryption_key_id, updated_at = now()`.pipe(Effect.mapError(database(provider, channel)));
        });

        const remove = Effect.fn("Tokens.remove")(function* (provider: string, channel: string) {
          const rows = yield* sql`DELETE FROM oauth_tokens WHERE provider = ${provider} AND channel = ${channel} RETURNING provider`.pipe(
            Effect.mapError(database(provider, channel)),
          );
          return rows.length > 0;
        });

        const list = sql`SELECT * FROM oauth_tokens ORDER BY provider, channel`.pipe(
          Effect.mapError(database("*", "*")),
          Effect.flatMap((rows) => Effect.forEach(rows, (raw) => decodeRow(raw).pipe(Effect.orDie))),
          Effect.map((rows) =>
            rows.map(
              (row): OAuthTokenInfo => ({
                provider: row.provider,
                channel: row.channel,
                hasRefreshToken: row.refresh_token !== null,
                expiry: row.expiry ?? undefined,
                scope: row.scope ?? undefined,
                encryptionVersion: row.encryption_version,
                updatedAt: row.updated_at,
              }),
            ),
          ),
          Effect.withSpan("Tokens.list"),
        );

        return TokensRepository.of({ get, resolve, put, remove, list });
      }),
    );
}
