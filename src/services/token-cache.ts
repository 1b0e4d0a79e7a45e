/**
 * Access tokens kept until shortly before they expire, under a key (a refresh
 * token's digest, or the process's one app token). A miss fetches under a lock
 * shared by the whole cache, and callers that waited on it look again first,
 * so concurrent callers share one fetch instead of each minting their own.
 */
import { Clock, Effect, Semaphore } from "effect";

/** A token and the time (epoch ms) from which it should be fetched anew. */
export interface CachedToken {
  readonly token: string;
  readonly refreshAt: number;
}

/** Cached tokens; see the module comment. */
export interface TokenCache {
  /** The token cached under `key` while it is fresh; otherwise the one `fetch` yields, cached from then on. */
  readonly get: <E>(key: string, fetch: Effect.Effect<CachedToken, E>) => Effect.Effect<string, E>;
  /** Forgets `token` if it is still the one cached under `key` (the server refused it). */
  readonly invalidate: (key: string, token: string) => Effect.Effect<void>;
}

/** Builds an empty cache. */
export const makeTokenCache: Effect.Effect<TokenCache> = Effect.gen(function* () {
  const lock = yield* Semaphore.make(1);
  const cache = new Map<string, CachedToken>();

  const fresh = (key: string) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const entry = cache.get(key);
      return entry !== undefined && now < entry.refreshAt ? entry.token : undefined;
    });

  const get = <E>(key: string, fetch: Effect.Effect<CachedToken, E>): Effect.Effect<string, E> =>
    Effect.flatMap(fresh(key), (hit) =>
      hit !== undefined
        ? Effect.succeed(hit)
        : // Whoever gets the permit first fetches; the rest find its token on their re-check.
          lock.withPermit(
            Effect.flatMap(fresh(key), (again) =>
              again !== undefined
                ? Effect.succeed(again)
                : Effect.map(fetch, (fetched) => {
                    cache.set(key, fetched);
                    return fetched.token;
                  }),
            ),
          ),
    );

  const invalidate = (key: string, token: string) =>
    Effect.sync(() => {
      if (cache.get(key)?.token === token) cache.delete(key);
    });

  return { get, invalidate };
});
