import { parseArgs } from "node:util";
import { InputError } from "./input-reader.ts";
import { startSimulator, type Simulator } from "./simulator.ts";

const usage = `Usage: vod-tender sim --scenario FILE [options]

Runs the Twitch/YouTube simulator until interrupted (Ctrl-C or SIGTERM).

Options:
  --scenario FILE    scenario (YAML or JSON); see docs/simulator.md
  --port N           HTTP port for Helix, OAuth, HLS, YouTube, admin and IRC over WebSocket (default: free port)
  --irc-port N       plain-TCP IRC port (default: free port)
  --host ADDR        interface to listen on (default 127.0.0.1)
  --cache-dir DIR    where generated video segments are kept (default $TMPDIR/vod-tender-sim)
  --json             print the URLs and credentials as one JSON object
  -h, --help         show this help
`;

const describe = (sim: Simulator): string => {
  const u = sim.urls;
  const rows: [string, string][] = [
    ["Helix", u.helix],
    ["Twitch OAuth", u.oauth],
    ["IRC (WebSocket)", u.ircWs],
    ["IRC (TCP)", u.ircTcp],
    ["VOD playlists", `${u.base}/vods/<id>/index.m3u8`],
    ["YouTube API", u.youtubeApi],
    ["YouTube upload", u.youtubeUpload],
    ["Google token", u.googleToken],
    ["Admin API", u.admin],
    ["Twitch client id", sim.clientId],
    ["Twitch client secret", sim.clientSecret],
    ["Google client id", sim.google.clientId],
    ["Google client secret", sim.google.clientSecret],
    ["Google refresh token", sim.google.refreshToken],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const channels = sim.state().channels.map((c) => `${c.login}${c.live !== null ? " (live)" : ""}: ${c.vods} VOD${c.vods === 1 ? "" : "s"}`);
  return [
    "vod-tender simulator is running",
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    `  ${"Channels".padEnd(width)}  ${channels.join(", ")}`,
    "",
    "tmi.js: new tmi.Client({ connection: " + JSON.stringify(sim.tmi) + " })",
    "Press Ctrl-C to stop.",
  ].join("\n");
};

const port = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
};

/**
 * `vod-tender sim`: starts the simulator from a scenario file, prints where everything
 * is and the client credentials, and runs until SIGINT or SIGTERM. Resolves to the exit
 * code (0 after a clean stop, 2 for bad arguments or an invalid scenario).
 */
export const runSim = async (argv: string[]): Promise<number> => {
  let args: ReturnType<typeof parseSimArgs>;
  try {
    args = parseSimArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (args.scenario === undefined) {
    process.stderr.write(`--scenario is required\n\n${usage}`);
    return 2;
  }
  let sim: Simulator;
  try {
    sim = await startSimulator({
      scenario: args.scenario,
      ...(args.port !== undefined ? { port: args.port } : {}),
      ...(args.ircPort !== undefined ? { ircTcpPort: args.ircPort } : {}),
      ...(args.host !== undefined ? { host: args.host } : {}),
      ...(args.cacheDir !== undefined ? { cacheDir: args.cacheDir } : {}),
    });
  } catch (e) {
    process.stderr.write(`${e instanceof InputError ? e.message : `Could not start the simulator: ${(e as Error).message}`}\n`);
    return 2;
  }
  process.stdout.write(
    args.json
      ? `${JSON.stringify({ urls: sim.urls, clientId: sim.clientId, clientSecret: sim.clientSecret, google: sim.google, tmi: sim.tmi })}\n`
      : `${describe(sim)}\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(s);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
  if (!args.json) process.stdout.write(`\n${signal}: stopping the simulator\n`);
  await sim.stop();
  return 0;
};

const parseSimArgs = (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string" },
      port: { type: "string" },
      "irc-port": { type: "string" },
      host: { type: "string" },
      "cache-dir": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  return {
    scenario: values.scenario,
    port: port(values.port, "--port"),
    ircPort: port(values["irc-port"], "--irc-port"),
    host: values.host,
    cacheDir: values["cache-dir"],
    json: values.json === true,
    help: values.help === true,
  };
};
