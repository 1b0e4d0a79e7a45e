/**
 * What talking to an OAuth token endpoint takes, whichever grant and provider:
 * Twitch's app tokens and Google's refreshed access tokens are both fetched by
 * POSTing a form, and both refreshed a margin before they expire.
 */
import { Effect } from "effect";

/** A token endpoint's answer as read: its status and body text (an error page need not be JSON). */
export interface TokenEndpointResponse {
  readonly status: number;
  readonly text: string;
}

/** The token endpoint under an OAuth base such as `https://id.twitch.tv/oauth2` (trailing slashes ignored). */
export const tokenEndpointUrl = (oauthUrl: string): string => `${oauthUrl.replace(/\/+$/, "")}/token`;

/**
 * POSTs `form` to the token endpoint `url`, abandoning the request after
 * `timeoutMs` or when interrupted; getting no answer fails with `onFailure(cause)`.
 */
export const postTokenForm = <E>(
  url: string,
  form: URLSearchParams,
  timeoutMs: number,
  onFailure: (cause: unknown) => E,
): Effect.Effect<TokenEndpointResponse, E> =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(url, {
        method: "POST",
        body: form,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      return { status: res.status, text: await res.text() };
    },
    catch: onFailure,
  });

/**
 * When a token granted at `now` (ms) for `expiresInSeconds` should be
 * refreshed: `marginMs` before it expires, but never more than a tenth of its
 * lifetime early, so short-lived tokens are not refreshed on every use.
 */
export const tokenRefreshAt = (now: number, expiresInSeconds: number, marginMs: number): number => {
  const lifetimeMs = Math.max(0, expiresInSeconds * 1000);
  return now + lifetimeMs - Math.min(marginMs, lifetimeMs / 10);
};
