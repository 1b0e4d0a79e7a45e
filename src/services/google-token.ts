/**
 * Google access tokens from stored refresh tokens (the YouTube credential of a
 * channel), cached per refresh token until shortly before they expire.
 * Concurrent uploads of the same channel share one refresh.
 */
import { createHash } from "node:crypto";
import { Clock, Effect, Redacted, Schema } from "effect";
import { errorText, parseJson } from "./http-response.ts";
import { postTokenForm, tokenEndpointUrl, tokenRefreshAt } from "./oauth-token-endpoint.ts";
import { revealSecret } from "./reveal-secret.ts";
import { makeTokenCache } from "./token-cache.ts";

/** Where and as which OAuth client to refresh. */
export interface GoogleTokenOptions {
  /** Google OAuth base, e.g. `https://oauth2.googleapis.com` (the endpoint is `<base>/token`). */
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: Redacted.Redacted<string> | string;
  /** Refresh this long before expiry (capped at a tenth of the lifetime). Default 60 s. */
  readonly refreshMarginMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
}

/**
 * A refresh failed. `invalid-grant` (revoked or expired refresh token) and
 * `invalid-client` need an operator; `network` and `server` pass with time.
 */
export class GoogleTokenError extends Schema.TaggedError<GoogleTokenError>()("GoogleTokenError", {
  reason: Schema.Literals(["invalid-grant", "invalid-client", "network", "server", "decode"]),
  status: Schema.NullOr(Schema.Number),
  message: Schema.String,
}) {}

/** Whether waiting and trying again may help. */
export const isTransientGoogleTokenError = (error: GoogleTokenError): boolean =>
  error.reason === "network" || error.reason === "server";

/** Access tokens for any number of refresh tokens. */
export interface GoogleTokens {
  /** A valid access token for `refreshToken`. */
  readonly get: (refreshToken: Redacted.Redacted<string> | string) => Effect.Effect<string, GoogleTokenError>;
  /** Forgets `accessToken` if it is still the cached one (Google refused it). */
  readonly invalidate: (refreshToken: Redacted.Redacted<string> | string, accessToken: string) => Effect.Effect<void>;
  /** Refreshes performed so far. */
  readonly refreshes: Effect.Effect<number>;
}

const TokenWire = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Number,
  token_type: Schema.optional(Schema.String),
});

const ErrorWire = Schema.Struct({
  error: Schema.optional(Schema.String),
  error_description: Schema.optional(Schema.String),
});

// Cache keys are digests so the refresh tokens themselves are not kept twice in memory dumps.
const keyOf = (refreshToken: string): string => createHash("sha256").update(refreshToken).digest("hex");

/** Builds the token cache; nothing is fetched until the first `get`. */
export const makeGoogleTokens = (options: GoogleTokenOptions): Effect.Effect<GoogleTokens> =>
  Effect.gen(function* () {
    const cache = yield* makeTokenCache;
    let refreshes = 0;
    const url = tokenEndpointUrl(options.oauthUrl);

    const refresh = (refreshToken: string) =>
      Effect.gen(function* () {
        const body = new URLSearchParams({
          client_id: options.clientId,
          client_secret: revealSecret(options.clientSecret),
          refresh_token: refreshToken,
          grant_type: "refresh_token",
        });
        const response = yield* postTokenForm(
          url,
          body,
          options.requestTimeoutMs ?? 15_000,
          (cause) => new GoogleTokenError({ reason: "network", status: null, message: errorText(cause) }),
        );
        const json = parseJson(response.text);
        if (response.status !== 200) {
          const detail = Schema.decodeUnknownOption(ErrorWire)(json);
          const code = detail._tag === "Some" ? (detail.value.error ?? "") : "";
          const message =
            detail._tag === "Some" ? `${code}: ${detail.value.error_description ?? ""}` : response.text.slice(0, 200);
          const reason =
            code === "invalid_grant" ? "invalid-grant" : code === "invalid_client" || code === "unauthorized_client" ? "invalid-client" : response.status >= 500 || response.status === 429 ? "server" : "invalid-grant";
          return yield* new GoogleTokenError({ reason, status: response.status, message });
        }
        const token = yield* Schema.decodeUnknownEffect(TokenWire)(json).pipe(
          Effect.mapError((issue) => new GoogleTokenError({ reason: "decode", status: 200, message: issue.message })),
        );
        const now = yield* Clock.currentTimeMillis;
        refreshes++;
        return { token: token.access_token, refreshAt: tokenRefreshAt(now, token.expires_in, options.refreshMarginMs ?? 60_000) };
      });

    const get = (refreshToken: Redacted.Redacted<string> | string) => {
      const plain = revealSecret(refreshToken);
      return cache.get(keyOf(plain), refresh(plain));
    };

    const invalidate = (refreshToken: Redacted.Redacted<string> | string, accessToken: string) =>
      cache.invalidate(keyOf(revealSecret(refreshToken)), accessToken);

    return { get, invalidate, refreshes: Effect.sync(() => refreshes) };
  });
