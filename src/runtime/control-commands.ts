/**
 * What each `/control` command does, on top of the `ControlBackend`: ownership
 * rules (a file channel is removed by editing the file), settings patches
 * resolved over current values, channel-change events, and an `audit_log` row
 * for every mutation, successful or not.
 */
import { Cause, Effect, Exit } from "effect";
import type { Semaphore } from "effect";
import type { ChannelSettings } from "../services/channel-settings.ts";
import { applySettingsPatch } from "../services/channels-file.ts";
import { ControlError } from "./control-backend.ts";
import type { ControlBackend } from "./control-backend.ts";
import type { ChannelReconciler } from "./channel-reconciler.ts";
import { channelEvent } from "./control-events.ts";
import { commands } from "./control-protocol.ts";
import type { CommandName, CommandParams, ControlEvent } from "./control-protocol.ts";

/** Commands served here; `subscribe`/`unsubscribe` belong to the connection. */
export type BackendCommand = Exclude<CommandName, "subscribe" | "unsubscribe">;

/** Everything a command needs besides its params. */
export interface CommandContext {
  readonly backend: ControlBackend;
  /** Serves `config.reload` and knows the defaults a new channel gets; absent without a channels source. */
  readonly reconciler: Pick<ChannelReconciler, "reconcile" | "defaults">;
  /** Serialises channel mutations with the reconciler. */
  readonly lock: Semaphore.Semaphore;
  readonly publish: (event: ControlEvent) => void;
  /** Path of the channels file, for the error that says to edit it. */
  readonly channelsFile: string | undefined;
}

type Handler<C extends BackendCommand> = (
  ctx: CommandContext,
  params: CommandParams<C>,
  actor: string,
) => Effect.Effect<unknown, ControlError>;

const ownedElsewhere = (ctx: CommandContext, name: string, source: "env" | "file" | "control") => {
  if (source === "file") {
    return new ControlError({
      code: "forbidden",
      message: `channel "${name}" is defined in the channels file${ctx.channelsFile === undefined ? "" : ` (${ctx.channelsFile})`}; remove it by editing the file, the change applies when it is saved`,
    });
  }
  if (source === "env") {
    return new ControlError({
      code: "forbidden",
      message: `channel "${name}" comes from the environment (TWITCH_CHANNEL/TWITCH_CHANNELS); remove it there and restart`,
    });
  }
  return undefined;
};

const locked = <A, E>(ctx: CommandContext, effect: Effect.Effect<A, E>) => ctx.lock.withPermit(effect);

// `channels.pause` and `channels.resume`: the backend acts, then the change is announced.
const setPaused = (ctx: CommandContext, name: string, paused: boolean) =>
  locked(
    ctx,
    Effect.gen(function* () {
      const channel = yield* (paused ? ctx.backend.channels.pause(name) : ctx.backend.channels.resume(name));
      ctx.publish(channelEvent(name, paused ? "paused" : "resumed", channel.source));
      return { channel };
    }),
  );

const handlers: { readonly [C in BackendCommand]: Handler<C> } = {
  "channels.list": (ctx) => Effect.map(ctx.backend.channels.list(), (channels) => ({ channels })),
  "channels.status": (ctx, params) =>
    params.name === undefined
      ? Effect.map(ctx.backend.channels.list(), (channels) => ({ channels }))
      : Effect.map(ctx.backend.channels.status(params.name), (channel) => ({ channels: [channel] })),
  "channels.add": (ctx, params) =>
    locked(
      ctx,
      Effect.gen(function* () {
        const settings: ChannelSettings = applySettingsPatch(ctx.reconciler.defaults(), params.settings);
        const channel = yield* ctx.backend.channels.add({ name: params.name, source: "control", paused: params.paused ?? false, settings });
        ctx.publish(channelEvent(params.name, "added", "control"));
        return { channel };
      }),
    ),
  "channels.remove": (ctx, params) =>
    locked(
      ctx,
      Effect.gen(function* () {
        const current = yield* ctx.backend.channels.status(params.name);
        const refusal = ownedElsewhere(ctx, params.name, current.source);
        if (refusal !== undefined) return yield* refusal;
        yield* ctx.backend.channels.remove(params.name);
        ctx.publish(channelEvent(params.name, "removed", current.source));
        return { removed: params.name };
      }),
    ),
  "channels.pause": (ctx, params) => setPaused(ctx, params.name, true),
  "channels.resume": (ctx, params) => setPaused(ctx, params.name, false),
  "channels.update": (ctx, params) =>
    locked(
      ctx,
      Effect.gen(function* () {
        const current = yield* ctx.backend.channels.status(params.name);
        const settings = applySettingsPatch(current.settings, params.settings);
        const channel = yield* ctx.backend.channels.update(params.name, { settings });
        ctx.publish(channelEvent(params.name, "updated", channel.source));
        return { channel };
      }),
    ),
  "vods.list": (ctx, params) => ctx.backend.vods.list(params),
  "vods.scan": (ctx, params) => Effect.map(ctx.backend.vods.scan(params.channel), (channels) => ({ channels })),
  "vods.catalog": (ctx, params) => Effect.as(ctx.backend.vods.catalog(params.channel), { channel: params.channel, requested: true as const }),
  "vods.reprocess": (ctx, params) => Effect.map(ctx.backend.vods.reprocess(params.id), (vod) => ({ vod })),
  "vods.cancel": (ctx, params) => Effect.map(ctx.backend.vods.cancel(params.id), (cancelled) => ({ cancelled })),
  "vods.prioritize": (ctx, params) => Effect.map(ctx.backend.vods.prioritize(params.id, params.priority), (vod) => ({ vod })),
  "breaker.reset": (ctx, params) => Effect.as(ctx.backend.breaker.reset(params.channel), { ok: true as const }),
  "chat.search": (ctx, params) => Effect.map(ctx.backend.chat.search(params), (messages) => ({ messages })),
  "chat.vod": (ctx, params) => {
    if (params.from !== undefined && params.to !== undefined && params.to <= params.from) {
      return Effect.fail(new ControlError({ code: "invalid_params", message: `to (${params.to}) must be after from (${params.from})` }));
    }
    return ctx.backend.chat.vod(params);
  },
  // The reconciler writes its own audit row (with the diff), whoever triggered it.
  "config.reload": (ctx, _params, actor) => ctx.reconciler.reconcile("control", actor),
};

/** The channel a command acts on, for the audit row. */
const auditChannel = (params: Record<string, unknown>): string | null =>
  typeof params["name"] === "string" ? params["name"] : typeof params["channel"] === "string" ? params["channel"] : null;

/** Runs one decoded command as `actor`; mutations leave an audit row whatever their outcome. */
export const runCommand = <C extends BackendCommand>(
  ctx: CommandContext,
  command: C,
  params: CommandParams<C>,
  actor: string,
): Effect.Effect<unknown, ControlError> => {
  const handler = handlers[command] as Handler<C>;
  const effect = handler(ctx, params, actor);
  if (!commands[command].mutates || command === "config.reload") return effect;
  const record = (result: "ok" | "error", error: string | null) =>
    ctx.backend
      .audit({
        actor,
        action: command,
        channel: auditChannel(params as Record<string, unknown>),
        target: typeof (params as { id?: unknown }).id === "number" ? String((params as { id: number }).id) : null,
        params,
        result,
        error,
        at: new Date(),
      })
      .pipe(Effect.catch((failure) => Effect.logWarning("audit write failed").pipe(Effect.annotateLogs({ action: command, error: failure.message }))));
  return Effect.onExit(effect, (exit) => {
    if (Exit.isSuccess(exit)) return record("ok", null);
    const error = Cause.findErrorOption(exit.cause);
    return record("error", error._tag === "Some" ? `${error.value.code}: ${error.value.message}` : "internal: the command did not complete");
  });
};
