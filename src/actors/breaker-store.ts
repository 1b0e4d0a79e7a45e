/**
 * Where a channel's breaker lives between runs: three `kv` keys per channel,
 * named and valued as in the Go original — `circuit_state`
 * (`closed|open|half-open`), `circuit_failures` (decimal) and
 * `circuit_open_until` (RFC 3339 instant; empty unless open).
 *
 * The breaker machine speaks in durations; this module turns the open period
 * into an absolute deadline on the way in and back into "time left" on the way
 * out, using the Effect `Clock`, so a breaker that was open when the process
 * stopped re-arms for exactly the time that remains.
 */
import { Clock, Context, Effect, Layer } from "effect";
import type { BreakerRecord, BreakerRestore, BreakerState } from "../machines/breaker.ts";
import { WorkError } from "./work-error.ts";

/** The `kv` keys of the breaker. */
export const BREAKER_KEYS = {
  state: "circuit_state",
  failures: "circuit_failures",
  openUntil: "circuit_open_until",
} as const;

const KEY_LIST: ReadonlyArray<string> = Object.values(BREAKER_KEYS);

const stateToKv = (state: BreakerState): string => (state === "halfOpen" ? "half-open" : state);

const stateFromKv = (text: string | undefined): BreakerState | undefined => {
  switch (text?.trim().toLowerCase()) {
    case "closed":
      return "closed";
    case "open":
      return "open";
    case "half-open":
    case "halfopen":
    case "half_open":
      return "halfOpen";
    default:
      return undefined;
  }
};

// Go wrote RFC 3339; epoch milliseconds are accepted too so hand-edited rows still load.
const instantFromKv = (text: string | undefined): number | undefined => {
  const trimmed = text?.trim() ?? "";
  if (trimmed === "") return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : parsed;
};

/** The `kv` entries for `record`, written at `now` (epoch ms). */
export const encodeBreaker = (record: BreakerRecord, now: number): Readonly<Record<string, string>> => ({
  [BREAKER_KEYS.state]: stateToKv(record.state),
  [BREAKER_KEYS.failures]: String(record.failures),
  [BREAKER_KEYS.openUntil]: record.state === "open" ? new Date(now + record.openForMs).toISOString() : "",
});

/**
 * The breaker described by `entries`, read at `now`. Missing or unreadable
 * entries mean a closed breaker with no failures; an open breaker whose
 * deadline passed comes back open with nothing left to wait (it goes half-open
 * at once), and one open without a deadline waits a full `cooldownMs`.
 */
export const decodeBreaker = (entries: ReadonlyMap<string, string>, now: number, cooldownMs: number): BreakerRestore => {
  const state = stateFromKv(entries.get(BREAKER_KEYS.state)) ?? "closed";
  const failuresText = entries.get(BREAKER_KEYS.failures)?.trim() ?? "";
  const failures = /^\d+$/.test(failuresText) ? Number(failuresText) : 0;
  if (state !== "open") return { state, failures, openRemainingMs: 0 };
  const until = instantFromKv(entries.get(BREAKER_KEYS.openUntil));
  return { state, failures, openRemainingMs: until === undefined ? cooldownMs : Math.max(0, until - now) };
};

/**
 * The slice of a `kv` repository the breaker needs. The project's
 * `KvRepository` has this shape, so it can be passed as is.
 */
export interface BreakerKv {
  readonly getMany: (channel: string, keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string>, unknown>;
  readonly setMany: (channel: string, entries: Readonly<Record<string, string>>) => Effect.Effect<void, unknown>;
}

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error);

/** Loads and saves breakers. */
export class BreakerStore extends Context.Service<
  BreakerStore,
  {
    /** The channel's breaker as stored, relative to now. */
    readonly load: (channel: string, cooldownMs: number) => Effect.Effect<BreakerRestore, WorkError>;
    /** Stores the channel's breaker; all three keys change together. */
    readonly save: (channel: string, record: BreakerRecord) => Effect.Effect<void, WorkError>;
  }
>()("vod-tender/actors/BreakerStore") {
  /**
   * A store over `kv`. Bind it to the repository with
   * `Layer.effect(BreakerStore, KvRepository.useSync(BreakerStore.fromKv))`.
   */
  static readonly fromKv = (kv: BreakerKv): BreakerStore["Service"] =>
    BreakerStore.of({
      load: (channel, cooldownMs) =>
        Effect.gen(function* () {
          const entries = yield* kv.getMany(channel, KEY_LIST);
          const now = yield* Clock.currentTimeMillis;
          return decodeBreaker(entries, now, cooldownMs);
        }).pipe(
          Effect.mapError((error) => new WorkError({ message: `cannot read breaker of ${channel}: ${describe(error)}`, retryable: true })),
        ),
      save: (channel, record) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis;
          yield* kv.setMany(channel, encodeBreaker(record, now));
        }).pipe(
          Effect.mapError((error) => new WorkError({ message: `cannot store breaker of ${channel}: ${describe(error)}`, retryable: true })),
        ),
    });

  /** A store in process memory, through the same kv encoding: for tests, benchmarks and databaseless runs. */
  static readonly layerMemory: Layer.Layer<BreakerStore> = Layer.sync(BreakerStore, () => {
    const rows = new Map<string, Map<string, string>>();
    return BreakerStore.fromKv({
      getMany: (channel, keys) =>
        Effect.sync(() => {
          const row = rows.get(channel);
          const found = new Map<string, string>();
          for (const key of keys) {
            const value = row?.get(key);
            if (value !== undefined) found.set(key, value);
          }
          return found;
        }),
      setMany: (channel, entries) =>
        Effect.sync(() => {
          const row = rows.get(channel) ?? new Map<string, string>();
          for (const [key, value] of Object.entries(entries)) row.set(key, value);
          rows.set(channel, row);
        }),
    });
  });
}
