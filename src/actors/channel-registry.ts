/**
 * The Effect side of every channel the runtime runs: what it was asked to be
 * (settings, source, paused), the `ActorScope` of the channel and of each of
 * its children, and when it ended. XState holds the states; this holds the
 * resources, so a child's scope can be released (bounded) before the child is
 * restarted, and a channel's before it is forgotten.
 *
 * Child scopes are created on first use and dropped when released: a
 * restarted child starts with a fresh one.
 */
import { Effect } from "effect";
import type { Context } from "effect";
import type { ChannelSettings, ChannelSource } from "../services/channel-settings.ts";
import type { BreakerRecord } from "../machines/breaker.ts";
import type { ChildName } from "../machines/child-report.ts";
import { CHILD_NAMES } from "../machines/child-report.ts";
import type { ActorAccounting, CloseReport } from "./actor-scope.ts";
import { ActorScope } from "./actor-scope.ts";

/** The last failure seen in a channel. */
export interface LastError {
  readonly actor: string;
  readonly message: string;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** One channel, as the registry keeps it. */
export class ChannelEntry {
  readonly name: string;
  source: ChannelSource | null;
  settings: ChannelSettings;
  paused: boolean;
  lastError: LastError | null = null;
  /** Set while the channel is being removed: a crash then ends it instead of restarting it. */
  removing = false;
  /** The breaker state waiting to be written, latest wins. */
  breakerPending: BreakerRecord | null = null;
  /** Whether a breaker write is in flight. */
  breakerWriting = false;
  /** The channel actor's own work (releasing its children). */
  readonly scope: ActorScope;
  readonly children = new Map<ChildName, ActorScope>();
  /** Times its actor crashed and was started again. */
  crashes = 0;
  /** Fibers abandoned because a teardown of this channel outlived the shutdown timeout. */
  abandoned = 0;
  private endedPromise: Promise<void> = Promise.resolve();
  private resolveEnded: () => void = () => {};

  constructor(name: string, settings: ChannelSettings, paused: boolean, source: ChannelSource | null, scope: ActorScope) {
    this.name = name;
    this.settings = settings;
    this.paused = paused;
    this.source = source;
    this.scope = scope;
  }

  /** Resolves when the channel's current actor ended (stopped, crashed, or its root went). */
  get ended(): Promise<void> {
    return this.endedPromise;
  }

  /** A new actor is about to be spawned for the channel: `ended` now waits for that one. */
  rearm(): void {
    this.endedPromise = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  }

  /** Marks the channel's current actor as ended. */
  markEnded(): void {
    this.resolveEnded();
  }
}

/** Every channel of the runtime. */
export class ChannelRegistry {
  private readonly entries = new Map<string, ChannelEntry>();
  private readonly services: Context.Context<never>;
  readonly accounting: ActorAccounting;

  constructor(services: Context.Context<never>, accounting: ActorAccounting) {
    this.services = services;
    this.accounting = accounting;
  }

  get size(): number {
    return this.entries.size;
  }

  names(): ReadonlyArray<string> {
    return [...this.entries.keys()];
  }

  get(name: string): ChannelEntry | undefined {
    return this.entries.get(name);
  }

  /** Registers a channel; the caller checked the name is free. */
  create(name: string, settings: ChannelSettings, paused: boolean, source: ChannelSource | null): ChannelEntry {
    const entry = new ChannelEntry(name, settings, paused, source, new ActorScope(name, this.services, this.accounting));
    this.entries.set(name, entry);
    return entry;
  }

  /** Forgets a channel whose scopes are closed. */
  delete(name: string): void {
    this.entries.delete(name);
  }

  /** The scope of the channel actor itself, while the channel is registered. */
  channelScope(name: string): ActorScope | undefined {
    return this.entries.get(name)?.scope;
  }

  /** The scope of a channel's child, created on first use. */
  childScope(name: string, child: ChildName): ActorScope | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    let scope = entry.children.get(child);
    if (scope === undefined || scope.closed) {
      scope = new ActorScope(`${name}/${child}`, this.services, this.accounting);
      entry.children.set(child, scope);
    }
    return scope;
  }

  /** Closes a child's scope (bounded); its next instance gets a fresh one. */
  releaseChild(name: string, child: ChildName, timeoutMs: number): Effect.Effect<CloseReport | undefined> {
    return Effect.suspend(() => {
      const scope = this.entries.get(name)?.children.get(child);
      if (scope === undefined) return Effect.succeed(undefined);
      this.entries.get(name)?.children.delete(child);
      return scope.close(timeoutMs);
    });
  }

  /**
   * Closes every child's scope in reverse start order (chat, processor,
   * catalog), all within one deadline of `timeoutMs`.
   */
  releaseChildren(name: string, timeoutMs: number): Effect.Effect<ReadonlyArray<CloseReport>> {
    const registry = this;
    return Effect.gen(function* () {
      const deadline = Date.now() + timeoutMs;
      const reports: Array<CloseReport> = [];
      for (const child of [...CHILD_NAMES].reverse()) {
        const report = yield* registry.releaseChild(name, child, Math.max(0, deadline - Date.now()));
        if (report !== undefined) reports.push(report);
      }
      return reports;
    });
  }
}
