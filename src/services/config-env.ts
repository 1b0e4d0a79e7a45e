/**
 * The environment half of the configuration: every variable vod-tender reads,
 * its schema, its default, and the decoding of a whole environment into
 * {@link EnvConfig}. Names and defaults follow the Go vod-tender wherever it had
 * the variable; docs/configuration.md lists them all.
 *
 * Unlike the Go original, a malformed value is an error naming the variable (Go
 * silently fell back to the default), and every error is reported at once.
 */
import { Redacted, Result, Schema, SchemaGetter } from "effect";
import { isAbsolute, resolve } from "node:path";
import type { ChannelSettings, ChatMode, UploadPrivacy } from "./channel-settings.ts";
import type { ConfigIssue } from "./config-error.ts";
import { parseDuration, formatDuration } from "./duration.ts";
import { issueTexts, showValue, withInput } from "./schema-issue-text.ts";
import { isTwitchLogin, normalizeTwitchLogin, TwitchLogin, twitchLoginExpected } from "./twitch-login.ts";

// ---------------------------------------------------------------------------
// Resolved shape

/** Log verbosity, from most to least chatty. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** Where the HTTP server (health, metrics, admin API, console, /control) listens. */
export interface HttpConfig {
  /** "0.0.0.0" when the address was written Go style as ":8080" (all IPv4 interfaces). */
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: "json" | "text";
}

/** Twitch credentials and endpoints; endpoints point at the simulator in tests and demos. */
export interface TwitchConfig {
  /** Helix app credentials (client-credentials flow). */
  readonly clientId: string | undefined;
  readonly clientSecret: Redacted.Redacted<string> | undefined;
  /** Chat login; when absent chat connects anonymously (read-only, which is all recording needs). */
  readonly botUsername: string | undefined;
  /** With or without the `oauth:` prefix, as Twitch hands it out. */
  readonly oauthToken: Redacted.Redacted<string> | undefined;
  /** Redirect URI of the user-token (authorization code) flow. */
  readonly redirectUri: string | undefined;
  /** Space-separated scopes requested by the user-token flow. */
  readonly scopes: string;
  /** Helix base, without trailing slash, e.g. `https://api.twitch.tv/helix`. */
  readonly helixUrl: string;
  /** OAuth base, e.g. `https://id.twitch.tv/oauth2` (`/token`, `/validate` appended). */
  readonly oauthUrl: string;
  /** Chat WebSocket, e.g. `wss://irc-ws.chat.twitch.tv:443`. */
  readonly ircUrl: string;
}

/** YouTube (Google) credentials and endpoints. */
export interface YouTubeConfig {
  readonly clientId: string | undefined;
  readonly clientSecret: Redacted.Redacted<string> | undefined;
  /** A refresh token for the channel uploads go to; tokens may also come from the OAuth flow and the database. */
  readonly refreshToken: Redacted.Redacted<string> | undefined;
  readonly redirectUri: string | undefined;
  readonly scopes: string;
  /** Operator's declaration that they own or may manage the uploaded content (Go's compliance gate). */
  readonly uploadOwnership: "self" | "authorized" | undefined;
  /** Data API base, e.g. `https://www.googleapis.com/youtube/v3`. */
  readonly apiUrl: string;
  /** Resumable upload base, e.g. `https://www.googleapis.com/upload/youtube/v3`. */
  readonly uploadUrl: string;
  /** Token endpoint base, e.g. `https://oauth2.googleapis.com` (`/token` appended). */
  readonly oauthUrl: string;
}

export interface ChatConfig {
  /** Live-status poll interval (one batched Helix request for all channels). */
  readonly pollIntervalMs: number;
  /** Wait after a stream ends before looking for its VOD. */
  readonly reconcileDelayMs: number;
  /** How long after a stream ends to keep looking for its VOD. */
  readonly reconcileWindowMs: number;
  /** Channels joined over one IRC connection. */
  readonly channelsPerConnection: number;
  /** Drop chat older than this many days (0 = keep forever). */
  readonly retentionDays: number;
}

export interface DownloadConfig {
  /** Download slots shared fairly by all channels. */
  readonly maxConcurrent: number;
  /** yt-dlp runs per VOD before it is left failed. */
  readonly maxAttempts: number;
  /** First retry delay; doubles each attempt, with jitter. */
  readonly backoffBaseMs: number;
  /** A failed VOD is not retried sooner than this. */
  readonly retryCooldownMs: number;
  /** How often each channel's processor looks for work when nothing wakes it. */
  readonly processIntervalMs: number;
  /** yt-dlp `--limit-rate` value such as "2M", or undefined for no limit. */
  readonly rateLimit: string | undefined;
  /** Extra yt-dlp arguments, placed before vod-tender's own. */
  readonly ytdlpArgs: ReadonlyArray<string>;
  /** Pass `-v` to yt-dlp. */
  readonly ytdlpVerbose: boolean;
  /** Delete stale `.part`/`.tmp` files older than this (0 = never). */
  readonly cleanupMaxAgeMs: number;
}

export interface UploadConfig {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  /** Uploads per channel per 24 hours (0 = no limit). */
  readonly dailyLimit: number;
}

/** External programs; bare names are looked up on PATH. */
export interface ToolsConfig {
  readonly ytdlp: string;
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

export interface CircuitConfig {
  /** Consecutive download failures that open a channel's breaker (0 = breaker disabled, as in Go). */
  readonly failureThreshold: number;
  readonly openCooldownMs: number;
}

export interface RetentionConfig {
  /** How often retention runs. */
  readonly intervalMs: number;
}

/** OTP-style supervision limits shared by every channel. */
export interface SupervisorConfig {
  /** Restarts allowed within `restartWindowMs` before a child's failure escalates. */
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
  /** Delay before the first restart; doubles up to `restartBackoffMaxMs`. */
  readonly restartBackoffMs: number;
  readonly restartBackoffMaxMs: number;
  /** A channel in `failed` tries again after this long. */
  readonly channelFailedRetryMs: number;
  /** Longest a graceful shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
}

export interface SecurityConfig {
  /** The admin API refuses every request while this is unset; clients send it as Bearer or `X-Admin-Token`. */
  readonly adminToken: Redacted.Redacted<string> | undefined;
  /** Bearer token of the /control WebSocket; when unset one is generated into `$DATA_DIR/control-token`. */
  readonly controlToken: Redacted.Redacted<string> | undefined;
  /** AES-256-GCM key for OAuth tokens at rest: the 32 decoded bytes. Tokens are stored in plain text without it. */
  readonly encryptionKey: Redacted.Redacted<Uint8Array> | undefined;
}

/** Everything the environment decides. The channels file adds channels and defaults on top. */
export interface EnvConfig {
  /** Channels named by TWITCH_CHANNELS (or TWITCH_CHANNEL), normalised, in order. */
  readonly envChannels: ReadonlyArray<string>;
  /** Per-channel settings from the environment alone: the base every other layer merges over. */
  readonly envChannelDefaults: ChannelSettings;
  /** Absolute path of CHANNELS_FILE, if set. */
  readonly channelsFile: string | undefined;
  /** Absolute path of DATA_DIR: downloads, the embedded database (`pg/`), chat journals. */
  readonly dataDir: string;
  /** Undefined: run an embedded PostgreSQL under `<dataDir>/pg`. */
  readonly databaseUrl: Redacted.Redacted<string> | undefined;
  readonly http: HttpConfig;
  readonly log: LogConfig;
  readonly twitch: TwitchConfig;
  readonly youtube: YouTubeConfig;
  readonly chat: ChatConfig;
  readonly download: DownloadConfig;
  readonly upload: UploadConfig;
  readonly tools: ToolsConfig;
  readonly circuit: CircuitConfig;
  readonly retention: RetentionConfig;
  readonly supervisor: SupervisorConfig;
  readonly security: SecurityConfig;
}

// ---------------------------------------------------------------------------
// Value codecs: string → typed value, each naming what it expects

const parsed = <T>(
  to: Schema.Codec<T>,
  expected: string,
  parse: (text: string) => T | undefined,
  format: (value: T) => string,
) =>
  Schema.String.pipe(
    Schema.check(Schema.makeFilter((text: string) => parse(text) !== undefined, { expected })),
    Schema.decodeTo(to, {
      decode: SchemaGetter.transform((text: string) => parse(text) as T),
      encode: SchemaGetter.transform(format),
    }),
  );

const Text = Schema.String;

const Secret = Schema.RedactedFromValue(Schema.String);

const integer = (min: number, expected: string) =>
  parsed(
    Schema.Number,
    expected,
    (text) => (/^[+]?\d+$/.test(text) && Number(text) >= min && Number.isSafeInteger(Number(text)) ? Number(text) : undefined),
    String,
  );
const PositiveInt = integer(1, "a positive integer");
const NonNegativeInt = integer(0, "a non-negative integer (0 = off)");

const truthy = new Set(["1", "true", "yes", "on"]);
const falsy = new Set(["0", "false", "no", "off"]);
const Bool = parsed(
  Schema.Boolean,
  "a boolean (1/0, true/false, yes/no, on/off)",
  (text) => (truthy.has(text.toLowerCase()) ? true : falsy.has(text.toLowerCase()) ? false : undefined),
  (value) => (value ? "1" : "0"),
);

const duration = (allowZero: boolean) =>
  parsed(
    Schema.Number,
    allowZero
      ? 'a duration such as "30s", "5m" or "1h30m" (0 = off)'
      : 'a positive duration such as "30s", "5m" or "1h30m"',
    (text) => {
      const ms = parseDuration(text);
      return ms !== undefined && (allowZero ? ms >= 0 : ms > 0) ? ms : undefined;
    },
    formatDuration,
  );
const PositiveDuration = duration(false);
const Duration = duration(true);

const oneOf = <const L extends ReadonlyArray<string>>(values: L) =>
  parsed<L[number]>(
    Schema.Literals(values),
    `one of ${values.join(", ")}`,
    (text) => values.find((value) => value === text.toLowerCase()),
    (value) => value,
  );

const url = (protocols: ReadonlyArray<string>, expected: string) =>
  parsed(
    Schema.String,
    expected,
    (text) => {
      if (!URL.canParse(text)) return undefined;
      return protocols.includes(new URL(text).protocol) ? text.replace(/\/+$/, "") : undefined;
    },
    (value) => value,
  );
const HttpUrl = url(["http:", "https:"], "an http(s) URL");
const WsUrl = url(["ws:", "wss:"], "a ws(s) URL");

const DatabaseUrl = Schema.RedactedFromValue(
  Schema.String.pipe(
    Schema.check(
      Schema.makeFilter(
        (text: string) => URL.canParse(text) && ["postgres:", "postgresql:"].includes(new URL(text).protocol),
        // The value is a secret, so the message says what is wrong without echoing it.
        { message: "expected a postgres:// or postgresql:// URL (value not shown: it may hold a password)" },
      ),
    ),
  ),
);

// "host:port", "[v6]:port", Go's ":port" (all interfaces) or a bare port (the same).
const listenAddress = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]*)):)?(\d{1,5})$/;
const ListenAddress = parsed(
  Schema.Struct({ host: Schema.String, port: Schema.Number }),
  'host:port such as "127.0.0.1:8080", ":8080" or "8080"',
  (text) => {
    const match = listenAddress.exec(text);
    if (match === null) return undefined;
    const port = Number(match[3]);
    if (port > 65_535) return undefined;
    return { host: match[1] ?? (match[2] === "" || match[2] === undefined ? "0.0.0.0" : match[2]), port };
  },
  ({ host, port }) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`),
);

const RateLimit = parsed(
  Schema.String,
  'a rate such as "500K", "2M" or "1.5MB" (bytes per second)',
  (text) => (/^\d+(\.\d+)?[KMG]B?$/i.test(text) ? text : undefined),
  (value) => value,
);

const Arguments = parsed(
  Schema.Array(Schema.String),
  "space-separated arguments",
  (text) => text.split(/\s+/).filter((part) => part !== ""),
  (value) => value.join(" "),
);

const Scopes = parsed(
  Schema.String,
  "space- or comma-separated scopes",
  (text) => text.split(/[\s,]+/).filter((part) => part !== "").join(" "),
  (value) => value,
);

const ChannelList = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((text: string) => {
      const problems: Array<string> = [];
      const seen = new Set<string>();
      for (const raw of text.split(",")) {
        if (raw.trim() === "") continue;
        const login = normalizeTwitchLogin(raw);
        if (!isTwitchLogin(login)) problems.push(`"${raw.trim()}" is not ${twitchLoginExpected}`);
        else if (seen.has(login)) problems.push(`channel "${login}" is listed twice`);
        seen.add(login);
      }
      return problems;
    }),
  ),
  Schema.decodeTo(Schema.Array(Schema.String), {
    decode: SchemaGetter.transform((text: string) =>
      text
        .split(",")
        .filter((raw) => raw.trim() !== "")
        .map(normalizeTwitchLogin),
    ),
    encode: SchemaGetter.transform((logins: ReadonlyArray<string>) => logins.join(",")),
  }),
);

const decodeKey = (text: string): Uint8Array | string => {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, "hex"));
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    return "expected 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits; it is neither (value not shown)";
  }
  const bytes = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === 32
    ? Uint8Array.from(bytes)
    : `expected 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits; this decodes to ${bytes.length} bytes (value not shown)`;
};
const EncryptionKey = Schema.RedactedFromValue(
  Schema.String.pipe(
    Schema.check(
      Schema.makeFilter((text: string) => {
        const key = decodeKey(text);
        return typeof key === "string" ? key : undefined;
      }),
    ),
    Schema.decodeTo(Schema.Uint8Array, {
      decode: SchemaGetter.transform((text: string) => decodeKey(text) as Uint8Array),
      encode: SchemaGetter.transform((bytes: Uint8Array) => Buffer.from(bytes).toString("base64")),
    }),
  ),
);

const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

// ---------------------------------------------------------------------------
// The variables

const opt = Schema.optionalKey;

/**
 * The environment schema: one optional key per variable, in documentation
 * order. Values arrive trimmed, and empty values count as unset (as in Go).
 */
export const EnvSchema = Schema.Struct({
  // Twitch
  TWITCH_CHANNEL: opt(TwitchLogin),
  TWITCH_CHANNELS: opt(ChannelList),
  TWITCH_CLIENT_ID: opt(Text),
  TWITCH_CLIENT_SECRET: opt(Secret),
  TWITCH_BOT_USERNAME: opt(TwitchLogin),
  TWITCH_OAUTH_TOKEN: opt(Secret),
  TWITCH_REDIRECT_URI: opt(HttpUrl),
  TWITCH_SCOPES: opt(Scopes),
  TWITCH_HELIX_URL: opt(HttpUrl),
  TWITCH_OAUTH_URL: opt(HttpUrl),
  TWITCH_IRC_URL: opt(WsUrl),
  // Chat
  CHAT_MODE: opt(oneOf(["off", "auto", "always"])),
  CHAT_AUTO_START: opt(Bool),
  CHAT_AUTO_POLL_INTERVAL: opt(PositiveDuration),
  VOD_RECONCILE_DELAY: opt(Duration),
  VOD_RECONCILE_WINDOW: opt(PositiveDuration),
  CHAT_CHANNELS_PER_CONNECTION: opt(PositiveInt),
  CHAT_RETENTION_DAYS: opt(NonNegativeInt),
  // Catalog
  VOD_CATALOG_BACKFILL_INTERVAL: opt(PositiveDuration),
  VOD_CATALOG_MAX: opt(NonNegativeInt),
  VOD_CATALOG_MAX_AGE_DAYS: opt(NonNegativeInt),
  // Processing and downloads
  VOD_PROCESS_INTERVAL: opt(PositiveDuration),
  DOWNLOAD_ENABLED: opt(Bool),
  MAX_CONCURRENT_DOWNLOADS: opt(PositiveInt),
  DOWNLOAD_MAX_ATTEMPTS: opt(PositiveInt),
  DOWNLOAD_BACKOFF_BASE: opt(PositiveDuration),
  PROCESSING_RETRY_COOLDOWN: opt(Duration),
  DOWNLOAD_RATE_LIMIT: opt(RateLimit),
  DATA_CLEANUP_MAX_AGE: opt(Duration),
  YTDLP_ARGS: opt(Arguments),
  YTDLP_VERBOSE: opt(Bool),
  YTDLP_PATH: opt(Text),
  FFMPEG_PATH: opt(Text),
  FFPROBE_PATH: opt(Text),
  // Circuit breaker
  CIRCUIT_FAILURE_THRESHOLD: opt(NonNegativeInt),
  CIRCUIT_OPEN_COOLDOWN: opt(PositiveDuration),
  // YouTube
  YOUTUBE_UPLOAD_ENABLED: opt(Bool),
  YOUTUBE_UPLOAD_PRIVACY: opt(oneOf(["private", "unlisted", "public"])),
  YOUTUBE_UPLOAD_OWNERSHIP: opt(oneOf(["self", "authorized"])),
  YOUTUBE_DELETE_AFTER_UPLOAD: opt(Bool),
  UPLOAD_MAX_ATTEMPTS: opt(PositiveInt),
  UPLOAD_BACKOFF_BASE: opt(PositiveDuration),
  UPLOAD_DAILY_LIMIT: opt(NonNegativeInt),
  YOUTUBE_CLIENT_ID: opt(Text),
  YT_CLIENT_ID: opt(Text),
  YOUTUBE_CLIENT_SECRET: opt(Secret),
  YT_CLIENT_SECRET: opt(Secret),
  YOUTUBE_REFRESH_TOKEN: opt(Secret),
  YOUTUBE_REDIRECT_URI: opt(HttpUrl),
  YT_REDIRECT_URI: opt(HttpUrl),
  YOUTUBE_SCOPES: opt(Scopes),
  YT_SCOPES: opt(Scopes),
  YOUTUBE_API_URL: opt(HttpUrl),
  YOUTUBE_UPLOAD_URL: opt(HttpUrl),
  GOOGLE_OAUTH_URL: opt(HttpUrl),
  // Retention
  RETENTION_KEEP_DAYS: opt(NonNegativeInt),
  RETENTION_KEEP_COUNT: opt(NonNegativeInt),
  RETENTION_DRY_RUN: opt(Bool),
  RETENTION_INTERVAL: opt(PositiveDuration),
  // Storage, server, logging
  DATA_DIR: opt(Text),
  DATABASE_URL: opt(DatabaseUrl),
  DB_DSN: opt(DatabaseUrl),
  CHANNELS_FILE: opt(Text),
  HTTP_ADDR: opt(ListenAddress),
  LOG_LEVEL: opt(oneOf(logLevels)),
  LOG_FORMAT: opt(oneOf(["json", "text"])),
  // Security
  ADMIN_TOKEN: opt(Secret),
  CONTROL_TOKEN: opt(Secret),
  ENCRYPTION_KEY: opt(EncryptionKey),
  // Supervision
  SUPERVISOR_MAX_RESTARTS: opt(NonNegativeInt),
  SUPERVISOR_RESTART_WINDOW: opt(PositiveDuration),
  SUPERVISOR_RESTART_BACKOFF: opt(Duration),
  SUPERVISOR_RESTART_BACKOFF_MAX: opt(PositiveDuration),
  CHANNEL_FAILED_RETRY: opt(PositiveDuration),
  SHUTDOWN_TIMEOUT: opt(PositiveDuration),
});

/** The decoded environment before defaults: only the variables that were set. */
export type EnvSettings = typeof EnvSchema.Type;

/** Every variable vod-tender reads, in documentation order. */
export const envVariables: ReadonlyArray<keyof EnvSettings> = Object.keys(EnvSchema.fields) as Array<keyof EnvSettings>;

/** Variables whose values are secrets: never echoed in errors, masked in output. */
export const secretVariables: ReadonlySet<string> = new Set([
  "TWITCH_CLIENT_SECRET",
  "TWITCH_OAUTH_TOKEN",
  "YOUTUBE_CLIENT_SECRET",
  "YT_CLIENT_SECRET",
  "YOUTUBE_REFRESH_TOKEN",
  "DATABASE_URL",
  "DB_DSN",
  "ADMIN_TOKEN",
  "CONTROL_TOKEN",
  "ENCRYPTION_KEY",
]);

// ---------------------------------------------------------------------------
// Defaults

/** Default values, written the way the environment would spell them. */
export const envDefaults = {
  CHAT_AUTO_POLL_INTERVAL: "30s",
  VOD_RECONCILE_DELAY: "1m",
  VOD_RECONCILE_WINDOW: "15m",
  CHAT_CHANNELS_PER_CONNECTION: 50,
  VOD_CATALOG_BACKFILL_INTERVAL: "6h",
  VOD_PROCESS_INTERVAL: "1m",
  MAX_CONCURRENT_DOWNLOADS: 1,
  DOWNLOAD_MAX_ATTEMPTS: 5,
  DOWNLOAD_BACKOFF_BASE: "2s",
  PROCESSING_RETRY_COOLDOWN: "10m",
  DATA_CLEANUP_MAX_AGE: "24h",
  CIRCUIT_OPEN_COOLDOWN: "5m",
  UPLOAD_MAX_ATTEMPTS: 5,
  UPLOAD_BACKOFF_BASE: "2s",
  UPLOAD_DAILY_LIMIT: 10,
  RETENTION_INTERVAL: "6h",
  DATA_DIR: "./data",
  HTTP_ADDR: "127.0.0.1:8080",
  TWITCH_SCOPES: "chat:read chat:edit",
  TWITCH_HELIX_URL: "https://api.twitch.tv/helix",
  TWITCH_OAUTH_URL: "https://id.twitch.tv/oauth2",
  TWITCH_IRC_URL: "wss://irc-ws.chat.twitch.tv:443",
  YOUTUBE_SCOPES: "https://www.googleapis.com/auth/youtube.upload",
  YOUTUBE_API_URL: "https://www.googleapis.com/youtube/v3",
  YOUTUBE_UPLOAD_URL: "https://www.googleapis.com/upload/youtube/v3",
  GOOGLE_OAUTH_URL: "https://oauth2.googleapis.com",
  YTDLP_PATH: "yt-dlp",
  FFMPEG_PATH: "ffmpeg",
  FFPROBE_PATH: "ffprobe",
  LOG_LEVEL: "info",
  LOG_FORMAT: "json",
  SUPERVISOR_MAX_RESTARTS: 5,
  SUPERVISOR_RESTART_WINDOW: "60s",
  SUPERVISOR_RESTART_BACKOFF: "500ms",
  SUPERVISOR_RESTART_BACKOFF_MAX: "30s",
  CHANNEL_FAILED_RETRY: "5m",
  SHUTDOWN_TIMEOUT: "10s",
} as const;

const ms = (text: string): number => parseDuration(text) ?? 0;

// ---------------------------------------------------------------------------
// Decoding

/** Keeps the variables vod-tender knows, trimmed; empty values are unset, as in Go. */
const presentVariables = (env: Record<string, string | undefined>): Record<string, string> => {
  const present: Record<string, string> = {};
  for (const name of envVariables) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== "") present[name] = value;
  }
  return present;
};

// Credentials that only work as a pair; one without the other is a mistake worth stopping for.
const pairs: ReadonlyArray<readonly [string, string, string]> = [
  ["TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET", "Helix app credentials"],
  ["TWITCH_BOT_USERNAME", "TWITCH_OAUTH_TOKEN", "the chat login"],
];

const pairIssues = (present: Record<string, string>): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = [];
  for (const [a, b, what] of pairs) {
    if ((a in present) !== (b in present)) {
      const missing = a in present ? b : a;
      const other = a in present ? a : b;
      issues.push({ variable: missing, text: `${missing}: required when ${other} is set (both make up ${what})` });
    }
  }
  const youtubeId = "YOUTUBE_CLIENT_ID" in present || "YT_CLIENT_ID" in present;
  const youtubeSecret = "YOUTUBE_CLIENT_SECRET" in present || "YT_CLIENT_SECRET" in present;
  if (youtubeId !== youtubeSecret) {
    const missing = youtubeId ? "YOUTUBE_CLIENT_SECRET" : "YOUTUBE_CLIENT_ID";
    issues.push({ variable: missing, text: `${missing}: required when the other YouTube client credential is set` });
  }
  return issues;
};

const resolvePath = (path: string): string => (isAbsolute(path) ? path : resolve(process.cwd(), path));

/**
 * Decodes an environment into {@link EnvConfig}, applying defaults.
 *
 * Fails with every problem at once, each naming its variable, e.g.
 * `MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "abc"`. Secret
 * values never appear in messages. Variables it does not know are ignored.
 */
export const decodeEnv = (env: Record<string, string | undefined>): Result.Result<EnvConfig, ReadonlyArray<ConfigIssue>> => {
  const present = presentVariables(env);
  const decoded = Schema.decodeUnknownResult(EnvSchema)(present, { errors: "all", reportInput: true });
  const issues: Array<ConfigIssue> = [];
  if (Result.isFailure(decoded)) {
    for (const text of issueTexts(decoded.failure.issue)) {
      const variable = String(text.path[0] ?? "environment");
      const secret = secretVariables.has(variable);
      issues.push({ variable, text: `${variable}: ${withInput(text, (value) => (secret ? undefined : showValue(value)))}` });
    }
  }
  issues.push(...pairIssues(present));
  if (Result.isSuccess(decoded)) {
    const e = decoded.success;
    const backoff = e.SUPERVISOR_RESTART_BACKOFF ?? ms(envDefaults.SUPERVISOR_RESTART_BACKOFF);
    const backoffMax = e.SUPERVISOR_RESTART_BACKOFF_MAX ?? ms(envDefaults.SUPERVISOR_RESTART_BACKOFF_MAX);
    if (backoffMax < backoff) {
      issues.push({
        variable: "SUPERVISOR_RESTART_BACKOFF_MAX",
        text: `SUPERVISOR_RESTART_BACKOFF_MAX: must not be shorter than SUPERVISOR_RESTART_BACKOFF (${formatDuration(backoffMax)} < ${formatDuration(backoff)})`,
      });
    }
  }
  if (issues.length > 0 || Result.isFailure(decoded)) return Result.fail(issues);
  return Result.succeed(buildEnvConfig(decoded.success));
};

const chatModeOf = (e: EnvSettings): ChatMode =>
  e.CHAT_MODE ?? (e.CHAT_AUTO_START === undefined ? "off" : e.CHAT_AUTO_START ? "auto" : "off");

const buildEnvConfig = (e: EnvSettings): EnvConfig => {
  const privacy: UploadPrivacy = e.YOUTUBE_UPLOAD_PRIVACY ?? "private";
  const envChannelDefaults: ChannelSettings = {
    chat: chatModeOf(e),
    catalog: {
      intervalMs: e.VOD_CATALOG_BACKFILL_INTERVAL ?? ms(envDefaults.VOD_CATALOG_BACKFILL_INTERVAL),
      max: e.VOD_CATALOG_MAX ?? 0,
      maxAgeDays: e.VOD_CATALOG_MAX_AGE_DAYS ?? 0,
    },
    download: e.DOWNLOAD_ENABLED ?? true,
    upload: {
      enabled: e.YOUTUBE_UPLOAD_ENABLED ?? false,
      privacy,
      deleteAfterUpload: e.YOUTUBE_DELETE_AFTER_UPLOAD ?? true,
    },
    retention: {
      keepDays: e.RETENTION_KEEP_DAYS ?? 0,
      keepCount: e.RETENTION_KEEP_COUNT ?? 0,
      dryRun: e.RETENTION_DRY_RUN ?? false,
    },
    priority: 0,
  };
  // TWITCH_CHANNELS wins over TWITCH_CHANNEL, exactly as in the Go original.
  const envChannels = e.TWITCH_CHANNELS ?? (e.TWITCH_CHANNEL === undefined ? [] : [e.TWITCH_CHANNEL]);
  return {
    envChannels,
    envChannelDefaults,
    channelsFile: e.CHANNELS_FILE === undefined ? undefined : resolvePath(e.CHANNELS_FILE),
    dataDir: resolvePath(e.DATA_DIR ?? envDefaults.DATA_DIR),
    databaseUrl: e.DATABASE_URL ?? e.DB_DSN,
    http: e.HTTP_ADDR ?? { host: "127.0.0.1", port: 8080 },
    log: { level: e.LOG_LEVEL ?? envDefaults.LOG_LEVEL, format: e.LOG_FORMAT ?? envDefaults.LOG_FORMAT },
    twitch: {
      clientId: e.TWITCH_CLIENT_ID,
      clientSecret: e.TWITCH_CLIENT_SECRET,
      botUsername: e.TWITCH_BOT_USERNAME,
      oauthToken: e.TWITCH_OAUTH_TOKEN,
      redirectUri: e.TWITCH_REDIRECT_URI,
      scopes: e.TWITCH_SCOPES ?? envDefaults.TWITCH_SCOPES,
      helixUrl: e.TWITCH_HELIX_URL ?? envDefaults.TWITCH_HELIX_URL,
      oauthUrl: e.TWITCH_OAUTH_URL ?? envDefaults.TWITCH_OAUTH_URL,
      ircUrl: e.TWITCH_IRC_URL ?? envDefaults.TWITCH_IRC_URL,
    },
    youtube: {
      clientId: e.YOUTUBE_CLIENT_ID ?? e.YT_CLIENT_ID,
      clientSecret: e.YOUTUBE_CLIENT_SECRET ?? e.YT_CLIENT_SECRET,
      refreshToken: e.YOUTUBE_REFRESH_TOKEN,
      redirectUri: e.YOUTUBE_REDIRECT_URI ?? e.YT_REDIRECT_URI,
      scopes: e.YOUTUBE_SCOPES ?? e.YT_SCOPES ?? envDefaults.YOUTUBE_SCOPES,
      uploadOwnership: e.YOUTUBE_UPLOAD_OWNERSHIP,
      apiUrl: e.YOUTUBE_API_URL ?? envDefaults.YOUTUBE_API_URL,
      uploadUrl: e.YOUTUBE_UPLOAD_URL ?? envDefaults.YOUTUBE_UPLOAD_URL,
      oauthUrl: e.GOOGLE_OAUTH_URL ?? envDefaults.GOOGLE_OAUTH_URL,
    },
    chat: {
      pollIntervalMs: e.CHAT_AUTO_POLL_INTERVAL ?? ms(envDefaults.CHAT_AUTO_POLL_INTERVAL),
      reconcileDelayMs: e.VOD_RECONCILE_DELAY ?? ms(envDefaults.VOD_RECONCILE_DELAY),
      reconcileWindowMs: e.VOD_RECONCILE_WINDOW ?? ms(envDefaults.VOD_RECONCILE_WINDOW),
      channelsPerConnection: e.CHAT_CHANNELS_PER_CONNECTION ?? envDefaults.CHAT_CHANNELS_PER_CONNECTION,
      retentionDays: e.CHAT_RETENTION_DAYS ?? 0,
    },
    download: {
      maxConcurrent: e.MAX_CONCURRENT_DOWNLOADS ?? envDefaults.MAX_CONCURRENT_DOWNLOADS,
      maxAttempts: e.DOWNLOAD_MAX_ATTEMPTS ?? envDefaults.DOWNLOAD_MAX_ATTEMPTS,
      backoffBaseMs: e.DOWNLOAD_BACKOFF_BASE ?? ms(envDefaults.DOWNLOAD_BACKOFF_BASE),
      retryCooldownMs: e.PROCESSING_RETRY_COOLDOWN ?? ms(envDefaults.PROCESSING_RETRY_COOLDOWN),
      processIntervalMs: e.VOD_PROCESS_INTERVAL ?? ms(envDefaults.VOD_PROCESS_INTERVAL),
      rateLimit: e.DOWNLOAD_RATE_LIMIT,
      ytdlpArgs: e.YTDLP_ARGS ?? [],
      ytdlpVerbose: e.YTDLP_VERBOSE ?? false,
      cleanupMaxAgeMs: e.DATA_CLEANUP_MAX_AGE ?? ms(envDefaults.DATA_CLEANUP_MAX_AGE),
    },
    upload: {
      maxAttempts: e.UPLOAD_MAX_ATTEMPTS ?? envDefaults.UPLOAD_MAX_ATTEMPTS,
      backoffBaseMs: e.UPLOAD_BACKOFF_BASE ?? ms(envDefaults.UPLOAD_BACKOFF_BASE),
      dailyLimit: e.UPLOAD_DAILY_LIMIT ?? envDefaults.UPLOAD_DAILY_LIMIT,
    },
    tools: {
      ytdlp: e.YTDLP_PATH ?? envDefaults.YTDLP_PATH,
      ffmpeg: e.FFMPEG_PATH ?? envDefaults.FFMPEG_PATH,
      ffprobe: e.FFPROBE_PATH ?? envDefaults.FFPROBE_PATH,
    },
    circuit: {
      failureThreshold: e.CIRCUIT_FAILURE_THRESHOLD ?? 0,
      openCooldownMs: e.CIRCUIT_OPEN_COOLDOWN ?? ms(envDefaults.CIRCUIT_OPEN_COOLDOWN),
    },
    retention: { intervalMs: e.RETENTION_INTERVAL ?? ms(envDefaults.RETENTION_INTERVAL) },
    supervisor: {
      maxRestarts: e.SUPERVISOR_MAX_RESTARTS ?? envDefaults.SUPERVISOR_MAX_RESTARTS,
      restartWindowMs: e.SUPERVISOR_RESTART_WINDOW ?? ms(envDefaults.SUPERVISOR_RESTART_WINDOW),
      restartBackoffMs: e.SUPERVISOR_RESTART_BACKOFF ?? ms(envDefaults.SUPERVISOR_RESTART_BACKOFF),
      restartBackoffMaxMs: e.SUPERVISOR_RESTART_BACKOFF_MAX ?? ms(envDefaults.SUPERVISOR_RESTART_BACKOFF_MAX),
      channelFailedRetryMs: e.CHANNEL_FAILED_RETRY ?? ms(envDefaults.CHANNEL_FAILED_RETRY),
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT ?? ms(envDefaults.SHUTDOWN_TIMEOUT),
    },
    security: {
      adminToken: e.ADMIN_TOKEN,
      controlToken: e.CONTROL_TOKEN,
      encryptionKey: e.ENCRYPTION_KEY,
    },
  };
};

// ---------------------------------------------------------------------------
// Notes: valid settings that are overridden or not used

// Variables of the Go vod-tender that vod-tender does not read, and why.
const goOnlyVariables: Readonly<Record<string, string>> = {
  TWITCH_VOD_ID: "manual chat mode is gone: chat follows live detection (CHAT_MODE)",
  TWITCH_VOD_START: "manual chat mode is gone: chat follows live detection (CHAT_MODE)",
  YTDLP_COOKIES_PATH: "cookie support was removed (as in the Go original since #287)",
  BACKFILL_AUTOCLEAN: "use YOUTUBE_DELETE_AFTER_UPLOAD",
  BACKFILL_UPLOAD_DAILY_LIMIT: "use UPLOAD_DAILY_LIMIT",
  RETAIN_KEEP_NEWER_THAN_DAYS: "use RETENTION_KEEP_DAYS",
  ADMIN_USERNAME: "admin auth is by ADMIN_TOKEN only",
  ADMIN_PASSWORD: "admin auth is by ADMIN_TOKEN only",
  RATE_LIMIT_ENABLED: "not implemented",
  RATE_LIMIT_BACKEND: "not implemented",
  RATE_LIMIT_REQUESTS_PER_IP: "not implemented",
  RATE_LIMIT_WINDOW_SECONDS: "not implemented",
  CORS_PERMISSIVE: "the console is served from the same origin; no CORS",
  CORS_ALLOWED_ORIGINS: "the console is served from the same origin; no CORS",
  ENV: "not used",
  ENABLE_PPROF: "not applicable to Node.js",
  PPROF_ADDR: "not applicable to Node.js",
  OTEL_EXPORTER_OTLP_ENDPOINT: "tracing export is not implemented",
  OTEL_TRACE_SAMPLE_RATE: "tracing export is not implemented",
  HEALTHCHECK_ENDPOINT: "use GET /healthz",
};

// [wins, loses]: both set means the second is ignored.
const overrides: ReadonlyArray<readonly [string, string]> = [
  ["TWITCH_CHANNELS", "TWITCH_CHANNEL"],
  ["CHAT_MODE", "CHAT_AUTO_START"],
  ["DATABASE_URL", "DB_DSN"],
  ["YOUTUBE_CLIENT_ID", "YT_CLIENT_ID"],
  ["YOUTUBE_CLIENT_SECRET", "YT_CLIENT_SECRET"],
  ["YOUTUBE_REDIRECT_URI", "YT_REDIRECT_URI"],
  ["YOUTUBE_SCOPES", "YT_SCOPES"],
];

/**
 * Notes on an environment that is valid but may not do what its author thinks:
 * variables shadowed by another (TWITCH_CHANNEL beside TWITCH_CHANNELS) and Go
 * vod-tender variables that vod-tender does not read. Never shows values.
 */
export const envNotes = (env: Record<string, string | undefined>): ReadonlyArray<string> => {
  const set = (name: string): boolean => (env[name]?.trim() ?? "") !== "";
  const notes: Array<string> = [];
  for (const [wins, loses] of overrides) {
    if (set(wins) && set(loses)) notes.push(`${loses} is ignored because ${wins} is set`);
  }
  for (const [name, reason] of Object.entries(goOnlyVariables)) {
    if (set(name)) notes.push(`${name} is not used by vod-tender: ${reason}`);
  }
  return notes;
};
