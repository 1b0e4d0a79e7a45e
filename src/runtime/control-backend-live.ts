/**
 * The `ControlBackend` of the running process: channels through the
 * `Supervisor`, their persistence in the `channels` table, VODs through the
 * `vods` repository and the channel actors, chat through full-text search,
 * audit rows in `audit_log`, and runtime events from the `RuntimeEvents` bus
 * mapped to the protocol's events.
 *
 * A channel added through control must survive a restart, so its row is
 * written right after the actor starts and the actor is stopped again when the
 * write fails. Rows of environment and file channels are kept for the record
 * (the reconciler rewrites them on every reload); a failed write there is
 * logged, not fatal.
 */
import { Effect, Result, Schema } from "effect";
import type { SqlError } from "effect/sql/SqlError";
import { SqlClient } from "effect/sql/SqlClient";
import type { ChannelSettings, ChannelSource, ChannelSpec } from "../services/channel-settings.ts";
import { gapOffsets, searchChat, vodChatWindow } from "../services/chat-search.ts";
import { AuditRepository } from "../services/repositories/audit.ts";
import { ChannelsRepository } from "../services/repositories/channels.ts";
import { VodsRepository } from "../services/repositories/vods.ts";
import type { VodRecord } from "../services/repositories/vods.ts";
import { RuntimeEvents } from "../services/runtime-events.ts";
import type { RuntimeEvent } from "../services/runtime-events.ts";
import { Supervisor } from "../services/supervisor.ts";
import type { ChannelStatus as SupervisorStatus } from "../services/supervisor.ts";
import { ControlError } from "./control-backend.ts";
import type { ControlBackend } from "./control-backend.ts";
import { ChannelSettingsSchema } from "./control-protocol.ts";
import type { ChannelStatus, ControlEvent, VodSummary } from "./control-protocol.ts";

export interface LiveControlBackendOptions {
  /** Settings for a stored control channel whose row no longer decodes (written by an older version). */
  readonly defaults: () => ChannelSettings;
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** A supervisor status in the protocol's shape. */
export const toProtocolStatus = (status: SupervisorStatus, source: ChannelSource): ChannelStatus => ({
  name: status.name,
  source,
  paused: status.paused,
  state: status.state,
  reason: status.reason,
  breaker: status.breaker,
  children: Object.fromEntries(Object.entries(status.children).map(([name, child]) => [name, child.state ?? child.status])),
  settings: status.settings,
  restarts: status.restarts,
  lastError: status.lastError === null ? null : { message: `${status.lastError.actor}: ${status.lastError.message}`, at: iso(status.lastError.at) },
  download:
    status.download === null
      ? null
      : {
          vodId: status.download.vodId,
          percent: status.download.progress?.percent ?? null,
          bytes: status.download.progress?.bytes ?? 0,
          total: status.download.progress?.total ?? null,
          state: status.download.state,
          title: status.download.title,
        },
  chatRate: status.chatRate,
  tree: status.tree,
});

/** A `vods` row in the protocol's shape. */
export const toVodSummary = (vod: VodRecord): VodSummary => ({
  id: vod.id,
  channel: vod.channel,
  twitchVodId: vod.twitchVodId,
  title: vod.title,
  date: vod.date?.toISOString() ?? null,
  durationSeconds: vod.durationSeconds,
  priority: vod.priority,
  processed: vod.processed,
  downloadState: vod.downloadState,
  progress: vod.progress,
  processingError: vod.processingError,
  youtubeUrl: vod.youtubeUrl,
});

/**
 * A runtime event as a protocol event, or undefined for those the control plane
 * does not forward: channel changes and reloads (it publishes its own, since it
 * makes them) and raw inspection (the console builds its tree from transitions).
 */
export const toControlEvent = (event: RuntimeEvent): ControlEvent | undefined => {
  const at = iso(event.at);
  switch (event._tag) {
    case "ActorTransition":
      return {
        topic: "transition",
        channel: event.channel,
        at,
        actor: event.actor,
        from: event.from,
        to: event.to,
        ...(event.cause === null ? {} : { cause: event.cause }),
      };
    case "ChildRestarted":
      return { topic: "restart", channel: event.channel, at, actor: event.actor, attempt: event.attempt, reason: event.reason, backoffMs: event.backoffMs };
    case "ChannelEscalated":
      return {
        topic: "error",
        channel: event.channel,
        at,
        actor: "channel",
        message: `restart intensity exceeded (${event.reason}); the channel is failed and retries in ${Math.round(event.retryInMs / 1000)} s`,
      };
    case "DownloadProgressed":
      return {
        topic: "progress",
        channel: event.channel,
        at,
        vodId: event.vodId,
        percent: event.percent,
        bytes: event.bytes,
        total: event.total,
        speed: event.speed,
        eta: event.eta,
      };
    case "ChatRateMeasured":
      return { topic: "chat_rate", channel: event.channel, at, perMinute: event.perMinute };
    case "ErrorReported":
      return { topic: "error", channel: event.channel, at, ...(event.actor === null ? {} : { actor: event.actor }), message: event.message };
    case "ShutdownAbandoned":
      return {
        topic: "error",
        channel: event.channel,
        at,
        actor: event.actor,
        message: `stop took longer than ${event.timeoutMs} ms; ${event.fibers} task(s) abandoned`,
      };
    case "ChannelChanged":
    case "ConfigReloaded":
    case "ActorInspected":
      return undefined;
  }
};

const notRunning = (channel: string) => new ControlError({ code: "not_found", message: `channel "${channel}" is not running` });
const closed = () => new ControlError({ code: "unavailable", message: "the runtime is shutting down" });
const database = (error: SqlError) => new ControlError({ code: "unavailable", message: `database unavailable: ${error.message}` });

const decodeSettings = Schema.decodeUnknownResult(ChannelSettingsSchema);

/** Builds the backend from the services in context; it keeps them for the process's life. */
export const makeLiveControlBackend = Effect.fnUntraced(function* (options: LiveControlBackendOptions) {
  const supervisor = yield* Supervisor;
  const runtimeEvents = yield* RuntimeEvents;
  const channelsRepo = yield* ChannelsRepository;
  const auditRepo = yield* AuditRepository;
  const vodsRepo = yield* VodsRepository;
  const sql = yield* SqlClient;
  // The Supervisor cannot move a running channel to another source (a file taking over a
  // control channel); the override keeps what the control plane was told.
  const sources = new Map<string, ChannelSource>();
  // The source the control plane reports and stores for a channel: the override, else the supervisor's.
  const sourceOf = (name: string, running: SupervisorStatus): ChannelSource => sources.get(name) ?? running.source ?? "control";

  const status = (name: string) =>
    supervisor.status(name).pipe(
      Effect.mapError(() => notRunning(name)),
      Effect.map((s) => toProtocolStatus(s, sourceOf(name, s))),
    );
  const lifecycle = <A>(effect: Effect.Effect<A, { readonly _tag: "ChannelNotFound" | "SupervisorClosed" }>, name: string) =>
    Effect.mapError(effect, (error) => (error._tag === "SupervisorClosed" ? closed() : notRunning(name)));
  const persist = (row: Parameters<typeof channelsRepo.upsert>[0], required: boolean) =>
    channelsRepo.upsert(row).pipe(
      Effect.asVoid,
      Effect.catch((error) =>
        required
          ? Effect.fail(database(error))
          : Effect.logWarning("could not record the channel in the database").pipe(Effect.annotateLogs({ channel: row.name, error: error.message })),
      ),
    );
  const vodOrMissing = (id: number) => (vod: VodRecord | undefined) =>
    vod === undefined ? Effect.fail(new ControlError({ code: "not_found", message: `no VOD with id ${id}` })) : Effect.succeed(vod);
  // Pausing and resuming alike: the supervisor acts, then the flag is stored for the next start.
  const setPaused = (name: string, paused: boolean) =>
    Effect.gen(function* () {
      const s = yield* lifecycle(paused ? supervisor.pause(name) : supervisor.resume(name), name);
      const source = sourceOf(name, s);
      yield* persist({ name, source, paused }, false);
      return toProtocolStatus(s, source);
    });
  const wake = (channel: string) => Effect.ignore(supervisor.request(channel, { type: "WAKE" }));

  const backend: ControlBackend = {
    channels: {
      list: () => Effect.map(supervisor.list, (all) => all.map((s) => toProtocolStatus(s, sourceOf(s.name, s)))),
      status,
      add: (spec: ChannelSpec) =>
        Effect.gen(function* () {
          const started = yield* supervisor.addChannel(spec.name, spec.settings, { paused: spec.paused, source: spec.source }).pipe(
            Effect.mapError((error) => {
              switch (error._tag) {
                case "ChannelExists":
                  return new ControlError({ code: "conflict", message: `channel "${spec.name}" is already running` });
                case "InvalidChannelName":
                  return new ControlError({ code: "invalid_params", message: `"${spec.name}" is not a Twitch login: ${error.reason}` });
                case "SupervisorClosed":
                  return closed();
              }
            }),
          );
          sources.delete(spec.name);
          yield* persist({ name: spec.name, source: spec.source, paused: spec.paused, settings: spec.settings as unknown as Schema.JsonObject }, spec.source === "control").pipe(
            // A control channel that cannot be stored would vanish on restart: do not keep it running.
            Effect.tapError(() => Effect.ignore(supervisor.removeChannel(spec.name))),
          );
          return toProtocolStatus(started, spec.source);
        }),
      remove: (name) =>
        Effect.gen(function* () {
          const report = yield* lifecycle(supervisor.removeChannel(name), name);
          sources.delete(name);
          if (report.abandoned > 0) {
            yield* Effect.logWarning("channel removed; some of its work outlived the shutdown timeout").pipe(
              Effect.annotateLogs({ channel: name, abandoned: report.abandoned }),
            );
          }
          yield* channelsRepo.remove(name).pipe(Effect.mapError(database));
        }),
      pause: (name) => setPaused(name, true),
      resume: (name) => setPaused(name, false),
      update: (name, change) =>
        Effect.gen(function* () {
          const current = change.settings === undefined ? yield* lifecycle(supervisor.status(name), name) : yield* lifecycle(supervisor.update(name, change.settings), name);
          if (change.source !== undefined) sources.set(name, change.source);
          const source = sourceOf(name, current);
          yield* persist(
            { name, source, ...(change.settings === undefined ? {} : { settings: change.settings as unknown as Schema.JsonObject }) },
            source === "control",
          );
          return toProtocolStatus(current, source);
        }),
      persisted: () =>
        channelsRepo.list.pipe(
          Effect.mapError(database),
          Effect.flatMap((rows) =>
            Effect.forEach(
              rows.filter((row) => row.source === "control"),
              (row) => {
                const decoded = decodeSettings(row.settings);
                const spec = (settings: ChannelSettings): ChannelSpec => ({ name: row.name, source: "control", paused: row.paused, settings });
                return Result.isSuccess(decoded)
                  ? Effect.succeed(spec(decoded.success))
                  : Effect.as(
                      Effect.logWarning("stored channel settings do not decode; using the defaults").pipe(Effect.annotateLogs({ channel: row.name })),
                      spec(options.defaults()),
                    );
              },
            ),
          ),
        ),
    },
    vods: {
      list: (query) =>
        vodsRepo.list(query).pipe(
          Effect.mapError(database),
          Effect.map((page) => ({ vods: page.items.map(toVodSummary), total: page.total })),
        ),
      scan: (channel) =>
        channel === undefined
          ? Effect.gen(function* () {
              const running = yield* supervisor.list;
              const woken = running.filter((s) => !s.paused).map((s) => s.name);
              yield* Effect.forEach(woken, wake, { discard: true });
              return woken;
            })
          : Effect.as(lifecycle(supervisor.request(channel, { type: "WAKE" }), channel), [channel]),
      catalog: (channel) => lifecycle(supervisor.request(channel, { type: "SCAN" }), channel),
      reprocess: (id) =>
        Effect.gen(function* () {
          const vod = yield* vodsRepo.reprocess(id).pipe(Effect.mapError(database), Effect.flatMap(vodOrMissing(id)));
          yield* wake(vod.channel);
          return toVodSummary(vod);
        }),
      cancel: (id) =>
        Effect.gen(function* () {
          const vod = yield* vodsRepo.get(id).pipe(Effect.mapError(database), Effect.flatMap(vodOrMissing(id)));
          const downloading = yield* supervisor.status(vod.channel).pipe(
            Effect.map((s) => s.download?.vodId === id),
            Effect.orElseSucceed(() => false),
          );
          if (!downloading) return false;
          yield* lifecycle(supervisor.request(vod.channel, { type: "CANCEL", vodId: id }), vod.channel);
          return true;
        }),
      prioritize: (id, priority) =>
        vodsRepo.setPriority(id, priority).pipe(Effect.mapError(database), Effect.flatMap(vodOrMissing(id)), Effect.map(toVodSummary)),
    },
    breaker: {
      reset: (channel) => lifecycle(supervisor.request(channel, { type: "BREAKER.RESET" }), channel),
    },
    chat: {
      search: (query) =>
        searchChat({
          text: query.query,
          ...(query.channel === undefined ? {} : { channels: [query.channel] }),
          ...(query.vodId === undefined ? {} : { vodId: query.vodId }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
        }).pipe(
          Effect.provideService(SqlClient, sql),
          Effect.map((page) =>
            page.hits.map((hit) => ({
              channel: hit.channel,
              vodId: hit.vodId,
              msgId: hit.msgId,
              username: hit.username,
              displayName: hit.displayName,
              message: hit.message ?? hit.systemMessage ?? "",
              at: hit.at.toISOString(),
              offsetSeconds: hit.relTimestamp,
            })),
          ),
          Effect.mapError((error) =>
            error._tag === "ChatSearchError" ? new ControlError({ code: "invalid_params", message: error.message }) : database(error),
          ),
        ),
      vod: (query) =>
        Effect.gen(function* () {
          const vod = yield* vodsRepo.get(query.id).pipe(Effect.mapError(database), Effect.flatMap(vodOrMissing(query.id)));
          const page = yield* vodChatWindow(vod.id, {
            ...(query.from === undefined ? {} : { fromSeconds: query.from }),
            ...(query.to === undefined ? {} : { toSeconds: query.to }),
            limit: query.limit ?? 200,
          }).pipe(Effect.provideService(SqlClient, sql), Effect.mapError(database));
          return {
            vodId: vod.id,
            messages: page.messages.map((m) => ({
              msgId: m.msg_id,
              kind: m.kind,
              offsetSeconds: m.rel_timestamp,
              at: m.abs_timestamp.toISOString(),
              username: m.username,
              displayName: m.display_name,
              message: m.message ?? m.system_message ?? "",
              deletedAt: m.deleted_at?.toISOString() ?? null,
            })),
            nextFrom: page.nextFrom,
            gaps: page.gaps.map((g) => ({ ...gapOffsets(g, vod.date), reason: g.reason })),
          };
        }),
    },
    events: (listener) =>
      runtimeEvents.listen((event) => {
        const mapped = toControlEvent(event);
        if (mapped !== undefined) listener(mapped);
      }),
    audit: (entry) =>
      auditRepo
        .record({
          actor: entry.actor,
          action: entry.action,
          ...(entry.channel === null ? {} : { channel: entry.channel }),
          ...(entry.target === null ? {} : { target: entry.target }),
          params: JSON.parse(JSON.stringify(entry.params ?? null)) as Schema.Json,
          result: entry.result,
          ...(entry.error === null ? {} : { error: entry.error }),
        })
        .pipe(Effect.asVoid, Effect.mapError(database)),
  };
  return backend;
});
