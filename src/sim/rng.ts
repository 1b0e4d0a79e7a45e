/**
 * A small seeded generator (mulberry32): the chat generator uses it so that one seed
 * gives the same chatters, texts and ids every run. Not for secrets.
 */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A uniformly random 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const hex8 = (n: number): string => hex[n >>> 24]! + hex[(n >>> 16) & 255]! + hex[(n >>> 8) & 255]! + hex[n & 255]!;

/** A version-4 UUID drawn from `rng` (Twitch message ids have this form). */
export const uuidFrom = (rng: Rng): string => {
  const a = rng.u32();
  const b = rng.u32();
  const c = rng.u32();
  const d = rng.u32();
  const bs = hex8(b);
  const cs = hex8(((c & 0x3fffffff) | 0x80000000) >>> 0);
  return `${hex8(a)}-${bs.slice(0, 4)}-4${bs.slice(5, 8)}-${cs.slice(0, 4)}-${cs.slice(4)}${hex8(d)}`;
};

/** 32 hex digits (Twitch `client-nonce`). */
export const nonceFrom = (rng: Rng): string => hex8(rng.u32()) + hex8(rng.u32()) + hex8(rng.u32()) + hex8(rng.u32());

/** A stable 32-bit hash of a string (FNV-1a), for per-channel seeds. */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};
