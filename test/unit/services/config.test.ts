import { Effect, Exit, Redacted } from "effect";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppConfig, Config, configWarnings, describeConfig, formatConfig, loadConfig } from "../../../src/services/config.ts";
import type { ConfigError } from "../../../src/services/config-error.ts";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vod-tender-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = async (name: string, ...lines: ReadonlyArray<string>): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
};

const load = (env: Record<string, string | undefined>): Promise<AppConfig> => Effect.runPromise(loadConfig(env));

const failure = async (env: Record<string, string | undefined>): Promise<ConfigError> => {
  const exit = await Effect.runPromiseExit(loadConfig(env));
  if (Exit.isSuccess(exit)) throw new Error("expected the configuration to be rejected");
  const reason = exit.cause.reasons[0];
  if (reason?._tag !== "Fail") throw new Error("expected a typed failure");
  return reason.error;
};

// Distinctive values, so a leak is unmistakable wherever it shows up.
const secrets = {
  TWITCH_CLIENT_SECRET: "leak-twitch-client-secret",
  TWITCH_OAUTH_TOKEN: "oauth:leak-twitch-oauth",
  YOUTUBE_CLIENT_SECRET: "leak-youtube-client-secret",
  YOUTUBE_REFRESH_TOKEN: "leak-youtube-refresh",
  DATABASE_URL: "postgres://vod:leak-db-password@db.internal:5432/vod",
  ADMIN_TOKEN: "leak-admin-token",
  CONTROL_TOKEN: "leak-control-token",
  ENCRYPTION_KEY: randomBytes(32).toString("base64"),
};

describe("loadConfig", () => {
  it("combines environment channels with the channels file; the file wins a clash", async () => {
    const channelsFile = await file(
      "merge.yaml",
      "defaults:",
      "  chat: always",
      "channels:",
      "  - name: shared_one",
      "    paused: true",
      "    upload: { enabled: true }",
      "  - file_only",
    );
    const config = await load({
      TWITCH_CHANNELS: "env_only,shared_one",
      CHAT_AUTO_START: "1",
      YOUTUBE_UPLOAD_PRIVACY: "unlisted",
      CHANNELS_FILE: channelsFile,
    });
    expect(config.channelsFile).toBe(channelsFile);
    expect(config.envChannels).toEqual(["env_only", "shared_one"]);
    expect(config.envChannelDefaults.chat).toBe("auto");
    expect(config.channelDefaults.chat).toBe("always");
    expect(config.channels.map((c) => [c.name, c.source, c.paused, c.settings.chat, c.settings.upload])).toEqual([
      ["env_only", "env", false, "always", { enabled: false, privacy: "unlisted", deleteAfterUpload: true }],
      ["shared_one", "file", true, "always", { enabled: true, privacy: "unlisted", deleteAfterUpload: true }],
      ["file_only", "file", false, "always", { enabled: false, privacy: "unlisted", deleteAfterUpload: true }],
    ]);
  });

  it("without a channels file, runs the environment's channels with its defaults", async () => {
    const config = await load({ TWITCH_CHANNEL: "Solo_One" });
    expect(config.channelsFile).toBeUndefined();
    expect(config.channels).toEqual([{ name: "solo_one", source: "env", paused: false, settings: config.envChannelDefaults }]);
    expect(config.channelDefaults).toEqual(config.envChannelDefaults);
  });

  it("reports environment and channels-file problems together", async () => {
    const channelsFile = await file("broken.yaml", "channels:", "  - name: alpha_one", "    chat: loud", "  - alpha_one");
    const error = await failure({ MAX_CONCURRENT_DOWNLOADS: "abc", LOG_LEVEL: "chatty", CHANNELS_FILE: channelsFile });
    expect(error._tag).toBe("ConfigError");
    expect(error.issues.map((issue) => issue.text)).toEqual([
      'MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "abc"',
      'LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "chatty"',
      `${channelsFile}:3:11: channels[0].chat: expected one of off, auto, always, got "loud"`,
      `${channelsFile}:4:5: channels[1]: channel "alpha_one" is listed twice (first at line 2)`,
    ]);
    expect(error.issues[2]).toMatchObject({ file: channelsFile, line: 3, column: 11 });
    expect(error.issues[0]).toMatchObject({ variable: "MAX_CONCURRENT_DOWNLOADS" });
    expect(error.message.split("\n")).toHaveLength(4);
  });

  it("a CHANNELS_FILE that does not exist is an error naming it", async () => {
    const missing = join(dir, "nope.yaml");
    const error = await failure({ CHANNELS_FILE: missing });
    expect(error.issues.map((issue) => issue.text)).toEqual([`${missing}: cannot read the file: ENOENT`]);
  });

  it("keeps every secret Redacted", async () => {
    const config = await load({ ...secrets, TWITCH_CLIENT_ID: "cid", TWITCH_BOT_USERNAME: "bot_user", YOUTUBE_CLIENT_ID: "ycid" });
    for (const value of [
      config.twitch.clientSecret,
      config.twitch.oauthToken,
      config.youtube.clientSecret,
      config.youtube.refreshToken,
      config.databaseUrl,
      config.security.adminToken,
      config.security.controlToken,
      config.security.encryptionKey,
    ]) {
      expect(Redacted.isRedacted(value)).toBe(true);
    }
    expect(Redacted.value(config.security.adminToken!)).toBe(secrets.ADMIN_TOKEN);
  });
});

describe("formatConfig", () => {
  it("never shows a secret, whatever its kind", async () => {
    const config = await load({ ...secrets, TWITCH_CLIENT_ID: "cid", TWITCH_BOT_USERNAME: "bot_user", YOUTUBE_CLIENT_ID: "ycid" });
    const text = formatConfig(config);
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    expect(text).not.toContain("leak");
    const shown = JSON.parse(text) as ReturnType<typeof describeConfig>;
    expect(shown).toMatchObject({
      database: "<redacted>",
      twitch: { clientId: "cid", clientSecret: "<redacted>", oauthToken: "<redacted>", botUsername: "bot_user" },
      youtube: { clientSecret: "<redacted>", refreshToken: "<redacted>" },
      security: { adminToken: "<redacted>", controlToken: "<redacted>", encryptionKey: "<redacted>" },
    });
  });

  it("shows unset values as <unset>, durations the way they are written, channels flattened", async () => {
    const config = await load({ TWITCH_CHANNELS: "alpha_one", VOD_CATALOG_BACKFILL_INTERVAL: "90m" });
    const shown = JSON.parse(formatConfig(config)) as Record<string, unknown>;
    expect(shown).toMatchObject({
      database: `embedded PostgreSQL in ${config.dataDir}/pg`,
      security: { adminToken: "<unset>", controlToken: "<unset>", encryptionKey: "<unset>" },
      chat: { pollInterval: "30s", reconcileWindow: "15m" },
      supervisor: { restartBackoff: "500ms", shutdownTimeout: "10s" },
      http: { host: "127.0.0.1", port: 8080 },
    });
    expect(shown["channels"]).toEqual([
      {
        name: "alpha_one",
        source: "env",
        paused: false,
        chat: "off",
        catalog: { interval: "1h30m", max: 0, maxAgeDays: 0 },
        download: true,
        upload: { enabled: false, privacy: "private", deleteAfterUpload: true },
        retention: { keepDays: 0, keepCount: 0, dryRun: false },
        priority: 0,
      },
    ]);
    // Internal bookkeeping is not part of the printed configuration.
    expect(shown).not.toHaveProperty("envChannels");
    expect(shown).not.toHaveProperty("databaseUrl");
  });
});

describe("configWarnings", () => {
  it("flags a setup that is valid but probably unintended", async () => {
    const warnings = configWarnings(await load({ HTTP_ADDR: ":8080", YOUTUBE_UPLOAD_ENABLED: "1" }));
    expect(warnings).toEqual([
      "no channels configured: set TWITCH_CHANNELS or CHANNELS_FILE (or add channels at runtime over /control)",
      "TWITCH_CLIENT_ID/TWITCH_CLIENT_SECRET unset: catalog scans, live detection and VOD reconciliation need Helix app credentials",
      "uploads are enabled but YOUTUBE_UPLOAD_OWNERSHIP is unset: declare self or authorized (uploading others' content may breach YouTube's terms)",
      "uploads are enabled but YOUTUBE_CLIENT_ID/YOUTUBE_CLIENT_SECRET are unset",
      "ADMIN_TOKEN unset: the admin API (/admin/*, VOD reprocess/cancel) refuses every request",
      "ENCRYPTION_KEY unset: OAuth tokens are stored in plain text (fine for local use, not for production)",
    ]);
  });

  it("has nothing to say about a complete setup", async () => {
    const config = await load({
      TWITCH_CHANNELS: "alpha_one",
      TWITCH_CLIENT_ID: "cid",
      TWITCH_CLIENT_SECRET: "s",
      ADMIN_TOKEN: "admin-secret",
      ENCRYPTION_KEY: secrets.ENCRYPTION_KEY,
    });
    expect(configWarnings(config)).toEqual([]);
  });
});

describe("Config service", () => {
  const current = Effect.gen(function* () {
    return yield* Config;
  });

  it("layerFromRecord provides the decoded configuration", async () => {
    const program = Effect.gen(function* () {
      const config = yield* Config;
      return config.channels.map((c) => c.name);
    });
    const names = await Effect.runPromise(program.pipe(Effect.provide(Config.layerFromRecord({ TWITCH_CHANNELS: "alpha_one,beta_one" }))));
    expect(names).toEqual(["alpha_one", "beta_one"]);
  });

  it("layerFromRecord fails with the ConfigError when the environment is invalid", async () => {
    const exit = await Effect.runPromiseExit(Effect.provide(current, Config.layerFromRecord({ SHUTDOWN_TIMEOUT: "soon" })));
    expect(Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({ _tag: "Fail", error: { _tag: "ConfigError" } });
  });

  it("layer provides a hand-built configuration as is", async () => {
    const base = await load({});
    const custom: AppConfig = { ...base, download: { ...base.download, maxConcurrent: 4 } };
    const seen = await Effect.runPromise(Effect.provide(current, Config.layer(custom)));
    expect(seen).toBe(custom);
  });

  it("layerFromEnv reads process.env when the layer is built", async () => {
    const previous = process.env["TWITCH_CHANNELS"];
    process.env["TWITCH_CHANNELS"] = "from_process_env";
    try {
      const seen = await Effect.runPromise(Effect.provide(current, Config.layerFromEnv));
      expect(seen.envChannels).toEqual(["from_process_env"]);
    } finally {
      if (previous === undefined) delete process.env["TWITCH_CHANNELS"];
      else process.env["TWITCH_CHANNELS"] = previous;
    }
  });
});
