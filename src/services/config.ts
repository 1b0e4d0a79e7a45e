/**
 * The `Config` service: the environment (names compatible with the Go
 * vod-tender) plus the channels file, validated together into one
 * {@link AppConfig}. Every problem is reported at once as a {@link ConfigError};
 * secrets stay `Redacted` from decoding to use.
 */
import { Context, Effect, Layer, Redacted, Result } from "effect";
import type { ChannelSettings, ChannelSpec } from "./channel-settings.ts";
import { type ChannelsFileContents, readChannelsFile, resolveChannels } from "./channels-file.ts";
import { decodeEnv, type EnvConfig } from "./config-env.ts";
import { channelsFileIssues, ConfigError, type ConfigIssue } from "./config-error.ts";
import { formatDuration } from "./duration.ts";

export { parseDuration, formatDuration } from "./duration.ts";

/**
 * The resolved configuration of the process. Durations are milliseconds (fields
 * ending in `Ms`), secrets are `Redacted`, paths are absolute.
 */
export interface AppConfig extends EnvConfig {
  /**
   * Channels to run at start: the environment's (TWITCH_CHANNELS or
   * TWITCH_CHANNEL) then the channels file's. A channel in both is the file's.
   */
  readonly channels: ReadonlyArray<ChannelSpec>;
  /**
   * What a channel gets unless it says otherwise: environment defaults with the
   * channels file's `defaults` applied. Channels added over /control start here.
   */
  readonly channelDefaults: ChannelSettings;
}

/** Combines a decoded environment and an (optional) channels file into the final configuration. */
export const makeAppConfig = (env: EnvConfig, file: ChannelsFileContents | undefined): AppConfig => ({
  ...env,
  channels: resolveChannels(env.envChannels, file, env.envChannelDefaults),
  channelDefaults: file?.defaults ?? env.envChannelDefaults,
});

/**
 * Decodes an environment into the configuration, reading `CHANNELS_FILE` from
 * disk when it is set.
 *
 * Fails with a {@link ConfigError} listing every problem: each bad variable by
 * name and each channels-file problem by line, together. Secret values never
 * appear in the error.
 */
export const loadConfig = (env: Record<string, string | undefined>): Effect.Effect<AppConfig, ConfigError> =>
  Effect.gen(function* () {
    const decoded = decodeEnv(env);
    const issues: Array<ConfigIssue> = Result.isFailure(decoded) ? [...decoded.failure] : [];
    // Even with a broken environment the file is still checked, against default settings,
    // so one run reports everything.
    const fallback = Result.isSuccess(decoded) ? decoded.success : Result.getOrUndefined(decodeEnv({}));
    const channelsFile = Result.isSuccess(decoded) ? decoded.success.channelsFile : fileFrom(env);
    let file: ChannelsFileContents | undefined;
    if (channelsFile !== undefined && fallback !== undefined) {
      const read = yield* Effect.result(readChannelsFile(channelsFile, fallback.envChannelDefaults));
      if (Result.isFailure(read)) issues.push(...channelsFileIssues(read.failure));
      else file = read.success;
    }
    if (issues.length > 0 || Result.isFailure(decoded)) return yield* new ConfigError({ issues });
    return makeAppConfig(decoded.success, file);
  }).pipe(Effect.withSpan("loadConfig"));

const fileFrom = (env: Record<string, string | undefined>): string | undefined => {
  const path = env["CHANNELS_FILE"]?.trim();
  return path === undefined || path === "" ? undefined : Result.getOrUndefined(decodeEnv({ CHANNELS_FILE: path }))?.channelsFile;
};

/**
 * The process configuration as a service. Provide it with {@link Config.layerFromEnv}
 * in the runtime, or {@link Config.layer} with a hand-built value in tests.
 */
export class Config extends Context.Service<Config, AppConfig>()("vod-tender/services/Config") {
  /** Loads from `process.env` (and the channels file) when the layer is built; fails with every problem found. */
  static readonly layerFromEnv: Layer.Layer<Config, ConfigError> = Layer.effect(
    Config,
    Effect.suspend(() => loadConfig(process.env)),
  );

  /** Loads from the given environment record instead of `process.env`. */
  static readonly layerFromRecord = (env: Record<string, string | undefined>): Layer.Layer<Config, ConfigError> =>
    Layer.effect(Config, loadConfig(env));

  /** Provides an already resolved configuration. */
  static readonly layer = (config: AppConfig): Layer.Layer<Config> => Layer.succeed(Config, config);
}

// ---------------------------------------------------------------------------
// Presentation

/** How an unset value is shown. */
export const unsetText = "<unset>";
/** How a set secret is shown. */
export const redactedText = "<redacted>";

type Shown = string | number | boolean | ReadonlyArray<Shown> | { readonly [key: string]: Shown };

// Generic on purpose: any Redacted field added later is masked without anyone remembering to.
const show = (value: unknown): Shown => {
  if (value === undefined || value === null) return unsetText;
  if (Redacted.isRedacted(value)) return redactedText;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(show);
  if (value instanceof Uint8Array) return redactedText;
  if (typeof value === "object") {
    const out: Record<string, Shown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key.endsWith("Ms") && typeof inner === "number") out[key.slice(0, -2)] = formatDuration(inner);
      else out[key] = show(inner);
    }
    return out;
  }
  return String(value);
};

/**
 * The configuration as a plain, printable value: durations as Go duration
 * strings ("6h"), secrets as "<redacted>" when set, unset values as "<unset>",
 * each channel flattened to its name, source and settings.
 */
export const describeConfig = (config: AppConfig): { readonly [key: string]: Shown } => {
  const { channels, channelDefaults, envChannels: _envChannels, envChannelDefaults: _envDefaults, databaseUrl, ...rest } = config;
  return {
    channels: channels.map((channel) => show({ name: channel.name, source: channel.source, paused: channel.paused, ...channel.settings })),
    channelDefaults: show(channelDefaults),
    database: databaseUrl === undefined ? `embedded PostgreSQL in ${config.dataDir}/pg` : redactedText,
    ...(show(rest) as { readonly [key: string]: Shown }),
  };
};

/**
 * Renders the configuration as indented JSON for `vod-tender config check`.
 * Secrets appear only as "<redacted>" (set) or "<unset>"; nothing else is hidden.
 */
export const formatConfig = (config: AppConfig): string => JSON.stringify(describeConfig(config), null, 2);

const loopback = (host: string): boolean => host === "localhost" || host === "::1" || host.startsWith("127.");

/**
 * Things that are valid but probably not what the operator wants: no channels,
 * no Helix credentials, an admin API that refuses everything, uploads without the
 * ownership declaration the Go original requires. Never secret values.
 */
export const configWarnings = (config: AppConfig): ReadonlyArray<string> => {
  const warnings: Array<string> = [];
  if (config.channels.length === 0) {
    warnings.push("no channels configured: set TWITCH_CHANNELS or CHANNELS_FILE (or add channels at runtime over /control)");
  }
  if (config.twitch.clientId === undefined) {
    warnings.push("TWITCH_CLIENT_ID/TWITCH_CLIENT_SECRET unset: catalog scans, live detection and VOD reconciliation need Helix app credentials");
  }
  const uploading = [config.channelDefaults, ...config.channels.map((channel) => channel.settings)].some((settings) => settings.upload.enabled);
  if (uploading && config.youtube.uploadOwnership === undefined) {
    warnings.push("uploads are enabled but YOUTUBE_UPLOAD_OWNERSHIP is unset: declare self or authorized (uploading others' content may breach YouTube's terms)");
  }
  if (uploading && config.youtube.clientId === undefined) {
    warnings.push("uploads are enabled but YOUTUBE_CLIENT_ID/YOUTUBE_CLIENT_SECRET are unset");
  }
  if (config.security.adminToken === undefined) {
    warnings.push("ADMIN_TOKEN unset: the admin API (/admin/*, VOD reprocess/cancel) refuses every request");
  }
  if (config.security.encryptionKey === undefined) {
    warnings.push("ENCRYPTION_KEY unset: OAuth tokens are stored in plain text (fine for local use, not for production)");
  }
  return warnings;
};
