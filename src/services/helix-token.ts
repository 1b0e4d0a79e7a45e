/**
 * Twitch app access token (client credentials grant), shared by every Helix
 * call of the process.
 *
 * One token is minted and reused until shortly before it expires; concurrent
 * callers wait on the same mint instead of minting their own (the Go original
 * minted a token per catalog cycle). A 401 from Helix invalidates the token it
 * was sent with, so the next caller mints exactly one replacement.
 */
import { Clock, Effect, Redacted, Schema } from "effect";
import { HelixAuthError, HelixDecodeError, HelixHttpError, HelixNetworkError } from "./helix-errors.ts";
import { AppTokenWire, ErrorWire } from "./helix-types.ts";
import { errorText, parseJson } from "./http-response.ts";
import { postTokenForm, tokenEndpointUrl, tokenRefreshAt } from "./oauth-token-endpoint.ts";
import { revealSecret } from "./reveal-secret.ts";
import { makeTokenCache } from "./token-cache.ts";

/** Where and how to mint app tokens. */
export interface AppTokenOptions {
  /** Twitch OAuth base, e.g. `https://id.twitch.tv/oauth2` (the token endpoint is `<base>/token`). */
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: Redacted.Redacted<string> | string;
  /**
   * Refresh this long before expiry; capped at a tenth of the token's lifetime so
   * short-lived tokens are not refreshed on every call. Default 60 s.
   */
  readonly refreshMarginMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
  /** Called after each successful mint (metrics). */
  readonly onMint?: ((info: { readonly expiresInSeconds: number }) => void) | undefined;
}

/** Errors minting a token can produce. */
export type AppTokenError = HelixAuthError | HelixNetworkError | HelixHttpError | HelixDecodeError;

/** The process's app token. */
export interface AppTokenSource {
  /** A valid token: the cached one, or a fresh one minted once for all waiting callers. */
  readonly get: Effect.Effect<string, AppTokenError>;
  /** Forgets `token` if it is still the cached one (Helix refused it). */
  readonly invalidate: (token: string) => Effect.Effect<void>;
  /** How many tokens were minted so far. */
  readonly mints: Effect.Effect<number>;
}

const ENDPOINT = "oauth2/token";
const decodeToken = Schema.decodeUnknownEffect(AppTokenWire);
const decodeError = Schema.decodeUnknownOption(ErrorWire);
// The process has one app token; it is cached under this one key.
const appTokenKey = "app";

/** Builds the token source; nothing is fetched until the first `get`. */
export const makeAppTokenSource = (options: AppTokenOptions): Effect.Effect<AppTokenSource> =>
  Effect.gen(function* () {
    const cache = yield* makeTokenCache;
    let mints = 0;
    const url = tokenEndpointUrl(options.oauthUrl);
    const secret = revealSecret(options.clientSecret);

    const mint = Effect.gen(function* () {
      const body = new URLSearchParams({
        client_id: options.clientId,
        client_secret: secret,
        grant_type: "client_credentials",
      });
      const response = yield* postTokenForm(
        url,
        body,
        options.requestTimeoutMs ?? 15_000,
        (cause) => new HelixNetworkError({ endpoint: ENDPOINT, message: errorText(cause) }),
      );
      const json = parseJson(response.text);
      if (response.status !== 200) {
        const detail = decodeError(json);
        const message = detail._tag === "Some" ? (detail.value.message ?? response.text) : response.text;
        // 400 (unknown client) and 403 (wrong secret) will not fix themselves.
        if (response.status === 400 || response.status === 401 || response.status === 403) {
          return yield* new HelixAuthError({ status: response.status, message: `token request refused: ${message}` });
        }
        return yield* new HelixHttpError({ endpoint: ENDPOINT, status: response.status, message });
      }
      const token = yield* decodeToken(json).pipe(
        Effect.mapError((issue) => new HelixDecodeError({ endpoint: ENDPOINT, message: issue.message })),
      );
      const now = yield* Clock.currentTimeMillis;
      mints++;
      options.onMint?.({ expiresInSeconds: token.expires_in });
      return { token: token.access_token, refreshAt: tokenRefreshAt(now, token.expires_in, options.refreshMarginMs ?? 60_000) };
    });

    return {
      get: cache.get(appTokenKey, mint),
      invalidate: (token: string) => cache.invalidate(appTokenKey, token),
      mints: Effect.sync(() => mints),
    };
  });
