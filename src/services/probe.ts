/**
 * ffprobe: what a downloaded file actually holds (length, streams), so a VOD is
 * only called done when the file plays for about as long as Twitch says.
 */
import { Context, Effect, Layer, Schema } from "effect";
import { execa } from "execa";

/** One stream of a media file. */
export interface ProbeStream {
  readonly index: number;
  /** `video`, `audio`, `subtitle`, `data`... as ffprobe names it. */
  readonly type: string;
  readonly codec: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** Frames per second of a video stream. */
  readonly frameRate: number | undefined;
  readonly sampleRate: number | undefined;
  readonly channels: number | undefined;
  readonly durationSeconds: number | undefined;
}

/** Summary of a media file. */
export interface ProbeResult {
  readonly path: string;
  /** ffprobe's container names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  readonly formatName: string;
  readonly durationSeconds: number | undefined;
  readonly sizeBytes: number | undefined;
  readonly bitRate: number | undefined;
  readonly streams: ReadonlyArray<ProbeStream>;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
}

/**
 * ffprobe could not read the file: it does not exist (`missing`), is not a
 * readable media file (`invalid`), ffprobe did not run or answer sensibly
 * (`failed`), or took longer than allowed (`timeout`).
 */
export class ProbeError extends Schema.TaggedError<ProbeError>()("ProbeError", {
  path: Schema.String,
  reason: Schema.Literals(["missing", "invalid", "failed", "timeout"]),
  message: Schema.String,
}) {}

/** The file's length is further from the expected length than the tolerance allows. */
export class DurationMismatch extends Schema.TaggedError<DurationMismatch>()("DurationMismatch", {
  expectedSeconds: Schema.Number,
  actualSeconds: Schema.NullOr(Schema.Number),
  toleranceSeconds: Schema.Number,
}) {}

// ffprobe prints numbers as strings in most places ("40.000000", "138366").
const NumericText = Schema.Union([Schema.String, Schema.Number]);

const FfprobeOutput = Schema.Struct({
  streams: Schema.optional(
    Schema.Array(
      Schema.Struct({
        index: Schema.Number,
        codec_type: Schema.optional(Schema.String),
        codec_name: Schema.optional(Schema.String),
        width: Schema.optional(Schema.Number),
        height: Schema.optional(Schema.Number),
        avg_frame_rate: Schema.optional(Schema.String),
        sample_rate: Schema.optional(NumericText),
        channels: Schema.optional(Schema.Number),
        duration: Schema.optional(NumericText),
      }),
    ),
  ),
  format: Schema.optional(
    Schema.Struct({
      format_name: Schema.optional(Schema.String),
      duration: Schema.optional(NumericText),
      size: Schema.optional(NumericText),
      bit_rate: Schema.optional(NumericText),
    }),
  ),
});

const decodeOutput = Schema.decodeUnknownEffect(FfprobeOutput);

const toNumber = (value: string | number | undefined): number | undefined => {
  if (value === undefined || value === "N/A") return undefined;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : undefined;
};

const frameRate = (ratio: string | undefined): number | undefined => {
  if (ratio === undefined) return undefined;
  const [num, den] = ratio.split("/").map(Number);
  return num !== undefined && den !== undefined && den > 0 && Number.isFinite(num) ? num / den : undefined;
};

/** How to run ffprobe. */
export interface ProbeOptions {
  /** ffprobe executable; `ffprobe` on PATH when omitted. */
  readonly ffprobePath?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

const lastLines = (text: string): string => text.trim().split("\n").slice(-3).join(" | ");

/** Runs ffprobe on `path` and summarises its container and streams. Interruption kills ffprobe. */
export const probeFile = (path: string, options: ProbeOptions = {}): Effect.Effect<ProbeResult, ProbeError> =>
  Effect.gen(function* () {
    const run = yield* Effect.tryPromise({
      try: (signal) =>
        execa(
          options.ffprobePath ?? "ffprobe",
          ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", path],
          { reject: false, timeout: options.timeoutMs ?? 60_000, cancelSignal: signal, stdin: "ignore" },
        ),
      catch: (cause) => new ProbeError({ path, reason: "failed", message: String(cause) }),
    });
    if (run.timedOut) return yield* new ProbeError({ path, reason: "timeout", message: "ffprobe timed out" });
    if (run.failed) {
      const stderr = lastLines(run.stderr);
      const reason = /No such file or directory/i.test(stderr)
        ? "missing"
        : run.exitCode === undefined
          ? "failed"
          : "invalid";
      return yield* new ProbeError({ path, reason, message: stderr || (run.shortMessage ?? "ffprobe failed") });
    }
    const json = yield* Effect.try({
      try: () => JSON.parse(run.stdout) as unknown,
      catch: () => new ProbeError({ path, reason: "failed", message: "ffprobe printed no JSON" }),
    });
    const output = yield* decodeOutput(json).pipe(
      Effect.mapError((issue) => new ProbeError({ path, reason: "failed", message: issue.message })),
    );
    const streams: ReadonlyArray<ProbeStream> = (output.streams ?? []).map((s) => ({
      index: s.index,
      type: s.codec_type ?? "unknown",
      codec: s.codec_name,
      width: s.width,
      height: s.height,
      frameRate: s.codec_type === "video" ? frameRate(s.avg_frame_rate) : undefined,
      sampleRate: toNumber(s.sample_rate),
      channels: s.channels,
      durationSeconds: toNumber(s.duration),
    }));
    const format = output.format ?? {};
    const streamDurations = streams.flatMap((s) => (s.durationSeconds === undefined ? [] : [s.durationSeconds]));
    return {
      path,
      formatName: format.format_name ?? "unknown",
      durationSeconds:
        toNumber(format.duration) ?? (streamDurations.length > 0 ? Math.max(...streamDurations) : undefined),
      sizeBytes: toNumber(format.size),
      bitRate: toNumber(format.bit_rate),
      streams,
      hasVideo: streams.some((s) => s.type === "video"),
      hasAudio: streams.some((s) => s.type === "audio"),
    };
  });

/** How far a file's length may be from the expected one: whichever of the two bounds is wider. */
export interface DurationTolerance {
  /** Absolute slack in seconds. */
  readonly seconds: number;
  /** Slack as a fraction of the expected length (0.01 = 1%). */
  readonly fraction?: number;
}

/**
 * Succeeds when `actualSeconds` is within the tolerance of `expectedSeconds`.
 * An unknown actual length (ffprobe found none) is a mismatch.
 */
export const verifyDuration = (
  expectedSeconds: number,
  actualSeconds: number | undefined,
  tolerance: number | DurationTolerance,
): Effect.Effect<void, DurationMismatch> => {
  const bounds = typeof tolerance === "number" ? { seconds: tolerance } : tolerance;
  const toleranceSeconds = Math.max(bounds.seconds, (bounds.fraction ?? 0) * expectedSeconds);
  return actualSeconds !== undefined && Math.abs(actualSeconds - expectedSeconds) <= toleranceSeconds
    ? Effect.void
    : Effect.fail(new DurationMismatch({ expectedSeconds, actualSeconds: actualSeconds ?? null, toleranceSeconds }));
};

/** ffprobe as a service, so actors depend on the interface and tests can swap it. */
export class Probe extends Context.Service<
  Probe,
  {
    readonly probe: (path: string) => Effect.Effect<ProbeResult, ProbeError>;
  }
>()("vod-tender/services/Probe") {
  /** A probe running the given ffprobe. */
  static readonly layer = (options: ProbeOptions = {}) =>
    Layer.succeed(Probe, Probe.of({ probe: (path) => probeFile(path, options) }));
}
