/**
 * Per-connection request rate limit: a token bucket refilled continuously.
 * `burst` requests may arrive at once (a console loading its page), after which
 * the client is held to `perSecond`.
 */

/** A token bucket; `take()` spends one token if there is one. */
export interface RateLimiter {
  /** True when the request may proceed. */
  readonly take: () => boolean;
  /** Milliseconds until the next token, for the error message. */
  readonly retryAfterMs: () => number;
}

/** Creates a bucket that starts full. `now` is injectable for tests. */
export const makeRateLimiter = (options: {
  readonly perSecond: number;
  readonly burst: number;
  readonly now?: () => number;
}): RateLimiter => {
  const now = options.now ?? (() => performance.now());
  let tokens = options.burst;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(options.burst, tokens + ((t - last) / 1000) * options.perSecond);
    last = t;
  };
  return {
    take: () => {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    retryAfterMs: () => {
      refill();
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / options.perSecond) * 1000);
    },
  };
};
