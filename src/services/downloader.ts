/**
 * Downloads a VOD with yt-dlp.
 *
 * yt-dlp runs through execa with an argument array (never a shell), in its own
 * process group so that stopping a download also stops the ffmpeg it may have
 * started. Progress comes from stdout, one JSON object per update
 * ({@link PROGRESS_TEMPLATE}). Interrupting the effect sends SIGTERM to the group,
 * then SIGKILL after a grace period, and returns only once yt-dlp has exited;
 * the `.part` file and yt-dlp's `.ytdl` fragment state stay on disk (checked and
 * repaired, see `ytdlp-resume.ts`), so the next run with the same output path
 * resumes where this one stopped.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Context, Effect, Layer, Schema } from "effect";
import { execa } from "execa";
import { classifyYtdlpFailure, DOWNLOAD_FAILURE_REASONS } from "./ytdlp-failure.ts";
import { type DownloadProgress, OutputLines, PROGRESS_TEMPLATE, parseProgressLine } from "./ytdlp-progress.ts";
import { discardUnreadableResume, FragmentLedger, readResumeState, repairResumeState } from "./ytdlp-resume.ts";

/** How yt-dlp is run; every field has a default. */
export interface DownloaderOptions {
  /** yt-dlp executable; `yt-dlp` on PATH when omitted. */
  readonly ytdlpPath?: string | undefined;
  /** ffmpeg executable or folder, passed as `--ffmpeg-location` (yt-dlp remuxes HLS with it). */
  readonly ffmpegPath?: string | undefined;
  /** `--limit-rate`, e.g. `2M` or `500K`. */
  readonly rateLimit?: string | undefined;
  /**
   * Fragments fetched in parallel (`--concurrent-fragments`). 1 by default: with
   * one, yt-dlp appends fragments to the `.part` file in order and resumes from
   * its `.ytdl` index; with more, progress and resume are coarser.
   */
  readonly concurrentFragments?: number | undefined;
  /** yt-dlp's own retries for the manifest and for each fragment before it gives up. */
  readonly retries?: number | undefined;
  /** `--socket-timeout` in seconds. */
  readonly socketTimeoutSeconds?: number | undefined;
  /** Extra arguments placed before the output and URL (`YTDLP_ARGS`). */
  readonly extraArgs?: ReadonlyArray<string> | undefined;
  /** Time between SIGTERM and SIGKILL when a download is stopped. */
  readonly killGraceMs?: number | undefined;
  /** Lines of output kept for error messages. */
  readonly tailLines?: number | undefined;
}

/** One download to run. */
export interface DownloadRequest {
  /** What yt-dlp should fetch: a Twitch VOD page or an HLS playlist. */
  readonly url: string;
  /** The final file (see `vod-path.ts`); its folder is created when missing. */
  readonly outputPath: string;
  /** Called on every progress update; keep it cheap (throttle database writes on the caller's side). */
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
}

/** A finished download. */
export interface DownloadResult {
  readonly path: string;
  readonly sizeBytes: number;
  /** Bytes already in the `.part` file when this run started (0 for a fresh download). */
  readonly resumedFromBytes: number;
  /** yt-dlp found the final file already there and downloaded nothing. */
  readonly alreadyComplete: boolean;
  readonly elapsedMs: number;
  /** The last progress update seen, if any. */
  readonly lastProgress: DownloadProgress | undefined;
}

/**
 * A download that did not finish. `retryable` says whether trying the same VOD
 * again can help; `reason` says why (see {@link classifyYtdlpFailure}).
 */
export class DownloadError extends Schema.TaggedError<DownloadError>()("DownloadError", {
  reason: Schema.Literals(DOWNLOAD_FAILURE_REASONS),
  retryable: Schema.Boolean,
  message: Schema.String,
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  /** Last lines yt-dlp printed (progress lines excluded), secrets redacted. */
  outputTail: Schema.Array(Schema.String),
}) {}

const RATE = /^\d+(\.\d+)?[KMGT]?$/i;
const REDACT = [/(cookie:\s*)\S.*/gi, /(auth-token=)[^;\s&]+/gi, /(authorization:\s*)\S.*/gi, /(access_token=)[^&\s]+/gi];

const redact = (line: string): string => REDACT.reduce((acc, pattern) => acc.replace(pattern, "$1<redacted>"), line);

/** yt-dlp reads `%` in `-o` as a template field; a literal path must double it. */
export const escapeOutputTemplate = (path: string): string => path.replaceAll("%", "%%");

/** The yt-dlp argument list for one download; exported so the exact command can be logged and tested. */
export const ytdlpArgs = (request: Pick<DownloadRequest, "url" | "outputPath">, options: DownloaderOptions = {}) => {
  const args: Array<string> = [
    "--ignore-config",
    "--no-cache-dir",
    "--no-playlist",
    "--newline",
    "--progress-template",
    PROGRESS_TEMPLATE,
    "--continue",
    // The resume bookkeeping (ytdlp-resume.ts) assumes yt-dlp's own HLS fragment downloader.
    "--downloader",
    "m3u8:native",
    "--no-mtime",
    // Skipping a missing fragment would leave a silent hole in the archive.
    "--abort-on-unavailable-fragments",
    "--retries",
    String(options.retries ?? 10),
    "--fragment-retries",
    String(options.retries ?? 10),
    "--concurrent-fragments",
    String(Math.max(1, Math.floor(options.concurrentFragments ?? 1))),
  ];
  if (options.socketTimeoutSeconds !== undefined) args.push("--socket-timeout", String(options.socketTimeoutSeconds));
  if (options.ffmpegPath) args.push("--ffmpeg-location", options.ffmpegPath);
  if (options.rateLimit !== undefined && RATE.test(options.rateLimit)) args.push("--limit-rate", options.rateLimit);
  args.push(...(options.extraArgs ?? []));
  args.push("-o", escapeOutputTemplate(resolve(request.outputPath)), "--", request.url);
  return args;
};

const fileSize = (path: string): Promise<number | undefined> =>
  stat(path).then(
    (info) => info.size,
    () => undefined,
  );

// Process groups still running, killed if this process exits without closing
// its scopes (a crash); a detached group would otherwise outlive it.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
const trackGroup = (pid: number) => {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const group of liveGroups) signalGroup(group, "SIGKILL");
    });
  }
  liveGroups.add(pid);
};

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
};

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** SIGTERM to the whole group, SIGKILL after the grace period; completes once the leader has exited. */
const stopGroup = (child: ChildProcess, graceMs: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const pid = child.pid;
    if (pid === undefined) return resume(Effect.void);
    const finish = () => {
      clearTimeout(timer);
      // Stragglers (an ffmpeg that ignored SIGTERM) die with the group.
      signalGroup(pid, "SIGKILL");
      liveGroups.delete(pid);
      resume(Effect.void);
    };
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
    if (hasExited(child)) return finish();
    child.once("exit", finish);
    signalGroup(pid, "SIGTERM");
  });

/** Runs one download; see the module comment for interruption and resume. */
export const runDownload = (
  request: DownloadRequest,
  options: DownloaderOptions = {},
): Effect.Effect<DownloadResult, DownloadError> =>
  Effect.gen(function* () {
    const outputPath = resolve(request.outputPath);
    const startedAt = Date.now();
    const start = yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dirname(outputPath), { recursive: true });
        await discardUnreadableResume(outputPath);
        return readResumeState(outputPath);
      },
      catch: (cause) =>
        new DownloadError({
          reason: "disk",
          retryable: true,
          message: `cannot prepare ${dirname(outputPath)}: ${String(cause)}`,
          exitCode: null,
          signal: null,
          outputTail: [],
        }),
    });
    const resumedFromBytes = start.partBytes;
    // Fragment boundaries are only in order with one fragment at a time.
    const ledger = (options.concurrentFragments ?? 1) <= 1 ? new FragmentLedger(start) : undefined;
    const repair = Effect.promise(() =>
      ledger === undefined ? Promise.resolve() : repairResumeState(outputPath, ledger).then(() => undefined, () => undefined),
    );
    const finishedLine = `[download] ${outputPath} has already been downloaded`;
    const tailLimit = options.tailLines ?? 100;
    const tail: Array<string> = [];
    const remember = (line: string) => {
      tail.push(redact(line));
      if (tail.length > tailLimit) tail.shift();
    };
    let lastProgress: DownloadProgress | undefined;
    let alreadyComplete = false;

    const run = yield* Effect.callback<
      { exitCode: number | undefined; signal: string | undefined; spawnError: string | undefined },
      never
    >((resume) => {
      const child = execa(options.ytdlpPath ?? "yt-dlp", ytdlpArgs(request, options), {
        buffer: false,
        reject: false,
        stdin: "ignore",
        detached: true,
        env: { PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8", LC_ALL: "C.UTF-8" },
      });
      if (child.pid !== undefined) trackGroup(child.pid);
      const stdoutLines = new OutputLines();
      const stderrLines = new OutputLines();
      const onStdoutLine = (line: string) => {
        const progress = parseProgressLine(line);
        if (progress === undefined) {
          if (line === finishedLine || line === "[download] The file has already been downloaded") alreadyComplete = true;
          remember(line);
          return;
        }
        lastProgress = progress;
        ledger?.observe(progress);
        try {
          request.onProgress?.(progress);
        } catch {
          // A failing observer must not break the download.
        }
      };
      child.stdout?.on("data", (chunk: Buffer) => stdoutLines.push(chunk).forEach(onStdoutLine));
      child.stderr?.on("data", (chunk: Buffer) => stderrLines.push(chunk).forEach(remember));
      void child.then((result) => {
        stdoutLines.flush().forEach(onStdoutLine);
        stderrLines.flush().forEach(remember);
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        const spawnFailed = result.failed && result.exitCode === undefined && result.signal === undefined;
        resume(
          Effect.succeed({
            exitCode: result.exitCode,
            signal: result.signal,
            spawnError: spawnFailed ? (result.originalMessage ?? result.shortMessage ?? "spawn failed") : undefined,
          }),
        );
      });
      return Effect.andThen(stopGroup(child, options.killGraceMs ?? 5_000), repair);
    });

    const failure = (fields: Omit<ConstructorParameters<typeof DownloadError>[0], "outputTail" | "exitCode" | "signal">) =>
      new DownloadError({
        ...fields,
        exitCode: run.exitCode ?? null,
        signal: run.signal ?? null,
        outputTail: [...tail],
      });

    if (run.exitCode !== 0) yield* repair;
    if (run.spawnError !== undefined) {
      return yield* failure({ reason: "tool-missing", retryable: true, message: run.spawnError });
    }
    if (run.signal !== undefined) {
      return yield* failure({ reason: "killed", retryable: true, message: `yt-dlp was killed by ${run.signal}` });
    }
    if (run.exitCode !== 0) {
      const classified = classifyYtdlpFailure(tail);
      return yield* failure({ reason: classified.reason, retryable: classified.retryable, message: classified.message });
    }
    const sizeBytes = yield* Effect.promise(() => fileSize(outputPath));
    if (sizeBytes === undefined) {
      return yield* failure({
        reason: "unknown",
        retryable: true,
        message: `yt-dlp exited successfully but ${outputPath} does not exist`,
      });
    }
    return {
      path: outputPath,
      sizeBytes,
      resumedFromBytes,
      alreadyComplete,
      elapsedMs: Date.now() - startedAt,
      lastProgress,
    };
  });

/** yt-dlp downloads as a service, so actors depend on the interface and tests can swap it. */
export class Downloader extends Context.Service<
  Downloader,
  {
    readonly download: (request: DownloadRequest) => Effect.Effect<DownloadResult, DownloadError>;
  }
>()("vod-tender/services/Downloader") {
  /** A downloader running yt-dlp with the given options. */
  static readonly layer = (options: DownloaderOptions = {}) =>
    Layer.succeed(Downloader, Downloader.of({ download: (request) => runDownload(request, options) }));
}
