import { randomBytes } from "node:crypto";
import type { SimClock } from "./clock.ts";

/** Which identity provider issued a token. */
export type Provider = "twitch" | "google";

/** An access token the simulator issued. */
export interface IssuedToken {
  readonly token: string;
  readonly provider: Provider;
  readonly clientId: string;
  /** `app` tokens come from client credentials; `user` tokens name a user. */
  readonly kind: "app" | "user";
  readonly userId: string | null;
  readonly login: string | null;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

/** What a refresh token grants again. */
export interface RefreshGrant {
  readonly provider: Provider;
  readonly clientId: string;
  readonly userId: string | null;
  readonly login: string | null;
  readonly scopes: readonly string[];
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
const randomToken = (length: number): string => {
  const bytes = randomBytes(length);
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
};

/**
 * Access and refresh tokens of both providers, with expiry read from the sim clock.
 * Tokens never persist: a restarted simulator has forgotten them all, like a revocation.
 */
export class TokenStore {
  readonly #clock: SimClock;
  readonly #access = new Map<string, IssuedToken>();
  readonly #refresh = new Map<string, RefreshGrant>();

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  /** Issues an access token living `ttlSeconds`. */
  issue(grant: RefreshGrant & { readonly kind: "app" | "user" }, ttlSeconds: number): IssuedToken {
    const token = grant.provider === "google" ? `ya29.${randomToken(60)}` : randomToken(30);
    const issued: IssuedToken = { ...grant, token, expiresAt: this.#clock.now() + ttlSeconds * 1000 };
    this.#access.set(token, issued);
    return issued;
  }

  /** Registers a refresh token (made up when `token` is not given) and returns it. */
  addRefresh(grant: RefreshGrant, token?: string): string {
    const t = token ?? (grant.provider === "google" ? `1//${randomToken(40)}` : randomToken(50));
    this.#refresh.set(t, grant);
    return t;
  }

  /** The grant behind a refresh token, if known. */
  refreshGrant(token: string): RefreshGrant | undefined {
    return this.#refresh.get(token);
  }

  /** The token when it is known and not expired. */
  valid(token: string, provider: Provider): IssuedToken | undefined {
    const t = this.#access.get(token);
    if (t === undefined || t.provider !== provider) return undefined;
    if (t.expiresAt <= this.#clock.now()) return undefined;
    return t;
  }

  /** Seconds left on a token (0 when expired). */
  secondsLeft(t: IssuedToken): number {
    return Math.max(0, Math.floor((t.expiresAt - this.#clock.now()) / 1000));
  }

  /** Forgets one access token. */
  revoke(token: string): boolean {
    return this.#access.delete(token);
  }

  /** Makes every issued access token of `provider` (or both) invalid. */
  expireAll(provider: Provider | "all"): number {
    let n = 0;
    for (const [k, t] of this.#access) {
      if (provider === "all" || t.provider === provider) {
        this.#access.delete(k);
        n++;
      }
    }
    return n;
  }
}
