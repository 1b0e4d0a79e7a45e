/**
 * The control plane assembled: event hub, channel reconciler, `/control` server,
 * channels-file watcher (and `SIGHUP`), console routes. The runtime's start
 * sequence calls `makeControlPlane` once with a `ControlBackend` and mounts the
 * returned `upgrades` and `routes` on its HTTP listener.
 */
import { Effect, Semaphore } from "effect";
import type { Redacted, Scope } from "effect";
import type { ChannelSettings } from "../services/channel-settings.ts";
import { readChannelsFile, resolveChannels } from "../services/channels-file.ts";
import type { AppConfig } from "../services/config.ts";
import type { ChannelsFileError } from "../services/config-error.ts";
import { makeChannelReconciler } from "./channel-reconciler.ts";
import type { ChannelReconciler, ConfiguredChannels, ReloadTrigger } from "./channel-reconciler.ts";
import { listenForSighup, watchChannelsFile } from "./channels-file-watcher.ts";
import { consoleRoutes } from "./console-routes.ts";
import type { ControlBackend } from "./control-backend.ts";
import { makeControlEventHub, pipeEvents } from "./control-events.ts";
import type { ControlEventHub } from "./control-events.ts";
import type { ControlLimits } from "./control-limits.ts";
import { makeControlServer } from "./control-server.ts";
import type { ControlServer } from "./control-server.ts";
import type { ReloadReport } from "./control-protocol.ts";
import type { Route, UpgradeHandler } from "./http-server.ts";

export interface ControlPlaneOptions {
  readonly backend: ControlBackend;
  readonly token: Redacted.Redacted<string>;
  /** Environment + channels-file channels and the defaults for new channels; fails on an invalid file. */
  readonly configured: () => Effect.Effect<ConfiguredChannels, ChannelsFileError>;
  /** The environment's channel defaults (used until the file has been read). */
  readonly initialDefaults: ChannelSettings;
  /** The channels file to watch, if there is one. */
  readonly channelsFile: string | undefined;
  /** Reconcile once before returning (default true): starts the configured and persisted channels. */
  readonly reconcileOnStart?: boolean;
  /** Reload on `SIGHUP` (default true; tests turn it off so parallel files do not share the signal). */
  readonly sighup?: boolean;
  readonly watchDebounceMs?: number;
  readonly limits?: Partial<ControlLimits>;
  readonly serverName?: string;
  /** `vodtender_control_connections` and `vodtender_config_reloads_total`, when metrics are on. */
  readonly metrics?: {
    readonly controlConnections: { inc: () => void; dec: () => void };
    readonly configReloads: { inc: (labels: { result: string }) => void };
  };
}

/** What the runtime mounts and drives. */
export interface ControlPlane {
  /** Mount on the HTTP listener: `{ "/control": ... }`. */
  readonly upgrades: Readonly<Record<string, UpgradeHandler>>;
  /** The console's static routes (`/`, `/console/*`). */
  readonly routes: ReadonlyArray<Route>;
  /** Every event subscribers can see; publish into it to reach them. */
  readonly hub: ControlEventHub;
  readonly reconciler: ChannelReconciler;
  readonly server: ControlServer;
  /** The first reconcile's report (undefined when `reconcileOnStart` is false). */
  readonly startReport: ReloadReport | undefined;
}

/**
 * The configured channels of `config`, read afresh on every call: the
 * environment's channels (fixed for the process) and the channels file as it is
 * on disk now, resolved as at start (a channel in both is the file's).
 */
export const configuredChannelsOf =
  (config: Pick<AppConfig, "envChannels" | "envChannelDefaults" | "channelsFile">) => (): Effect.Effect<ConfiguredChannels, ChannelsFileError> => {
    const file = config.channelsFile;
    if (file === undefined) {
      return Effect.succeed({ channels: resolveChannels(config.envChannels, undefined, config.envChannelDefaults), defaults: config.envChannelDefaults });
    }
    return Effect.map(readChannelsFile(file, config.envChannelDefaults), (contents) => ({
      channels: resolveChannels(config.envChannels, contents, config.envChannelDefaults),
      defaults: contents.defaults,
    }));
  };

/** Builds the control plane; everything it started stops when the scope closes. */
export const makeControlPlane = (options: ControlPlaneOptions): Effect.Effect<ControlPlane, never, Scope.Scope> =>
  Effect.gen(function* () {
    const hub = makeControlEventHub();
    const stopPipe = pipeEvents(options.backend.events, hub);
    yield* Effect.addFinalizer(() => Effect.sync(stopPipe));
    const lock = yield* Semaphore.make(1);
    const reconciler = makeChannelReconciler({
      backend: options.backend,
      configured: options.configured,
      initialDefaults: options.initialDefaults,
      lock,
      publish: hub.publish,
      countReload: (result) => options.metrics?.configReloads.inc({ result }),
    });
    const server = yield* makeControlServer({
      token: options.token,
      commands: { backend: options.backend, reconciler, lock, publish: hub.publish, channelsFile: options.channelsFile },
      events: hub.subscribe,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.serverName === undefined ? {} : { serverName: options.serverName }),
      ...(options.metrics === undefined ? {} : { connectionsGauge: options.metrics.controlConnections }),
    });
    const startReport = options.reconcileOnStart === false ? undefined : yield* reconciler.reconcile("start", "startup");

    const context = yield* Effect.context<never>();
    const runFork = Effect.runForkWith(context);
    const reload = (trigger: ReloadTrigger) => {
      runFork(reconciler.reconcile(trigger, trigger === "sighup" ? "SIGHUP" : "channels-file watcher"));
    };
    if (options.channelsFile !== undefined) {
      yield* watchChannelsFile({
        path: options.channelsFile,
        onChange: reload,
        ...(options.sighup === undefined ? {} : { sighup: options.sighup }),
        ...(options.watchDebounceMs === undefined ? {} : { debounceMs: options.watchDebounceMs }),
      });
    } else if (options.sighup ?? true) {
      yield* listenForSighup(() => reload("sighup"));
    }

    return {
      upgrades: { "/control": server.upgrade },
      routes: consoleRoutes(),
      hub,
      reconciler,
      server,
      startReport,
    } satisfies ControlPlane;
  });
