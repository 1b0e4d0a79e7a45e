import { Field, IssueLog, readInput } from "./input-reader.ts";

/**
 * A fault the simulator can be told to produce. Request faults (`helix-error`,
 * `http-error`, `slow`, `segment-*`, `upload-interrupt`) arm a counter and hit the next
 * matching requests; action faults (`expire-tokens`, `irc-*`) happen once, at once.
 */
export type FaultSpec =
  /** Next `count` Helix requests (optionally one endpoint, e.g. "videos") fail with `status` and Twitch's error body; 429 also zeroes the rate-limit headers. */
  | { readonly kind: "helix-error"; readonly status: number; readonly endpoint?: string; readonly count: number; readonly persistent: boolean }
  /** Next `count` requests whose path starts with `path` (any surface: /oauth2, /google, /upload, /vods…) fail with `status`. */
  | { readonly kind: "http-error"; readonly status: number; readonly path: string; readonly count: number; readonly persistent: boolean }
  /** Next `count` requests whose path starts with `path` are answered after `delayMs`. */
  | { readonly kind: "slow"; readonly path: string; readonly delayMs: number; readonly count: number; readonly persistent: boolean }
  /** Every access token issued so far (Twitch, Google or both) stops being valid. */
  | { readonly kind: "expire-tokens"; readonly provider: "twitch" | "google" | "all" }
  /** Chat connections (all, or those in `channel`) are dropped without a word. */
  | { readonly kind: "irc-disconnect"; readonly channel?: string }
  /** Chat connections (all, or those in `channel`) get `RECONNECT`, then are closed after `graceMs`. */
  | { readonly kind: "irc-reconnect"; readonly channel?: string; readonly graceMs: number }
  /** Next `count` matching segment requests get 404. */
  | { readonly kind: "segment-404"; readonly vodId?: string; readonly segment?: number; readonly count: number; readonly persistent: boolean }
  /** Next `count` matching segment responses stop after `fraction` of their bytes and the socket is cut. */
  | { readonly kind: "segment-truncate"; readonly vodId?: string; readonly segment?: number; readonly fraction: number; readonly count: number; readonly persistent: boolean }
  /** Next `count` upload PUTs are cut after `afterBytes` bytes of body (the bytes received are kept). */
  | { readonly kind: "upload-interrupt"; readonly afterBytes: number; readonly count: number; readonly persistent: boolean };

/** Kinds of fault, as written in scenarios and admin requests. */
export const faultKinds = [
  "helix-error",
  "http-error",
  "slow",
  "expire-tokens",
  "irc-disconnect",
  "irc-reconnect",
  "segment-404",
  "segment-truncate",
  "upload-interrupt",
] as const;

/** A request fault waiting for its next hits. */
export interface ArmedFault {
  readonly id: string;
  readonly spec: FaultSpec;
  remaining: number;
  hits: number;
}

const counted = (f: Field) => ({
  count: f.key("count").number(1, { min: 1, integer: true }),
  persistent: f.key("persistent").boolean(false),
});

/** Reads and checks one fault description; issues go to the field's log. */
export const readFaultSpec = (f: Field, extraKeys: readonly string[] = []): FaultSpec | undefined => {
  if (!f.object()) return undefined;
  const kind = f.key("kind").oneOf(faultKinds);
  const base = ["kind", ...extraKeys];
  const only = (keys: string[]) => f.onlyKeys([...base, ...keys]);
  switch (kind) {
    case "helix-error": {
      only(["status", "endpoint", "count", "persistent"]);
      const endpoint = f.key("endpoint").optionalString();
      return { kind, status: f.key("status").number(503, { min: 400, max: 599, integer: true }), ...(endpoint !== undefined ? { endpoint } : {}), ...counted(f) };
    }
    case "http-error":
      only(["status", "path", "count", "persistent"]);
      return { kind, status: f.key("status").number(503, { min: 400, max: 599, integer: true }), path: f.key("path").string(), ...counted(f) };
    case "slow":
      only(["path", "delayMs", "count", "persistent"]);
      return { kind, path: f.key("path").string("/helix"), delayMs: f.key("delayMs").number(undefined, { min: 0 }), ...counted(f) };
    case "expire-tokens":
      only(["provider"]);
      return { kind, provider: f.key("provider").oneOf(["twitch", "google", "all"] as const, "all") };
    case "irc-disconnect": {
      only(["channel"]);
      const channel = f.key("channel").optionalString();
      return { kind, ...(channel !== undefined ? { channel: channel.replace(/^#/, "").toLowerCase() } : {}) };
    }
    case "irc-reconnect": {
      only(["channel", "graceMs"]);
      const channel = f.key("channel").optionalString();
      return {
        kind,
        graceMs: f.key("graceMs").number(1000, { min: 0 }),
        ...(channel !== undefined ? { channel: channel.replace(/^#/, "").toLowerCase() } : {}),
      };
    }
    case "segment-404":
    case "segment-truncate": {
      only(kind === "segment-404" ? ["vodId", "segment", "count", "persistent"] : ["vodId", "segment", "fraction", "count", "persistent"]);
      const vodId = f.key("vodId").optionalString();
      const segment = f.key("segment").optionalNumber({ min: 0, integer: true });
      const where = { ...(vodId !== undefined ? { vodId } : {}), ...(segment !== undefined ? { segment } : {}) };
      if (kind === "segment-404") return { kind, ...where, ...counted(f) };
      return { kind, ...where, fraction: f.key("fraction").number(0.5, { min: 0, max: 1 }), ...counted(f) };
    }
    case "upload-interrupt":
      only(["afterBytes", "count", "persistent"]);
      return { kind, afterBytes: f.key("afterBytes").number(undefined, { min: 0, integer: true }), ...counted(f) };
  }
};

/** Parses a fault description from untyped input, throwing an `InputError` listing every problem. */
export const parseFaultSpec = (value: unknown): FaultSpec => {
  const { root, log } = readInput(value);
  const spec = readFaultSpec(root);
  log.throwIfAny("Fault");
  return spec!;
};

/** True for faults that act once when injected rather than waiting for requests. */
export const isActionFault = (spec: FaultSpec): boolean =>
  spec.kind === "expire-tokens" || spec.kind === "irc-disconnect" || spec.kind === "irc-reconnect";

/**
 * The armed request faults. Surfaces ask `take(...)` on each request: the first matching
 * fault is consumed (its counter decremented) and returned.
 */
export class FaultBook {
  #next = 1;
  readonly #armed: ArmedFault[] = [];
  readonly #history: { id: string; spec: FaultSpec; at: number }[] = [];

  /** Records a fault; request faults are armed, action faults only logged. Returns its id. */
  add(spec: FaultSpec, at: number): string {
    const id = `f${this.#next++}`;
    this.#history.push({ id, spec, at });
    if (!isActionFault(spec)) {
      const count = "count" in spec ? spec.count : 1;
      this.#armed.push({ id, spec, remaining: count, hits: 0 });
    }
    return id;
  }

  /** Disarms one fault; false when unknown or already spent. */
  remove(id: string): boolean {
    const i = this.#armed.findIndex((f) => f.id === id);
    if (i < 0) return false;
    this.#armed.splice(i, 1);
    return true;
  }

  /** Disarms everything. */
  clear(): void {
    this.#armed.length = 0;
  }

  /** Faults still armed. */
  armed(): readonly ArmedFault[] {
    return this.#armed;
  }

  /** Every fault injected so far, in order. */
  history(): readonly { id: string; spec: FaultSpec; at: number }[] {
    return this.#history;
  }

  /** Consumes and returns the first armed fault of `kind` that `matches`. */
  take<K extends FaultSpec["kind"]>(kind: K, matches: (spec: Extract<FaultSpec, { kind: K }>) => boolean): Extract<FaultSpec, { kind: K }> | undefined {
    if (this.#armed.length === 0) return undefined;
    for (let i = 0; i < this.#armed.length; i++) {
      const f = this.#armed[i]!;
      if (f.spec.kind !== kind) continue;
      const spec = f.spec as Extract<FaultSpec, { kind: K }>;
      if (!matches(spec)) continue;
      f.hits++;
      const persistent = "persistent" in spec && spec.persistent;
      if (!persistent && --f.remaining <= 0) this.#armed.splice(i, 1);
      return spec;
    }
    return undefined;
  }
}

/** Reads the scenario's `faults` list: each entry is a fault plus `at` (seconds after start). */
export const readScheduledFaults = (f: Field): { at: number; spec: FaultSpec }[] => {
  const out: { at: number; spec: FaultSpec }[] = [];
  for (const item of f.list()) {
    const at = item.key("at").number(0, { min: 0 });
    const spec = readFaultSpec(item, ["at"]);
    if (spec !== undefined) out.push({ at, spec });
  }
  return out;
};

