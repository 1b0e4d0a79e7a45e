/**
 * `vod-tender config check`: validates the environment and the channels file,
 * prints the effective configuration (secrets masked) and the external tools it
 * found, and exits 0 when the configuration is usable, 2 when it is not.
 */
import { Cause, Effect, Exit } from "effect";
import { type AppConfig, configWarnings, formatConfig, loadConfig } from "../services/config.ts";
import { envNotes } from "../services/config-env.ts";
import { isToolLocation, locateTools, TOOL_NAMES } from "../services/tools.ts";

/** Where `config check` writes; the process streams unless a test captures them. */
export interface ConfigCheckOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processOutput: ConfigCheckOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit code for a configuration that cannot be used. */
export const invalidConfigExitCode = 2;

const toolLines = (config: AppConfig) =>
  locateTools({ ytdlpPath: config.tools.ytdlp, ffmpegPath: config.tools.ffmpeg, ffprobePath: config.tools.ffprobe }).pipe(
    Effect.map((report) =>
      TOOL_NAMES.map((name) => {
        const entry = report[name];
        return isToolLocation(entry)
          ? { ok: true, text: `${name}: ${entry.path} (${entry.version})` }
          : { ok: false, text: `${name}: not usable: ${entry.reason}` };
      }),
    ),
  );

/**
 * Runs the check against `env` and returns the exit code: 0 valid (warnings
 * allowed), 2 invalid. The configuration goes to stdout as JSON; problems,
 * warnings and notes go to stderr, one per line.
 */
export const runConfigCheck = async (
  env: Record<string, string | undefined>,
  output: ConfigCheckOutput = processOutput,
): Promise<number> => {
  const exit = await Effect.runPromiseExit(loadConfig(env));
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause);
    if (error._tag === "None") {
      output.stderr(`config check failed unexpectedly:\n${Cause.pretty(exit.cause)}\n`);
      return 1;
    }
    const issues = error.value.issues;
    output.stderr(
      `configuration is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${issues.map((issue) => `  - ${issue.text}\n`).join("")}`,
    );
    return invalidConfigExitCode;
  }
  const config = exit.value;
  output.stdout(`${formatConfig(config)}\n`);
  const tools = await Effect.runPromise(toolLines(config));
  const downloading = [config.channelDefaults, ...config.channels.map((channel) => channel.settings)].some((settings) => settings.download);
  const warnings = [
    ...configWarnings(config),
    ...envNotes(env),
    ...(downloading ? tools.filter((tool) => !tool.ok).map((tool) => tool.text) : []),
  ];
  output.stderr(tools.map((tool) => `tool ${tool.text}\n`).join(""));
  output.stderr(warnings.map((warning) => `warning: ${warning}\n`).join(""));
  output.stderr(`configuration is valid: ${config.channels.length} channel${config.channels.length === 1 ? "" : "s"}\n`);
  return 0;
};
