/**
 * The external programs the pipeline runs: yt-dlp, ffmpeg and ffprobe.
 *
 * Each is taken from an explicit path when one is configured (`YTDLP_PATH`,
 * `FFMPEG_PATH`, `FFPROBE_PATH`), else searched on `PATH`, then run once with its
 * version flag so a broken install is reported at start with a reason instead of
 * failing the first download hours later.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, isAbsolute, resolve } from "node:path";
import { Context, Effect, Layer, Schema } from "effect";
import { execa } from "execa";

/** A program the pipeline depends on. */
export type ToolName = "yt-dlp" | "ffmpeg" | "ffprobe";

/** Every tool, in the order they are reported. */
export const TOOL_NAMES: ReadonlyArray<ToolName> = ["yt-dlp", "ffmpeg", "ffprobe"];

/** A tool that was found and runs. */
export interface ToolLocation {
  readonly name: ToolName;
  /** Absolute path of the executable. */
  readonly path: string;
  /** Version as the tool prints it (`2023.03.04`, `5.1.9-0+deb12u1`). */
  readonly version: string;
}

/** A tool that cannot be used, and why. */
export class ToolMissing extends Schema.TaggedError<ToolMissing>()("ToolMissing", {
  tool: Schema.Literals(["yt-dlp", "ffmpeg", "ffprobe"]),
  reason: Schema.String,
  /** The paths that were tried, in order. */
  searched: Schema.Array(Schema.String),
}) {}

/** Where to look for one tool. */
export interface LocateOptions {
  /** A path (absolute or relative) or a bare name to look up on `searchPath`. */
  readonly explicitPath?: string | undefined;
  /** The `PATH` to search; `process.env.PATH` when omitted. */
  readonly searchPath?: string | undefined;
  /** How long the version check may take. */
  readonly timeoutMs?: number | undefined;
}

const VERSION_ARGS: Record<ToolName, ReadonlyArray<string>> = {
  "yt-dlp": ["--version"],
  ffmpeg: ["-version"],
  ffprobe: ["-version"],
};

const isExecutableFile = (path: string): Promise<boolean> =>
  stat(path)
    .then((info) => info.isFile() && access(path, constants.X_OK).then(() => true))
    .catch(() => false);

const candidates = (name: ToolName, options: LocateOptions): ReadonlyArray<string> => {
  const wanted = options.explicitPath?.trim();
  if (wanted && (wanted.includes("/") || isAbsolute(wanted))) return [resolve(wanted)];
  const searchPath = options.searchPath ?? process.env.PATH ?? "";
  return searchPath
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => resolve(dir, wanted || name));
};

const parseVersion = (name: ToolName, output: string): string => {
  const first = output.split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
  if (name === "yt-dlp") return first;
  return /version\s+(\S+)/.exec(first)?.[1] ?? first;
};

/** Finds one tool and checks that it runs. */
export const locateTool = (name: ToolName, options: LocateOptions = {}): Effect.Effect<ToolLocation, ToolMissing> =>
  Effect.gen(function* () {
    const searched = candidates(name, options);
    const missing = (reason: string) => new ToolMissing({ tool: name, reason, searched: [...searched] });
    if (searched.length === 0) return yield* missing("PATH is empty and no explicit path is configured");
    const found = yield* Effect.promise(async () => {
      for (const path of searched) if (await isExecutableFile(path)) return path;
      return undefined;
    });
    if (found === undefined) {
      return yield* missing(
        options.explicitPath?.includes("/")
          ? `${searched[0]} does not exist or is not an executable file`
          : `${options.explicitPath?.trim() || name} not found on PATH`,
      );
    }
    const run = yield* Effect.promise(() =>
      execa(found, [...VERSION_ARGS[name]], {
        reject: false,
        timeout: options.timeoutMs ?? 15_000,
        stdin: "ignore",
        env: { LC_ALL: "C" },
      }),
    );
    if (run.failed || run.exitCode !== 0) {
      const detail = run.timedOut
        ? "timed out"
        : run.exitCode !== undefined
          ? `exited with code ${run.exitCode}`
          : (run.signal ?? run.shortMessage);
      const stderr = run.stderr.trim().split("\n").slice(-3).join(" | ");
      return yield* missing(`${found} ${VERSION_ARGS[name].join(" ")} ${detail}${stderr ? `: ${stderr}` : ""}`);
    }
    return { name, path: found, version: parseVersion(name, run.stdout) };
  });

/** Configured locations of all tools; each field is a path or a bare name. */
export interface ToolPaths {
  readonly ytdlpPath?: string | undefined;
  readonly ffmpegPath?: string | undefined;
  readonly ffprobePath?: string | undefined;
  /** The `PATH` to search; `process.env.PATH` when omitted. */
  readonly searchPath?: string | undefined;
}

/** What was found for each tool: a location, or the reason it is unusable. */
export type ToolReport = { readonly [K in ToolName]: ToolLocation | ToolMissing };

const explicitFor = (name: ToolName, paths: ToolPaths): string | undefined =>
  name === "yt-dlp" ? paths.ytdlpPath : name === "ffmpeg" ? paths.ffmpegPath : paths.ffprobePath;

/** Locates every tool at once; never fails, so `config check` can print all problems together. */
export const locateTools = (paths: ToolPaths = {}): Effect.Effect<ToolReport> =>
  Effect.all(
    TOOL_NAMES.map((name) =>
      locateTool(name, { explicitPath: explicitFor(name, paths), searchPath: paths.searchPath }).pipe(
        Effect.catch((error: ToolMissing) => Effect.succeed(error)),
      ),
    ),
    { concurrency: "unbounded" },
  ).pipe(Effect.map(([ytdlp, ffmpeg, ffprobe]) => ({ "yt-dlp": ytdlp!, ffmpeg: ffmpeg!, ffprobe: ffprobe! })));

/** Whether a report entry is a usable tool. */
export const isToolLocation = (entry: ToolLocation | ToolMissing): entry is ToolLocation =>
  !(entry instanceof ToolMissing);

/**
 * The located tools of this process. Missing tools do not fail the layer: a
 * runtime that only records chat needs none of them. Ask with `require` where a
 * tool is needed.
 */
export class Tools extends Context.Service<
  Tools,
  {
    readonly report: ToolReport;
    /** The tool's location, or why it cannot be used. */
    readonly require: (name: ToolName) => Effect.Effect<ToolLocation, ToolMissing>;
  }
>()("vod-tender/services/Tools") {
  /** Locates the tools once when the layer is built. */
  static readonly layer = (paths: ToolPaths = {}) =>
    Layer.effect(
      Tools,
      Effect.map(locateTools(paths), (report) =>
        Tools.of({
          report,
          require: (name) => {
            const entry = report[name];
            return isToolLocation(entry) ? Effect.succeed(entry) : Effect.fail(entry);
          },
        }),
      ),
    );
}

