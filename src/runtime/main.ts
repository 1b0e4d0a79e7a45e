/**
 * The `vod-tender` command line: dispatches to one subcommand, each loaded on
 * demand so `ctl` and `config check` start fast.
 */
import { readFileSync } from "node:fs";

const usage = `vod-tender — archive Twitch channels: VODs, uploads and chat

Usage:
  vod-tender start [--inspect]        run the archiver (HTTP, /control, supervisor)
  vod-tender demo                     simulator + archiver with three demo channels
  vod-tender sim --scenario FILE      run the Twitch/YouTube simulator alone
  vod-tender ctl <command> [--json]   talk to a running archiver over /control
  vod-tender migrate                  apply database migrations and exit
  vod-tender config check             validate the configuration and print it (secrets masked)
  vod-tender --version | --help

Configuration comes from the environment (docs/configuration.md).`;

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
};

const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return (await import("./start.ts")).runStart(rest);
    case "demo":
      return (await import("./demo.ts")).runDemo(rest);
    case "sim":
      return (await import("../sim/cli.ts")).runSim(rest);
    case "ctl":
      return (await import("./ctl.ts")).runCtl(rest);
    case "migrate":
      return (await import("./migrate.ts")).runMigrate(rest);
    case "config":
      if (rest[0] === "check") return (await import("./config-check.ts")).runConfigCheck(process.env);
      process.stderr.write(`unknown config subcommand "${rest[0] ?? ""}"; try: vod-tender config check\n`);
      return 2;
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case "--help":
    case "-h":
    case "help":
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${usage}\n`);
      return 2;
  }
};

const code = await run(process.argv.slice(2));
process.exitCode = code;
// A command resolves only once it has shut down; a leftover handle (a half-closed
// socket, a library timer) must not keep a finished process alive.
setTimeout(() => process.exit(code), 200).unref();
