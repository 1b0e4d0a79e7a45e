/**
 * `vod-tender demo`: the simulator with three channels (one live with chat, VODs
 * on all) and the archiver pointed at it, on the embedded database. Prints the
 * console URL and token, then runs until SIGINT or SIGTERM like `start`.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../sim/simulator.ts";
import type { Simulator } from "../sim/simulator.ts";
import { loadConfigOrReport } from "./load-config-or-report.ts";
import { parseInspectFlag } from "./inspect-flag.ts";
import { serveUntilSignal } from "./serve-until-signal.ts";

/** The scenario the demo plays. */
export const demoScenarioPath = fileURLToPath(new URL("../../scenarios/demo.yaml", import.meta.url));

/**
 * The environment the archiver runs with in the demo: the operator's own
 * variables (HTTP_ADDR, DATA_DIR, LOG_LEVEL...) over demo defaults, with every
 * Twitch and YouTube endpoint pointing at the simulator.
 */
export const demoEnvironment = (sim: Simulator, env: Record<string, string | undefined>): Record<string, string | undefined> => {
  const channels = sim.state().channels.map((channel) => channel.login);
  return {
    CHAT_MODE: "auto",
    CHAT_AUTO_POLL_INTERVAL: "5s",
    VOD_PROCESS_INTERVAL: "10s",
    MAX_CONCURRENT_DOWNLOADS: "2",
    YOUTUBE_UPLOAD_ENABLED: "true",
    YOUTUBE_UPLOAD_OWNERSHIP: "self",
    YOUTUBE_DELETE_AFTER_UPLOAD: "false",
    LOG_FORMAT: "text",
    ...env,
    DATA_DIR: env["DATA_DIR"] ?? "./data/demo",
    DATABASE_URL: env["DATABASE_URL"],
    TWITCH_CHANNELS: channels.join(","),
    TWITCH_CHANNEL: undefined,
    CHANNELS_FILE: env["CHANNELS_FILE"],
    TWITCH_CLIENT_ID: sim.clientId,
    TWITCH_CLIENT_SECRET: sim.clientSecret,
    TWITCH_HELIX_URL: sim.urls.helix,
    TWITCH_OAUTH_URL: sim.urls.oauth,
    TWITCH_IRC_URL: sim.urls.ircWs,
    TWITCH_BOT_USERNAME: undefined,
    TWITCH_OAUTH_TOKEN: undefined,
    YOUTUBE_CLIENT_ID: sim.google.clientId,
    YOUTUBE_CLIENT_SECRET: sim.google.clientSecret,
    YOUTUBE_REFRESH_TOKEN: sim.google.refreshToken,
    YOUTUBE_API_URL: sim.urls.youtubeApi,
    YOUTUBE_UPLOAD_URL: sim.urls.youtubeUpload,
    GOOGLE_OAUTH_URL: sim.urls.googleOAuth,
  };
};

/** Runs the command; resolves with the exit code once shut down. */
export const runDemo = async (argv: ReadonlyArray<string>): Promise<number> => {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      "Usage: vod-tender demo\n\nRuns the Twitch/YouTube simulator with three channels and vod-tender against it.\n" +
        "Honours HTTP_ADDR (default 127.0.0.1:8080) and DATA_DIR (default ./data/demo).\n",
    );
    return 0;
  }
  let inspectPort: number | undefined;
  try {
    inspectPort = parseInspectFlag(argv);
  } catch (error) {
    process.stderr.write(`vod-tender demo: ${(error as Error).message}\n`);
    return 2;
  }
  const dataDir = resolve(process.env["DATA_DIR"] ?? "./data/demo");
  const sim = await startSimulator({ scenario: demoScenarioPath, cacheDir: join(dataDir, "sim-cache"), uploadDir: null });
  try {
    const config = await loadConfigOrReport(demoEnvironment(sim, process.env));
    if (config === 2) return 2;
    return await serveUntilSignal("vod-tender demo", config, {
      inspectPort,
      onReady: async (server) => {
        const token = await readControlToken(config.dataDir, process.env["CONTROL_TOKEN"]);
        process.stdout.write(
          [
            "",
            "vod-tender demo is running against the simulator",
            `  console      ${server.url}/`,
            `  token        ${token ?? "(see CONTROL_TOKEN)"}`,
            `  metrics      ${server.url}/metrics`,
            `  channels     ${sim.state().channels.map((c) => `${c.login}${c.live !== null ? " (live)" : ""}`).join(", ")}`,
            `  data         ${config.dataDir}`,
            `  try          DATA_DIR=${config.dataDir} npx vod-tender ctl channels list`,
            "Press Ctrl-C to stop.",
            "",
          ].join("\n"),
        );
      },
    });
  } finally {
    await sim.stop();
  }
};

const readControlToken = async (dataDir: string, fromEnv: string | undefined): Promise<string | undefined> => {
  if (fromEnv) return fromEnv;
  try {
    return (await readFile(join(dataDir, "control-token"), "utf8")).trim();
  } catch {
    return undefined;
  }
};
