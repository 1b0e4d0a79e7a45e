import { Redacted, Result } from "effect";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeEnv, envNotes, envVariables, type EnvConfig } from "../../../src/services/config-env.ts";

const ok = (env: Record<string, string | undefined>): EnvConfig => {
  const result = decodeEnv(env);
  if (Result.isFailure(result)) throw new Error(`expected a valid environment, got:\n${result.failure.map((i) => i.text).join("\n")}`);
  return result.success;
};

const problems = (env: Record<string, string | undefined>): ReadonlyArray<string> => {
  const result = decodeEnv(env);
  if (Result.isSuccess(result)) throw new Error("expected the environment to be rejected");
  return result.failure.map((issue) => issue.text);
};

const secret = (value: Redacted.Redacted<string> | undefined): string | undefined =>
  value === undefined ? undefined : Redacted.value(value);

const key32 = randomBytes(32);

interface Case {
  readonly variable: string;
  readonly value: string;
  /** Companion variables the value needs (credentials come in pairs). */
  readonly with?: Record<string, string>;
  readonly read: (config: EnvConfig) => unknown;
  readonly expected: unknown;
}

// One row per variable: the value as a person would write it and where it lands.
const cases: ReadonlyArray<Case> = [
  { variable: "TWITCH_CHANNEL", value: "#SomeOne", read: (c) => c.envChannels, expected: ["someone"] },
  { variable: "TWITCH_CHANNELS", value: " first_one, #Second_One ,", read: (c) => c.envChannels, expected: ["first_one", "second_one"] },
  { variable: "TWITCH_CLIENT_ID", value: "cid", with: { TWITCH_CLIENT_SECRET: "s" }, read: (c) => c.twitch.clientId, expected: "cid" },
  { variable: "TWITCH_CLIENT_SECRET", value: "csecret", with: { TWITCH_CLIENT_ID: "c" }, read: (c) => secret(c.twitch.clientSecret), expected: "csecret" },
  { variable: "TWITCH_BOT_USERNAME", value: "ArchiveBot", with: { TWITCH_OAUTH_TOKEN: "t" }, read: (c) => c.twitch.botUsername, expected: "archivebot" },
  { variable: "TWITCH_OAUTH_TOKEN", value: "oauth:abc123", with: { TWITCH_BOT_USERNAME: "bot_user" }, read: (c) => secret(c.twitch.oauthToken), expected: "oauth:abc123" },
  { variable: "TWITCH_REDIRECT_URI", value: "http://localhost:8080/auth/twitch/callback", read: (c) => c.twitch.redirectUri, expected: "http://localhost:8080/auth/twitch/callback" },
  { variable: "TWITCH_SCOPES", value: "chat:read, user:read:email", read: (c) => c.twitch.scopes, expected: "chat:read user:read:email" },
  { variable: "TWITCH_HELIX_URL", value: "http://127.0.0.1:9000/helix/", read: (c) => c.twitch.helixUrl, expected: "http://127.0.0.1:9000/helix" },
  { variable: "TWITCH_OAUTH_URL", value: "http://127.0.0.1:9000/oauth2", read: (c) => c.twitch.oauthUrl, expected: "http://127.0.0.1:9000/oauth2" },
  { variable: "TWITCH_IRC_URL", value: "ws://127.0.0.1:9000/irc", read: (c) => c.twitch.ircUrl, expected: "ws://127.0.0.1:9000/irc" },
  { variable: "CHAT_MODE", value: "ALWAYS", read: (c) => c.envChannelDefaults.chat, expected: "always" },
  { variable: "CHAT_AUTO_START", value: "1", read: (c) => c.envChannelDefaults.chat, expected: "auto" },
  { variable: "CHAT_AUTO_POLL_INTERVAL", value: "1m30s", read: (c) => c.chat.pollIntervalMs, expected: 90_000 },
  { variable: "VOD_RECONCILE_DELAY", value: "0", read: (c) => c.chat.reconcileDelayMs, expected: 0 },
  { variable: "VOD_RECONCILE_WINDOW", value: "20m", read: (c) => c.chat.reconcileWindowMs, expected: 1_200_000 },
  { variable: "CHAT_CHANNELS_PER_CONNECTION", value: "10", read: (c) => c.chat.channelsPerConnection, expected: 10 },
  { variable: "CHAT_RETENTION_DAYS", value: "30", read: (c) => c.chat.retentionDays, expected: 30 },
  { variable: "VOD_CATALOG_BACKFILL_INTERVAL", value: "2h", read: (c) => c.envChannelDefaults.catalog.intervalMs, expected: 7_200_000 },
  { variable: "VOD_CATALOG_MAX", value: "100", read: (c) => c.envChannelDefaults.catalog.max, expected: 100 },
  { variable: "VOD_CATALOG_MAX_AGE_DAYS", value: "60", read: (c) => c.envChannelDefaults.catalog.maxAgeDays, expected: 60 },
  { variable: "VOD_PROCESS_INTERVAL", value: "45s", read: (c) => c.download.processIntervalMs, expected: 45_000 },
  { variable: "DOWNLOAD_ENABLED", value: "no", read: (c) => c.envChannelDefaults.download, expected: false },
  { variable: "MAX_CONCURRENT_DOWNLOADS", value: "3", read: (c) => c.download.maxConcurrent, expected: 3 },
  { variable: "DOWNLOAD_MAX_ATTEMPTS", value: "7", read: (c) => c.download.maxAttempts, expected: 7 },
  { variable: "DOWNLOAD_BACKOFF_BASE", value: "250ms", read: (c) => c.download.backoffBaseMs, expected: 250 },
  { variable: "PROCESSING_RETRY_COOLDOWN", value: "90s", read: (c) => c.download.retryCooldownMs, expected: 90_000 },
  { variable: "DOWNLOAD_RATE_LIMIT", value: "1.5M", read: (c) => c.download.rateLimit, expected: "1.5M" },
  { variable: "DATA_CLEANUP_MAX_AGE", value: "0", read: (c) => c.download.cleanupMaxAgeMs, expected: 0 },
  { variable: "YTDLP_ARGS", value: "--no-part   --retries 3", read: (c) => c.download.ytdlpArgs, expected: ["--no-part", "--retries", "3"] },
  { variable: "YTDLP_VERBOSE", value: "yes", read: (c) => c.download.ytdlpVerbose, expected: true },
  { variable: "YTDLP_PATH", value: "/opt/bin/yt-dlp", read: (c) => c.tools.ytdlp, expected: "/opt/bin/yt-dlp" },
  { variable: "FFMPEG_PATH", value: "/opt/bin/ffmpeg", read: (c) => c.tools.ffmpeg, expected: "/opt/bin/ffmpeg" },
  { variable: "FFPROBE_PATH", value: "/opt/bin/ffprobe", read: (c) => c.tools.ffprobe, expected: "/opt/bin/ffprobe" },
  { variable: "CIRCUIT_FAILURE_THRESHOLD", value: "3", read: (c) => c.circuit.failureThreshold, expected: 3 },
  { variable: "CIRCUIT_OPEN_COOLDOWN", value: "2m", read: (c) => c.circuit.openCooldownMs, expected: 120_000 },
  { variable: "YOUTUBE_UPLOAD_ENABLED", value: "true", read: (c) => c.envChannelDefaults.upload.enabled, expected: true },
  { variable: "YOUTUBE_UPLOAD_PRIVACY", value: "Public", read: (c) => c.envChannelDefaults.upload.privacy, expected: "public" },
  { variable: "YOUTUBE_UPLOAD_OWNERSHIP", value: "self", read: (c) => c.youtube.uploadOwnership, expected: "self" },
  { variable: "YOUTUBE_DELETE_AFTER_UPLOAD", value: "off", read: (c) => c.envChannelDefaults.upload.deleteAfterUpload, expected: false },
  { variable: "UPLOAD_MAX_ATTEMPTS", value: "2", read: (c) => c.upload.maxAttempts, expected: 2 },
  { variable: "UPLOAD_BACKOFF_BASE", value: "3s", read: (c) => c.upload.backoffBaseMs, expected: 3_000 },
  { variable: "UPLOAD_DAILY_LIMIT", value: "0", read: (c) => c.upload.dailyLimit, expected: 0 },
  { variable: "YOUTUBE_CLIENT_ID", value: "ycid", with: { YOUTUBE_CLIENT_SECRET: "s" }, read: (c) => c.youtube.clientId, expected: "ycid" },
  { variable: "YT_CLIENT_ID", value: "go-ycid", with: { YT_CLIENT_SECRET: "s" }, read: (c) => c.youtube.clientId, expected: "go-ycid" },
  { variable: "YOUTUBE_CLIENT_SECRET", value: "ysecret", with: { YOUTUBE_CLIENT_ID: "i" }, read: (c) => secret(c.youtube.clientSecret), expected: "ysecret" },
  { variable: "YT_CLIENT_SECRET", value: "go-ysecret", with: { YT_CLIENT_ID: "i" }, read: (c) => secret(c.youtube.clientSecret), expected: "go-ysecret" },
  { variable: "YOUTUBE_REFRESH_TOKEN", value: "1//refresh", read: (c) => secret(c.youtube.refreshToken), expected: "1//refresh" },
  { variable: "YOUTUBE_REDIRECT_URI", value: "https://vod.example/auth/youtube/callback", read: (c) => c.youtube.redirectUri, expected: "https://vod.example/auth/youtube/callback" },
  { variable: "YT_REDIRECT_URI", value: "https://go.example/cb", read: (c) => c.youtube.redirectUri, expected: "https://go.example/cb" },
  { variable: "YOUTUBE_SCOPES", value: "a,b", read: (c) => c.youtube.scopes, expected: "a b" },
  { variable: "YT_SCOPES", value: "x y", read: (c) => c.youtube.scopes, expected: "x y" },
  { variable: "YOUTUBE_API_URL", value: "http://127.0.0.1:9000/youtube/v3", read: (c) => c.youtube.apiUrl, expected: "http://127.0.0.1:9000/youtube/v3" },
  { variable: "YOUTUBE_UPLOAD_URL", value: "http://127.0.0.1:9000/upload/youtube/v3", read: (c) => c.youtube.uploadUrl, expected: "http://127.0.0.1:9000/upload/youtube/v3" },
  { variable: "GOOGLE_OAUTH_URL", value: "http://127.0.0.1:9000/google", read: (c) => c.youtube.oauthUrl, expected: "http://127.0.0.1:9000/google" },
  { variable: "RETENTION_KEEP_DAYS", value: "14", read: (c) => c.envChannelDefaults.retention.keepDays, expected: 14 },
  { variable: "RETENTION_KEEP_COUNT", value: "20", read: (c) => c.envChannelDefaults.retention.keepCount, expected: 20 },
  { variable: "RETENTION_DRY_RUN", value: "1", read: (c) => c.envChannelDefaults.retention.dryRun, expected: true },
  { variable: "RETENTION_INTERVAL", value: "12h", read: (c) => c.retention.intervalMs, expected: 43_200_000 },
  { variable: "DATA_DIR", value: "/var/lib/vod-tender", read: (c) => c.dataDir, expected: "/var/lib/vod-tender" },
  { variable: "DATABASE_URL", value: "postgres://vod:pw@db:5432/vod", read: (c) => secret(c.databaseUrl), expected: "postgres://vod:pw@db:5432/vod" },
  { variable: "DB_DSN", value: "postgresql://vod:pw@db/vod?sslmode=disable", read: (c) => secret(c.databaseUrl), expected: "postgresql://vod:pw@db/vod?sslmode=disable" },
  { variable: "CHANNELS_FILE", value: "/etc/vod-tender/channels.yaml", read: (c) => c.channelsFile, expected: "/etc/vod-tender/channels.yaml" },
  { variable: "HTTP_ADDR", value: "[::1]:9090", read: (c) => c.http, expected: { host: "::1", port: 9090 } },
  { variable: "LOG_LEVEL", value: "DEBUG", read: (c) => c.log.level, expected: "debug" },
  { variable: "LOG_FORMAT", value: "text", read: (c) => c.log.format, expected: "text" },
  { variable: "ADMIN_TOKEN", value: "admin-secret", read: (c) => secret(c.security.adminToken), expected: "admin-secret" },
  { variable: "CONTROL_TOKEN", value: "control-secret", read: (c) => secret(c.security.controlToken), expected: "control-secret" },
  {
    variable: "ENCRYPTION_KEY",
    value: key32.toString("base64"),
    read: (c) => (c.security.encryptionKey === undefined ? undefined : Buffer.from(Redacted.value(c.security.encryptionKey)).toString("hex")),
    expected: key32.toString("hex"),
  },
  { variable: "SUPERVISOR_MAX_RESTARTS", value: "0", read: (c) => c.supervisor.maxRestarts, expected: 0 },
  { variable: "SUPERVISOR_RESTART_WINDOW", value: "2m", read: (c) => c.supervisor.restartWindowMs, expected: 120_000 },
  { variable: "SUPERVISOR_RESTART_BACKOFF", value: "1s", read: (c) => c.supervisor.restartBackoffMs, expected: 1_000 },
  { variable: "SUPERVISOR_RESTART_BACKOFF_MAX", value: "1m", read: (c) => c.supervisor.restartBackoffMaxMs, expected: 60_000 },
  { variable: "CHANNEL_FAILED_RETRY", value: "10m", read: (c) => c.supervisor.channelFailedRetryMs, expected: 600_000 },
  { variable: "SHUTDOWN_TIMEOUT", value: "30s", read: (c) => c.supervisor.shutdownTimeoutMs, expected: 30_000 },
];

describe("decodeEnv: every variable", () => {
  it("has a parsing case for each variable it reads", () => {
    expect(new Set(cases.map((c) => c.variable))).toEqual(new Set(envVariables));
  });

  it.each(cases)("$variable=$value", ({ variable, value, with: companions, read, expected }) => {
    const config = ok({ [variable]: value, ...companions });
    expect(read(config)).toEqual(expected);
    // The same read without the variable must differ, or the case proves nothing.
    expect(read(ok({}))).not.toEqual(expected);
  });
});

describe("decodeEnv: defaults", () => {
  it("uses the Go vod-tender's defaults when nothing is set", () => {
    const config = ok({});
    expect(config.envChannels).toEqual([]);
    expect(config.envChannelDefaults).toEqual({
      chat: "off",
      catalog: { intervalMs: 6 * 3_600_000, max: 0, maxAgeDays: 0 },
      download: true,
      upload: { enabled: false, privacy: "private", deleteAfterUpload: true },
      retention: { keepDays: 0, keepCount: 0, dryRun: false },
      priority: 0,
    });
    expect(config.chat).toEqual({ pollIntervalMs: 30_000, reconcileDelayMs: 60_000, reconcileWindowMs: 900_000, channelsPerConnection: 50, retentionDays: 0 });
    expect(config.download.maxConcurrent).toBe(1);
    expect(config.download.maxAttempts).toBe(5);
    expect(config.download.processIntervalMs).toBe(60_000);
    expect(config.circuit).toEqual({ failureThreshold: 0, openCooldownMs: 300_000 });
    expect(config.supervisor).toEqual({
      maxRestarts: 5,
      restartWindowMs: 60_000,
      restartBackoffMs: 500,
      restartBackoffMaxMs: 30_000,
      channelFailedRetryMs: 300_000,
      shutdownTimeoutMs: 10_000,
    });
    expect(config.http).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(config.dataDir).toBe(resolve("data"));
    expect(config.databaseUrl).toBeUndefined();
    expect(config.twitch.helixUrl).toBe("https://api.twitch.tv/helix");
    expect(config.twitch.oauthUrl).toBe("https://id.twitch.tv/oauth2");
    expect(config.twitch.ircUrl).toBe("wss://irc-ws.chat.twitch.tv:443");
    expect(config.youtube.apiUrl).toBe("https://www.googleapis.com/youtube/v3");
    expect(config.youtube.uploadUrl).toBe("https://www.googleapis.com/upload/youtube/v3");
    expect(config.youtube.oauthUrl).toBe("https://oauth2.googleapis.com");
    expect(config.log).toEqual({ level: "info", format: "json" });
  });

  it("treats empty and blank values as unset, as Go does", () => {
    const config = ok({ MAX_CONCURRENT_DOWNLOADS: "", CHAT_AUTO_POLL_INTERVAL: "   ", TWITCH_CHANNELS: "" });
    expect(config.download.maxConcurrent).toBe(1);
    expect(config.chat.pollIntervalMs).toBe(30_000);
    expect(config.envChannels).toEqual([]);
  });

  it("ignores variables it does not know", () => {
    expect(ok({ PATH: "/usr/bin", SOMETHING_ELSE: "x" }).download.maxConcurrent).toBe(1);
  });

  it("resolves a relative DATA_DIR against the working directory", () => {
    expect(ok({ DATA_DIR: "archive" }).dataDir).toBe(resolve(process.cwd(), "archive"));
  });
});

describe("decodeEnv: precedence", () => {
  it("TWITCH_CHANNELS wins over TWITCH_CHANNEL", () => {
    expect(ok({ TWITCH_CHANNEL: "single_one", TWITCH_CHANNELS: "first_one,second_one" }).envChannels).toEqual(["first_one", "second_one"]);
    expect(ok({ TWITCH_CHANNEL: "single_one" }).envChannels).toEqual(["single_one"]);
  });

  it("CHAT_MODE wins over CHAT_AUTO_START; CHAT_AUTO_START=0 means off", () => {
    expect(ok({ CHAT_MODE: "always", CHAT_AUTO_START: "0" }).envChannelDefaults.chat).toBe("always");
    expect(ok({ CHAT_AUTO_START: "false" }).envChannelDefaults.chat).toBe("off");
    expect(ok({ CHAT_AUTO_START: "TRUE" }).envChannelDefaults.chat).toBe("auto");
  });

  it("DATABASE_URL wins over DB_DSN, YOUTUBE_* over YT_*", () => {
    const config = ok({
      DATABASE_URL: "postgres://new@db/vod",
      DB_DSN: "postgres://old@db/vod",
      YOUTUBE_CLIENT_ID: "new-id",
      YOUTUBE_CLIENT_SECRET: "new-secret",
      YT_CLIENT_ID: "old-id",
      YT_CLIENT_SECRET: "old-secret",
    });
    expect(secret(config.databaseUrl)).toBe("postgres://new@db/vod");
    expect(config.youtube.clientId).toBe("new-id");
    expect(secret(config.youtube.clientSecret)).toBe("new-secret");
  });

  it("reads HTTP_ADDR the Go way: ':8080' and a bare port listen on every interface", () => {
    expect(ok({ HTTP_ADDR: ":8080" }).http).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(ok({ HTTP_ADDR: "9000" }).http).toEqual({ host: "0.0.0.0", port: 9000 });
    expect(ok({ HTTP_ADDR: "localhost:0" }).http).toEqual({ host: "localhost", port: 0 });
  });

  it("accepts the encryption key as 64 hex digits too", () => {
    const config = ok({ ENCRYPTION_KEY: key32.toString("hex") });
    expect(Buffer.from(Redacted.value(config.security.encryptionKey!)).equals(key32)).toBe(true);
  });
});

describe("decodeEnv: bad values", () => {
  it.each([
    ["MAX_CONCURRENT_DOWNLOADS", "abc", 'MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "abc"'],
    ["MAX_CONCURRENT_DOWNLOADS", "0", 'MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "0"'],
    ["DOWNLOAD_MAX_ATTEMPTS", "2.5", 'DOWNLOAD_MAX_ATTEMPTS: expected a positive integer, got "2.5"'],
    ["VOD_CATALOG_MAX", "-1", 'VOD_CATALOG_MAX: expected a non-negative integer (0 = off), got "-1"'],
    ["CHAT_AUTO_POLL_INTERVAL", "30", 'CHAT_AUTO_POLL_INTERVAL: expected a positive duration such as "30s", "5m" or "1h30m", got "30"'],
    ["CHAT_AUTO_POLL_INTERVAL", "0s", 'CHAT_AUTO_POLL_INTERVAL: expected a positive duration such as "30s", "5m" or "1h30m", got "0s"'],
    ["VOD_CATALOG_BACKFILL_INTERVAL", "2d", 'VOD_CATALOG_BACKFILL_INTERVAL: expected a positive duration such as "30s", "5m" or "1h30m", got "2d"'],
    ["DATA_CLEANUP_MAX_AGE", "-5m", 'DATA_CLEANUP_MAX_AGE: expected a duration such as "30s", "5m" or "1h30m" (0 = off), got "-5m"'],
    ["CHAT_AUTO_START", "maybe", 'CHAT_AUTO_START: expected a boolean (1/0, true/false, yes/no, on/off), got "maybe"'],
    ["CHAT_MODE", "sometimes", 'CHAT_MODE: expected one of off, auto, always, got "sometimes"'],
    ["LOG_FORMAT", "xml", 'LOG_FORMAT: expected one of json, text, got "xml"'],
    ["LOG_LEVEL", "verbose", 'LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"'],
    ["YOUTUBE_UPLOAD_PRIVACY", "secret", 'YOUTUBE_UPLOAD_PRIVACY: expected one of private, unlisted, public, got "secret"'],
    ["HTTP_ADDR", "localhost", 'HTTP_ADDR: expected host:port such as "127.0.0.1:8080", ":8080" or "8080", got "localhost"'],
    ["HTTP_ADDR", ":70000", 'HTTP_ADDR: expected host:port such as "127.0.0.1:8080", ":8080" or "8080", got ":70000"'],
    ["TWITCH_HELIX_URL", "ftp://example.com/helix", 'TWITCH_HELIX_URL: expected an http(s) URL, got "ftp://example.com/helix"'],
    ["TWITCH_IRC_URL", "https://irc.example", 'TWITCH_IRC_URL: expected a ws(s) URL, got "https://irc.example"'],
    ["DOWNLOAD_RATE_LIMIT", "fast", 'DOWNLOAD_RATE_LIMIT: expected a rate such as "500K", "2M" or "1.5MB" (bytes per second), got "fast"'],
    ["TWITCH_CHANNEL", "no way", 'TWITCH_CHANNEL: expected a Twitch login (3-25 characters: a-z, 0-9, _), got "no way"'],
    ["TWITCH_CHANNELS", "good_one,ab", 'TWITCH_CHANNELS: "ab" is not a Twitch login (3-25 characters: a-z, 0-9, _)'],
    ["TWITCH_CHANNELS", "dup_one,#DUP_ONE", 'TWITCH_CHANNELS: channel "dup_one" is listed twice'],
  ])("%s=%s", (variable, value, message) => {
    expect(problems({ [variable]: value })).toEqual([message]);
  });

  it("reports every problem at once, each naming its variable", () => {
    const found = problems({
      MAX_CONCURRENT_DOWNLOADS: "abc",
      LOG_FORMAT: "xml",
      CHAT_AUTO_POLL_INTERVAL: "soon",
      TWITCH_CLIENT_ID: "only-half",
      TWITCH_CHANNELS: "fine_one",
    });
    expect(found).toHaveLength(4);
    for (const variable of ["MAX_CONCURRENT_DOWNLOADS", "LOG_FORMAT", "CHAT_AUTO_POLL_INTERVAL", "TWITCH_CLIENT_SECRET"]) {
      expect(found.filter((text) => text.startsWith(`${variable}: `))).toHaveLength(1);
    }
  });

  it("requires credentials that only work in pairs", () => {
    expect(problems({ TWITCH_CLIENT_ID: "x" })).toEqual(["TWITCH_CLIENT_SECRET: required when TWITCH_CLIENT_ID is set (both make up Helix app credentials)"]);
    expect(problems({ TWITCH_OAUTH_TOKEN: "x" })).toEqual(["TWITCH_BOT_USERNAME: required when TWITCH_OAUTH_TOKEN is set (both make up the chat login)"]);
    expect(problems({ YT_CLIENT_SECRET: "x" })).toEqual(["YOUTUBE_CLIENT_ID: required when the other YouTube client credential is set"]);
  });

  it("rejects a restart backoff ceiling below the initial backoff", () => {
    expect(problems({ SUPERVISOR_RESTART_BACKOFF: "2m", SUPERVISOR_RESTART_BACKOFF_MAX: "30s" })).toEqual([
      "SUPERVISOR_RESTART_BACKOFF_MAX: must not be shorter than SUPERVISOR_RESTART_BACKOFF (30s < 2m)",
    ]);
  });

  it("never echoes a secret's value", () => {
    const found = problems({
      DATABASE_URL: "mysql://vod:hunter2-password@db/vod",
      ENCRYPTION_KEY: Buffer.from("sixteen byte key").toString("base64"),
    });
    expect(found).toEqual([
      "DATABASE_URL: expected a postgres:// or postgresql:// URL (value not shown: it may hold a password)",
      "ENCRYPTION_KEY: expected 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits; this decodes to 16 bytes (value not shown)",
    ]);
    expect(found.join("\n")).not.toContain("hunter2");
    expect(found.join("\n")).not.toContain(Buffer.from("sixteen byte key").toString("base64"));
  });
});

describe("envNotes", () => {
  it("points out shadowed variables and Go variables vod-tender does not read", () => {
    expect(envNotes({ TWITCH_CHANNEL: "a_b_c", TWITCH_CHANNELS: "d_e_f", ENABLE_PPROF: "1", DB_DSN: "postgres://x", DATABASE_URL: "postgres://y" })).toEqual([
      "TWITCH_CHANNEL is ignored because TWITCH_CHANNELS is set",
      "DB_DSN is ignored because DATABASE_URL is set",
      "ENABLE_PPROF is not used by vod-tender: not applicable to Node.js",
    ]);
    expect(envNotes({ TWITCH_CHANNELS: "d_e_f" })).toEqual([]);
  });
});
