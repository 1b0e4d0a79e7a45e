/**
 * Channel reconciliation: the desired set (environment + channels file +
 * channels added through control and persisted) against the running set, as a
 * diff of adds, removes and updates applied through the `ControlBackend`.
 *
 * The diff is three-way: a setting or pause state is pushed to a running channel
 * only when its *source* changed since the last reconcile, so an operator's
 * `channels.pause` or `channels.update` on a file channel survives reloads that
 * do not touch that channel. Channels whose desired spec did not change are not
 * called at all.
 */
import { Effect } from "effect";
import type { Semaphore } from "effect";
import type { ChannelSettings, ChannelSource, ChannelSpec } from "../services/channel-settings.ts";
import { formatChannelsFileIssue } from "../services/config-error.ts";
import type { ChannelsFileError } from "../services/config-error.ts";
import type { ControlBackend, ControlError } from "./control-backend.ts";
import { channelEvent, eventTime } from "./control-events.ts";
import type { ControlEvent, ReloadReport } from "./control-protocol.ts";

/** A running channel as the diff needs it. */
export interface RunningChannel {
  readonly name: string;
  readonly source: ChannelSource;
  readonly paused: boolean;
  readonly settings: ChannelSettings;
}

/** A change to one running channel. */
export interface ChannelUpdate {
  readonly spec: ChannelSpec;
  readonly settings: boolean;
  readonly source: boolean;
  /** `true` to pause, `false` to resume, undefined to leave as is. */
  readonly pause: boolean | undefined;
}

/** What a reconcile will do. */
export interface ChannelDiff {
  readonly add: ReadonlyArray<ChannelSpec>;
  readonly remove: ReadonlyArray<string>;
  readonly update: ReadonlyArray<ChannelUpdate>;
}

/** Deep equality of two settings values (plain JSON data, key order ignored). */
export const sameSettings = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((key) => Object.hasOwn(b, key) && sameSettings((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
};

/**
 * Merges configured channels (environment and file, already merged by the config
 * service with the file winning) with persisted control channels. A configured
 * channel wins over a persisted one of the same name: the file owns it now.
 */
export const desiredChannels = (configured: ReadonlyArray<ChannelSpec>, persisted: ReadonlyArray<ChannelSpec>): ReadonlyArray<ChannelSpec> => {
  const byName = new Map<string, ChannelSpec>();
  for (const spec of persisted) byName.set(spec.name, spec);
  for (const spec of configured) byName.set(spec.name, spec);
  return [...byName.values()];
};

/**
 * Computes the diff. `lastApplied` holds the desired specs of the previous
 * reconcile; a field is pushed only when it differs from what runs *and* from
 * what was desired last time (so runtime overrides survive).
 */
export const diffChannels = (
  desired: ReadonlyArray<ChannelSpec>,
  running: ReadonlyArray<RunningChannel>,
  lastApplied: ReadonlyMap<string, ChannelSpec>,
): ChannelDiff => {
  const runningByName = new Map(running.map((channel) => [channel.name, channel]));
  const desiredNames = new Set(desired.map((spec) => spec.name));
  const add: Array<ChannelSpec> = [];
  const update: Array<ChannelUpdate> = [];
  for (const spec of desired) {
    const current = runningByName.get(spec.name);
    if (current === undefined) {
      add.push(spec);
      continue;
    }
    const last = lastApplied.get(spec.name);
    const settings = !sameSettings(spec.settings, current.settings) && (last === undefined || !sameSettings(spec.settings, last.settings));
    const source = spec.source !== current.source;
    const pauseChanged = spec.paused !== current.paused && (last === undefined || spec.paused !== last.paused);
    if (settings || source || pauseChanged) {
      update.push({ spec, settings, source, pause: pauseChanged ? spec.paused : undefined });
    }
  }
  const remove = running.filter((channel) => !desiredNames.has(channel.name)).map((channel) => channel.name);
  return { add, remove, update };
};

/** What started a reconcile; it appears in the report event and the audit row. */
export type ReloadTrigger = "start" | "watch" | "sighup" | "control";

/** The configured channels (environment + file) and the defaults a new channel gets. */
export interface ConfiguredChannels {
  readonly channels: ReadonlyArray<ChannelSpec>;
  readonly defaults: ChannelSettings;
}

export interface ChannelReconcilerOptions {
  readonly backend: ControlBackend;
  /** Reads the environment channels and the channels file; fails when the file is invalid. */
  readonly configured: () => Effect.Effect<ConfiguredChannels, ChannelsFileError>;
  /** Defaults until the file has been read once (the environment's). */
  readonly initialDefaults: ChannelSettings;
  /** Serialises channel mutations with the control commands. */
  readonly lock: Semaphore.Semaphore;
  /** Where reload reports and channel changes are published. */
  readonly publish: (event: ControlEvent) => void;
  /** Counts reloads by result: ok, partial (some channel failed) or invalid (file rejected). */
  readonly countReload?: (result: "ok" | "partial" | "invalid") => void;
  /** How many channels are started or stopped at once (a first start may bring up thousands). */
  readonly concurrency?: number;
}

/** Applies the desired channel set; see the module comment. */
export interface ChannelReconciler {
  /**
   * Reads the configuration, diffs and applies. Never fails: an invalid file
   * leaves everything running as it was and comes back as `ok: false` with the
   * problems and their lines. `actor` is recorded in `audit_log`.
   */
  readonly reconcile: (trigger: ReloadTrigger, actor: string) => Effect.Effect<ReloadReport>;
  /** The settings a channel added now gets: environment defaults with the file's `defaults` applied. */
  readonly defaults: () => ChannelSettings;
}

const errorText = (error: ControlError) => error.message;

/** Creates a reconciler. It keeps the last applied specs in memory; the first reconcile has none. */
export const makeChannelReconciler = (options: ChannelReconcilerOptions): ChannelReconciler => {
  const { backend } = options;
  let lastApplied = new Map<string, ChannelSpec>();
  let defaults = options.initialDefaults;
  const concurrency = options.concurrency ?? 16;

  const apply = Effect.fnUntraced(function* (diff: ChannelDiff) {
    const failed: Array<{ channel: string; message: string }> = [];
    const done = { added: [] as Array<string>, removed: [] as Array<string>, updated: [] as Array<string> };
    const attempt = (channel: string, effect: Effect.Effect<void, ControlError>, onOk: () => void) =>
      effect.pipe(
        Effect.map(onOk),
        Effect.catch((error) => Effect.sync(() => failed.push({ channel, message: errorText(error) }))),
      );

    yield* Effect.forEach(
      diff.remove,
      (name) =>
        attempt(name, backend.channels.remove(name), () => {
          done.removed.push(name);
          options.publish(channelEvent(name, "removed"));
        }),
      { concurrency, discard: true },
    );
    yield* Effect.forEach(
      diff.update,
      (change) => {
        const name = change.spec.name;
        const steps = Effect.gen(function* () {
          if (change.settings || change.source) {
            yield* backend.channels.update(name, {
              ...(change.settings ? { settings: change.spec.settings } : {}),
              ...(change.source ? { source: change.spec.source } : {}),
            });
            options.publish(channelEvent(name, "updated", change.spec.source));
          }
          if (change.pause === true) {
            yield* backend.channels.pause(name);
            options.publish(channelEvent(name, "paused", change.spec.source));
          } else if (change.pause === false) {
            yield* backend.channels.resume(name);
            options.publish(channelEvent(name, "resumed", change.spec.source));
          }
        });
        return attempt(name, steps, () => done.updated.push(name));
      },
      { concurrency, discard: true },
    );
    yield* Effect.forEach(
      diff.add,
      (spec) =>
        attempt(spec.name, Effect.asVoid(backend.channels.add(spec)), () => {
          done.added.push(spec.name);
          options.publish(channelEvent(spec.name, "added", spec.source));
        }),
      { concurrency, discard: true },
    );
    return { ...done, failed };
  });

  const run = Effect.fnUntraced(function* (trigger: ReloadTrigger, actor: string) {
    const configured = yield* Effect.result(options.configured());
    if (configured._tag === "Failure") {
      const error = configured.failure;
      const report: ReloadReport = {
        ok: false,
        added: [],
        removed: [],
        updated: [],
        failed: [],
        errors: error.issues.map((issue) => ({
          message: formatChannelsFileIssue(error.file, issue),
          ...(issue.line === undefined ? {} : { line: issue.line }),
          ...(issue.column === undefined ? {} : { column: issue.column }),
        })),
      };
      yield* Effect.logError("channels file rejected; the running configuration is kept").pipe(
        Effect.annotateLogs({ file: error.file, trigger, problems: error.message }),
      );
      return report;
    }
    const persisted = yield* Effect.result(backend.channels.persisted());
    const running = yield* Effect.result(backend.channels.list());
    if (persisted._tag === "Failure" || running._tag === "Failure") {
      const message = persisted._tag === "Failure" ? persisted.failure.message : running._tag === "Failure" ? running.failure.message : "";
      yield* Effect.logError("channel reload could not read the current channels").pipe(Effect.annotateLogs({ trigger, error: message }));
      return { ok: false, added: [], removed: [], updated: [], failed: [], errors: [{ message }] } satisfies ReloadReport;
    }
    defaults = configured.success.defaults;
    const desired = desiredChannels(configured.success.channels, persisted.success);
    const diff = diffChannels(desired, running.success, lastApplied);
    const result = yield* apply(diff);
    const failedNames = new Set(result.failed.map((entry) => entry.channel));
    // A channel whose change failed keeps its previous entry, so the next reload tries again.
    const next = new Map<string, ChannelSpec>();
    for (const spec of desired) {
      const previous = lastApplied.get(spec.name);
      if (!failedNames.has(spec.name)) next.set(spec.name, spec);
      else if (previous !== undefined) next.set(spec.name, previous);
    }
    lastApplied = next;
    if (result.failed.length > 0) {
      yield* Effect.logWarning("channel reload applied with failures").pipe(Effect.annotateLogs({ trigger, failed: result.failed }));
    } else if (diff.add.length + diff.remove.length + diff.update.length > 0) {
      yield* Effect.logInfo("channels reloaded").pipe(
        Effect.annotateLogs({ trigger, added: result.added.length, removed: result.removed.length, updated: result.updated.length }),
      );
    }
    return { ok: true, ...result, errors: [] } satisfies ReloadReport;
  });

  const reconcile = (trigger: ReloadTrigger, actor: string): Effect.Effect<ReloadReport> =>
    Effect.gen(function* () {
      const report = yield* options.lock.withPermit(run(trigger, actor));
      options.countReload?.(!report.ok ? "invalid" : report.failed.length > 0 ? "partial" : "ok");
      options.publish({ topic: "config", channel: null, at: eventTime(), trigger, report });
      const changed = report.added.length + report.removed.length + report.updated.length + report.failed.length > 0;
      // Audit what changed something or was refused; a no-op reload from an editor's save is noise.
      if (changed || !report.ok || trigger === "control") {
        yield* backend
          .audit({
            actor,
            action: "config.reload",
            channel: null,
            target: trigger,
            params: { added: report.added, removed: report.removed, updated: report.updated },
            result: report.ok && report.failed.length === 0 ? "ok" : "error",
            error: report.ok ? (report.failed.length > 0 ? report.failed.map((f) => `${f.channel}: ${f.message}`).join("; ") : null) : report.errors.map((e) => e.message).join("\n"),
            at: new Date(),
          })
          .pipe(Effect.catch((error) => Effect.logWarning("audit write failed").pipe(Effect.annotateLogs({ error: error.message }))));
      }
      return report;
    });

  return { reconcile, defaults: () => defaults };
};

