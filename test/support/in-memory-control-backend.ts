/**
 * An in-memory `ControlBackend` for control-plane tests: channels live in a map,
 * "persisted" control channels in another (as the `channels` table would hold
 * them), VODs and chat in arrays. It emits the transition events a real channel
 * actor would (starting → running, children idle, stopping → stopped), after the
 * call returns, like the real runtime. Every call is logged so tests can check
 * which channels were touched.
 */
import { Effect } from "effect";
import type { ChannelSettings, ChannelSpec } from "../../src/services/channel-settings.ts";
import { ControlError } from "../../src/runtime/control-backend.ts";
import type { AuditEntry, ControlBackend } from "../../src/runtime/control-backend.ts";
import { makeControlEventHub } from "../../src/runtime/control-events.ts";
import type { ChannelStatus, ChatHit, ControlEvent, VodSummary } from "../../src/runtime/control-protocol.ts";

/** Settings a test channel gets unless the test says otherwise. */
export const testChannelSettings: ChannelSettings = {
  chat: "auto",
  catalog: { intervalMs: 6 * 3600_000, max: 0, maxAgeDays: 0 },
  download: true,
  upload: { enabled: false, privacy: "private", deleteAfterUpload: false },
  retention: { keepDays: 0, keepCount: 0, dryRun: false },
  priority: 0,
};

/** A call made to the backend: method and channel (or VOD id). */
export interface BackendCall {
  readonly method: string;
  readonly target: string;
}

export interface InMemoryControlBackend extends ControlBackend {
  readonly calls: Array<BackendCall>;
  readonly auditLog: Array<AuditEntry>;
  /** Rows of the `channels` table with source control. */
  readonly persistedRows: Map<string, ChannelSpec>;
  readonly vodRows: Array<VodSummary>;
  readonly chatRows: Array<ChatHit>;
  /** Publishes a runtime event as if an actor had produced it. */
  readonly emit: (event: ControlEvent) => void;
  /** Makes the next `add` of `name` fail with this error (a channel that cannot start). */
  readonly failNextAdd: (name: string, error: ControlError) => void;
}

const now = () => new Date().toISOString();
const children = ["catalog", "processor", "chat"] as const;

/** Creates an empty backend; pass `persisted` to play a database that already holds control channels. */
export const makeInMemoryControlBackend = (options: { readonly persisted?: ReadonlyArray<ChannelSpec> } = {}): InMemoryControlBackend => {
  const hub = makeControlEventHub();
  const running = new Map<string, ChannelStatus>();
  const persistedRows = new Map<string, ChannelSpec>((options.persisted ?? []).map((spec) => [spec.name, spec]));
  const calls: Array<BackendCall> = [];
  const auditLog: Array<AuditEntry> = [];
  const vodRows: Array<VodSummary> = [];
  const chatRows: Array<ChatHit> = [];
  const addFailures = new Map<string, ControlError>();

  const later = (events: ReadonlyArray<ControlEvent>) => {
    setImmediate(() => {
      for (const event of events) hub.publish(event);
    });
  };
  const transition = (channel: string, actor: string, from: string | null, to: string): ControlEvent => ({
    topic: "transition",
    channel,
    at: now(),
    actor,
    from,
    to,
  });
  const missing = (name: string) => new ControlError({ code: "not_found", message: `channel "${name}" is not running` });
  const get = (name: string) => {
    const channel = running.get(name);
    return channel === undefined ? Effect.fail(missing(name)) : Effect.succeed(channel);
  };
  const persist = (status: ChannelStatus) => {
    if (status.source === "control") persistedRows.set(status.name, { name: status.name, source: "control", paused: status.paused, settings: status.settings });
    else persistedRows.delete(status.name);
  };
  const vod = (id: number) => {
    const row = vodRows.find((v) => v.id === id);
    return row === undefined ? Effect.fail(new ControlError({ code: "not_found", message: `no VOD with id ${id}` })) : Effect.succeed(row);
  };
  const replaceVod = (row: VodSummary) => {
    vodRows[vodRows.findIndex((v) => v.id === row.id)] = row;
    return row;
  };

  return {
    calls,
    auditLog,
    persistedRows,
    vodRows,
    chatRows,
    emit: hub.publish,
    failNextAdd: (name, error) => void addFailures.set(name, error),
    channels: {
      list: () => Effect.sync(() => [...running.values()]),
      status: (name) => get(name),
      add: (spec) =>
        Effect.suspend(() => {
          calls.push({ method: "add", target: spec.name });
          const failure = addFailures.get(spec.name);
          if (failure !== undefined) {
            addFailures.delete(spec.name);
            return Effect.fail(failure);
          }
          if (running.has(spec.name)) return Effect.fail(new ControlError({ code: "conflict", message: `channel "${spec.name}" is already running` }));
          const state = spec.paused ? "paused" : "running";
          const status: ChannelStatus = {
            name: spec.name,
            source: spec.source,
            paused: spec.paused,
            state,
            reason: null,
            breaker: spec.paused ? null : "closed",
            children: spec.paused ? {} : Object.fromEntries(children.map((child) => [child, "idle"])),
            settings: spec.settings,
            restarts: 0,
            lastError: null,
            download: null,
            chatRate: null,
          };
          running.set(spec.name, status);
          persist(status);
          later([
            transition(spec.name, "channel", null, "starting"),
            transition(spec.name, "channel", "starting", state),
            ...(spec.paused ? [] : children.map((child) => transition(spec.name, child, null, "idle"))),
          ]);
          return Effect.succeed(status);
        }),
      remove: (name) =>
        Effect.flatMap(get(name), (status) =>
          Effect.sync(() => {
            calls.push({ method: "remove", target: name });
            running.delete(name);
            persistedRows.delete(name);
            later([transition(name, "channel", status.state, "stopping"), transition(name, "channel", "stopping", "stopped")]);
          }),
        ),
      pause: (name) =>
        Effect.flatMap(get(name), (status) =>
          Effect.sync(() => {
            calls.push({ method: "pause", target: name });
            const next: ChannelStatus = { ...status, paused: true, state: "paused", children: {} };
            running.set(name, next);
            persist(next);
            later([transition(name, "channel", status.state, "paused")]);
            return next;
          }),
        ),
      resume: (name) =>
        Effect.flatMap(get(name), (status) =>
          Effect.sync(() => {
            calls.push({ method: "resume", target: name });
            const next: ChannelStatus = { ...status, paused: false, state: "running", children: Object.fromEntries(children.map((c) => [c, "idle"])) };
            running.set(name, next);
            persist(next);
            later([transition(name, "channel", status.state, "running")]);
            return next;
          }),
        ),
      update: (name, change) =>
        Effect.flatMap(get(name), (status) =>
          Effect.sync(() => {
            calls.push({ method: "update", target: name });
            const next: ChannelStatus = { ...status, settings: change.settings ?? status.settings, source: change.source ?? status.source };
            running.set(name, next);
            persist(next);
            return next;
          }),
        ),
      persisted: () => Effect.sync(() => [...persistedRows.values()]),
    },
    vods: {
      list: (query) =>
        Effect.sync(() => {
          const matching = vodRows.filter((v) => query.channel === undefined || v.channel === query.channel);
          return { vods: matching.slice(query.offset ?? 0, (query.offset ?? 0) + (query.limit ?? 50)), total: matching.length };
        }),
      scan: (channel) =>
        channel === undefined ? Effect.sync(() => [...running.keys()]) : Effect.map(get(channel), (status) => [status.name]),
      catalog: (channel) =>
        Effect.flatMap(get(channel), () => Effect.sync(() => void calls.push({ method: "catalog", target: channel }))),
      reprocess: (id) => Effect.map(vod(id), (row) => replaceVod({ ...row, processed: false, processingError: null, downloadState: null, progress: null })),
      cancel: (id) => Effect.map(vod(id), (row) => row.downloadState === "downloading"),
      prioritize: (id, priority) => Effect.map(vod(id), (row) => replaceVod({ ...row, priority })),
    },
    breaker: {
      reset: (channel) =>
        Effect.flatMap(get(channel), (status) =>
          Effect.sync(() => {
            calls.push({ method: "breaker.reset", target: channel });
            running.set(channel, { ...status, breaker: "closed" });
          }),
        ),
    },
    chat: {
      search: (query) =>
        Effect.sync(() =>
          chatRows
            .filter(
              (hit) =>
                hit.message.toLowerCase().includes(query.query.toLowerCase()) &&
                (query.channel === undefined || hit.channel === query.channel) &&
                (query.vodId === undefined || hit.vodId === query.vodId),
            )
            .slice(0, query.limit ?? 50),
        ),
      // The VOD's hits in offset order, paged like the database's window (no gaps are kept here).
      vod: (query) =>
        Effect.flatMap(vod(query.id), (found) =>
          Effect.sync(() => {
            const inWindow = chatRows
              .filter((hit) => hit.vodId === found.id && (hit.offsetSeconds ?? 0) >= (query.from ?? 0) && (query.to === undefined || (hit.offsetSeconds ?? 0) < query.to))
              .sort((a, b) => (a.offsetSeconds ?? 0) - (b.offsetSeconds ?? 0));
            const limit = query.limit ?? 200;
            const page = inWindow.slice(0, limit);
            return {
              vodId: found.id,
              messages: page.map((hit) => ({
                msgId: hit.msgId,
                kind: "PRIVMSG",
                offsetSeconds: hit.offsetSeconds,
                at: hit.at,
                username: hit.username,
                displayName: hit.displayName,
                message: hit.message,
                deletedAt: null,
              })),
              nextFrom: inWindow.length > limit ? (inWindow[limit]?.offsetSeconds ?? null) : null,
              gaps: [],
            };
          }),
        ),
    },
    events: hub.subscribe,
    audit: (entry) => Effect.sync(() => void auditLog.push(entry)),
  };
};
