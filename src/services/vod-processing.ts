/**
 * The processor's work on one VOD, stage by stage, as the download machine
 * runs them: claim → prepare → download → verify → upload → finish.
 *
 * - claim: the channel's next workable VOD (`vods-claim.ts`), and whether it
 *   is to be uploaded (settings, credentials, skip flag, daily cap).
 * - prepare: refreshes the VOD from Helix when possible (a VOD deleted on
 *   Twitch fails permanently here) and fixes its file path
 *   (`$DATA_DIR/vods/<channel>/<date>_<id>_<title>.<ext>`) the first time, so
 *   a later title change cannot orphan a partial file.
 * - download: yt-dlp with progress: every update goes to the caller (the
 *   actor publishes it) and to metrics; the database gets the latest at most
 *   once per `progressWriteIntervalMs`. An interrupted download leaves its
 *   partial file, and the next run resumes it.
 * - verify: ffprobe must read the file and its length must match Helix's
 *   within the tolerance; then its SHA-256 and size are stored and the VOD is
 *   processed unless an upload is due. A file that fails is deleted so the
 *   retry downloads it again.
 * - upload: YouTube resumable upload, its session kept on the row so a
 *   restart resumes it; the local file is deleted afterwards when the channel
 *   asks for it and YouTube holds every byte.
 * - finish: the claim ends; failures that may pass wait `retryCooldownMs`.
 *
 * Every stage fails with `VodWorkError` carrying `retryable`, and records the
 * failure on the row itself (retries counted, permanent failures marked).
 */
import { rm, stat } from "node:fs/promises";
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect";
import type { SqlError } from "effect/sql/SqlError";
import type { ChannelSettings, UploadPrivacy, UploadSettings } from "./channel-settings.ts";
import type { AppConfig } from "./config.ts";
import { fileChecksum } from "./checksum.ts";
import { Downloader } from "./downloader.ts";
import { Helix } from "./helix.ts";
import { Metrics } from "./metrics.ts";
import { Probe, verifyDuration } from "./probe.ts";
import { VodClaims } from "./repositories/vods-claim.ts";
import { type StoredProgress, type VodRecord, VodsRepository } from "./repositories/vods.ts";
import { TokensRepository } from "./repositories/tokens.ts";
import { Tools } from "./tools.ts";
import { Uploader, type VideoMetadata, youtubeTitle } from "./uploader.ts";
import { vodFilePath } from "./vod-path.ts";

/** A stage of one VOD failed; `retryable` says whether a later attempt may succeed. */
export class VodWorkError extends Schema.TaggedError<VodWorkError>()("VodWorkError", {
  vodId: Schema.Number,
  stage: Schema.Literals(["claim", "prepare", "download", "verify", "upload", "finish"]),
  message: Schema.String,
  retryable: Schema.Boolean,
}) {}

/** Progress of a running download; the download machine's `DownloadProgress` has this shape. */
export type VodProgress = StoredProgress;

/** A claimed VOD, ready for the download machine. */
export interface ClaimedVod {
  readonly job: { readonly vodId: number; readonly twitchVodId: string; readonly title: string };
  /** Upload to YouTube after verifying (false when the claim was made without settings: decided at the upload stage). */
  readonly upload: boolean;
  readonly record: VodRecord;
}

/** What the upload stage did: the video's URL, or null when no upload was due (with why). */
export type UploadStageResult =
  | { readonly url: string; readonly skipped?: undefined }
  | { readonly url: null; readonly skipped: string };

/** A downloaded file; the download machine's `DownloadedFile` has this shape. */
export interface VodFile {
  readonly path: string;
  readonly bytes: number;
}

/** How one VOD's run ended; the download machine's `DownloadOutcome` is assignable to it. */
export type VodOutcome =
  | { readonly status: "done" }
  | { readonly status: "failed"; readonly permanent: boolean; readonly message: string }
  | { readonly status: "canceled" };

/** Settings of the pipeline that are not per channel. */
export interface VodProcessingOptions {
  /** `DATA_DIR`. */
  readonly dataDir: string;
  /** A VOD whose attempts ran out is claimed again after this long (`PROCESSING_RETRY_COOLDOWN`). */
  readonly retryCooldownMs: number;
  /** Most progress writes to the database per VOD: one per this many milliseconds. Default 1000. */
  readonly progressWriteIntervalMs?: number | undefined;
  /** Allowed difference between the file's length and Helix's: whichever is wider of these seconds... Default 3. */
  readonly durationToleranceSeconds?: number | undefined;
  /** ...and this fraction of the VOD's length. Default 0.002. */
  readonly durationToleranceFraction?: number | undefined;
  /** Uploads are allowed at all: YouTube client configured and ownership declared (`YOUTUBE_UPLOAD_OWNERSHIP`). */
  readonly uploadsConfigured: boolean;
  /** `YOUTUBE_REFRESH_TOKEN`: used when no stored token exists for the channel or for all. */
  readonly youtubeRefreshToken?: Redacted.Redacted<string> | undefined;
  /** Uploads per channel per 24 hours (0 = no limit, `UPLOAD_DAILY_LIMIT`). */
  readonly uploadDailyLimit?: number | undefined;
  /** Text put before the generated YouTube description. */
  readonly descriptionPrefix?: string | undefined;
}

/**
 * The pipeline's settings from the configuration: `DATA_DIR`,
 * `PROCESSING_RETRY_COOLDOWN`, `UPLOAD_DAILY_LIMIT`, `YOUTUBE_REFRESH_TOKEN`;
 * uploads count as configured when a YouTube client is set and
 * `YOUTUBE_UPLOAD_OWNERSHIP` is declared (the Go original's compliance gate).
 */
export const vodProcessingOptions = (config: AppConfig): VodProcessingOptions => ({
  dataDir: config.dataDir,
  retryCooldownMs: config.download.retryCooldownMs,
  uploadsConfigured: config.youtube.clientId !== undefined && config.youtube.uploadOwnership !== undefined,
  youtubeRefreshToken: config.youtube.refreshToken,
  uploadDailyLimit: config.upload.dailyLimit,
});

/** The pipeline's operations. */
export interface VodProcessingService {
  /** Why downloads cannot run now (a tool is missing), or undefined when they can. */
  readonly toolsProblem: Effect.Effect<string | undefined>;
  /**
   * Claims the channel's next VOD; undefined when the queue is empty. With the
   * channel's settings the upload is planned now (and a VOD only waiting for an
   * upload the daily cap forbids is put off); without them, at the upload stage.
   */
  readonly claimNext: (channel: string, settings?: ChannelSettings) => Effect.Effect<ClaimedVod | undefined, VodWorkError>;
  readonly prepare: (vodId: number) => Effect.Effect<void, VodWorkError>;
  /** Downloads (or resumes); `onProgress` gets every update. */
  readonly download: (vodId: number, onProgress?: (progress: VodProgress) => void) => Effect.Effect<VodFile, VodWorkError>;
  readonly verify: (vodId: number, file: VodFile) => Effect.Effect<void, VodWorkError>;
  /**
   * Uploads when one is due under `settings` (else the claim's): a VOD already
   * on YouTube gives its URL, one marked `skip_upload`, lacking credentials or
   * over today's cap is skipped. `onProgress` gets bytes confirmed by YouTube.
   */
  readonly upload: (
    vodId: number,
    file: VodFile,
    settings?: UploadSettings,
    onProgress?: (uploadedBytes: number, totalBytes: number) => void,
  ) => Effect.Effect<UploadStageResult, VodWorkError>;
  /** Ends the claim with the run's outcome. */
  readonly finish: (vodId: number, outcome: VodOutcome) => Effect.Effect<void, VodWorkError>;
  /** Gives the claim back without a verdict (the processor is stopping). */
  readonly release: (vodId: number) => Effect.Effect<void>;
  /** VODs of the channel waiting now; also sets the queue-depth gauge. */
  readonly queueDepth: (channel: string) => Effect.Effect<number, VodWorkError>;
}

/** One claimed VOD's working state in this process. */
interface Claim {
  readonly channel: string;
  readonly settings: ChannelSettings | undefined;
  record: VodRecord;
  /** `now`: upload after verify; `later`: due but capped today; `none`: no upload; `unknown`: decided at the upload stage. */
  readonly uploadPlan: UploadPlan["plan"] | "unknown";
  /** Length to verify against, refreshed from Helix in prepare. */
  expectedSeconds: number | null;
  path: string | null;
  downloadMs: number;
  deferUntil: Date | null;
}

const DAY_MS = 86_400_000;

/** How long the archive of a stream still on air waits before it is looked at again. */
export const LIVE_ARCHIVE_RECHECK_MS = 10 * 60_000;

/** Whether a VOD is to be uploaded: now, later (the daily cap), or not (and why). */
interface UploadPlan {
  readonly plan: "now" | "later" | "none";
  readonly deferUntil: Date | null;
  readonly reason: string | null;
}

const exists = (path: string) =>
  Effect.promise(() =>
    stat(path).then(
      (info) => info.isFile(),
      () => false,
    ),
  );

const sizeOf = (path: string) =>
  Effect.promise(() =>
    stat(path).then(
      (info) => info.size,
      () => 0,
    ),
  );

/** The YouTube description of a VOD: custom text, then where it came from. */
export const youtubeDescriptionFor = (record: VodRecord, prefix?: string): string => {
  const lines: Array<string> = [];
  if (prefix !== undefined && prefix.trim() !== "") lines.push(prefix.trim(), "");
  if (record.description !== null && record.description.trim() !== "") lines.push(record.description.trim(), "");
  if (record.date !== null) lines.push(`Originally streamed ${record.date.toISOString().slice(0, 10)} on twitch.tv/${record.channel}.`);
  else lines.push(`Originally streamed on twitch.tv/${record.channel}.`);
  lines.push(`Twitch VOD ${record.twitchVodId ?? record.id}: https://www.twitch.tv/videos/${record.twitchVodId ?? ""}`);
  return lines.join("\n");
};

/** The YouTube title of a VOD: `YYYY-MM-DD <title>`, at most 100 characters (as the Go original). */
export const youtubeTitleFor = (record: VodRecord): string =>
  youtubeTitle(`${record.date === null ? "" : `${record.date.toISOString().slice(0, 10)} `}${record.title ?? `VOD ${record.twitchVodId}`}`);

/** Builds the pipeline over the services in context; see the module comment. */
export const makeVodProcessing = (options: VodProcessingOptions) =>
  Effect.gen(function* () {
    const vods = yield* VodsRepository;
    const claims = yield* VodClaims;
    const downloader = yield* Downloader;
    const probe = yield* Probe;
    const metrics = yield* Metrics;
    const helix = yield* Effect.serviceOption(Helix);
    const uploader = yield* Effect.serviceOption(Uploader);
    const tokens = yield* Effect.serviceOption(TokensRepository);
    const tools = yield* Effect.serviceOption(Tools);
    const writeEvery = Math.max(1, options.progressWriteIntervalMs ?? 1_000);
    const active = new Map<number, Claim>();

    const fail = (vodId: number, stage: VodWorkError["stage"], message: string, retryable: boolean) =>
      new VodWorkError({ vodId, stage, message, retryable });

    const db =
      (vodId: number, stage: VodWorkError["stage"]) =>
      <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, VodWorkError> =>
        Effect.mapError(effect, (error) => fail(vodId, stage, `database: ${error.message}`, true));

    /** Records the failure on the row, then fails with it. */
    const failStage = (vodId: number, stage: "prepare" | "download" | "verify" | "upload", message: string, retryable: boolean) =>
      vods.recordFailure(vodId, { stage, message, retryable }).pipe(
        Effect.ignore,
        Effect.andThen(Effect.fail(fail(vodId, stage, message, retryable))),
      );

    const claimOf = (vodId: number, stage: VodWorkError["stage"]) =>
      Effect.suspend(() => {
        const claim = active.get(vodId);
        return claim === undefined ? Effect.fail(fail(vodId, stage, `VOD ${vodId} is not claimed by this process`, false)) : Effect.succeed(claim);
      });

    const toolsProblem: VodProcessingService["toolsProblem"] = Effect.gen(function* () {
      if (Option.isNone(tools)) return undefined;
      for (const name of ["yt-dlp", "ffmpeg", "ffprobe"] as const) {
        const found = yield* Effect.result(tools.value.require(name));
        if (found._tag === "Failure") return `${name} unavailable: ${found.failure.reason}`;
      }
      return undefined;
    });

    const refreshTokenFor = (channel: string) =>
      Effect.gen(function* () {
        if (Option.isSome(tokens)) {
          const stored = yield* tokens.value.resolve("youtube", channel).pipe(
            Effect.catch((error) => Effect.logWarning(`cannot read the YouTube token of ${channel}: ${error.message}`).pipe(Effect.as(undefined))),
          );
          if (stored?.refreshToken !== undefined) return stored.refreshToken;
        }
        return options.youtubeRefreshToken;
      });

    const queueDepth = (channel: string) =>
      vods.queueDepth(channel).pipe(
        Effect.tap((depth) => Effect.sync(() => metrics.vodQueueDepth.set({ channel }, depth))),
        db(0, "claim"),
      );

    const planUpload = (channel: string, record: VodRecord, settings: UploadSettings | undefined) =>
      Effect.gen(function* () {
        const none = (reason: string): UploadPlan => ({ plan: "none", deferUntil: null, reason });
        if (settings === undefined || !settings.enabled) return none(`uploads are off for ${channel}`);
        if (!options.uploadsConfigured || Option.isNone(uploader)) {
          return none("uploads are not configured (YouTube client and YOUTUBE_UPLOAD_OWNERSHIP)");
        }
        if (record.skipUpload) return none("the VOD is marked skip_upload");
        if ((yield* refreshTokenFor(channel)) === undefined) return none(`no YouTube credential for ${channel}`);
        const limit = options.uploadDailyLimit ?? 0;
        if (limit > 0) {
          const now = yield* Clock.currentTimeMillis;
          const recent = yield* vods.uploadsSince(channel, new Date(now - DAY_MS)).pipe(db(record.id, "upload"));
          if (recent.length >= limit) {
            const oldest = recent[recent.length - limit]?.getTime() ?? now;
            return { plan: "later", deferUntil: new Date(oldest + DAY_MS), reason: `${limit} uploads in the last 24 hours` } satisfies UploadPlan;
          }
        }
        return { plan: "now", deferUntil: null, reason: null } satisfies UploadPlan;
      });

    // Twitch publishes a stream's archive VOD while the stream runs, growing; a
    // download then would be cut at the moment it ran and verify against a
    // length that keeps changing. One Helix request per claim tells whether the
    // VOD's stream is still on air; when Helix cannot answer, the download goes
    // ahead (the row already describes the VOD).
    const streamStillLive = (record: VodRecord): Effect.Effect<boolean> => {
      if (Option.isNone(helix) || record.streamId === null || record.twitchUserId === null) return Effect.succeed(false);
      const streamId = record.streamId;
      return helix.value.getStreams({ userIds: [record.twitchUserId] }).pipe(
        Effect.map((streams) => streams.some((stream) => stream.id === streamId)),
        Effect.catch((error) => Effect.logWarning(`cannot ask Helix whether ${record.channel} is live: ${error._tag}`).pipe(Effect.as(false))),
      );
    };

    const claimNext = Effect.fn("VodProcessing.claimNext")(function* (channel: string, settings?: ChannelSettings) {
      // A VOD only waiting for an upload the daily cap forbids is put off and the next one tried.
      for (let tries = 0; tries < 20; tries++) {
        const record = yield* claims.claimNext(channel).pipe(db(0, "claim"));
        if (record === undefined) {
          yield* queueDepth(channel);
          return undefined;
        }
        for (const [id, claim] of active) if (claim.channel === channel) active.delete(id);
        if (yield* streamStillLive(record)) {
          const until = new Date((yield* Clock.currentTimeMillis) + LIVE_ARCHIVE_RECHECK_MS);
          yield* Effect.logInfo(`VOD ${record.twitchVodId} is the archive of a stream still live; looking again at ${until.toISOString()}`);
          yield* claims.finish(record.id, { _tag: "Deferred", until }).pipe(db(record.id, "claim"));
          continue;
        }
        const planned = settings === undefined || record.youtubeUrl !== null ? undefined : yield* planUpload(channel, record, settings.upload);
        const alreadyVerified = record.sha256 !== null && record.filePath !== null && (yield* exists(record.filePath));
        if (planned?.plan === "later" && alreadyVerified && planned.deferUntil !== null) {
          yield* claims.finish(record.id, { _tag: "Deferred", until: planned.deferUntil }).pipe(db(record.id, "claim"));
          continue;
        }
        active.set(record.id, {
          channel,
          settings,
          record,
          uploadPlan: settings === undefined ? "unknown" : (planned?.plan ?? "none"),
          expectedSeconds: record.durationSeconds,
          path: record.filePath,
          downloadMs: 0,
          deferUntil: planned?.deferUntil ?? null,
        });
        yield* queueDepth(channel);
        return {
          job: { vodId: record.id, twitchVodId: record.twitchVodId ?? String(record.id), title: record.title ?? "" },
          upload: planned?.plan === "now",
          record,
        } satisfies ClaimedVod;
      }
      return undefined;
    });

    const prepare = Effect.fn("VodProcessing.prepare")(function* (vodId: number) {
      const claim = yield* claimOf(vodId, "prepare");
      yield* vods.setState(vodId, "preparing").pipe(db(vodId, "prepare"));
      const record = claim.record;
      if (Option.isSome(helix) && record.twitchVodId !== null) {
        const fresh = yield* helix.value.getVideoById(record.twitchVodId).pipe(
          Effect.map((video) => ({ _tag: "Found" as const, video })),
          // Helix trouble must not hold up a download the row already describes.
          Effect.catch((error) =>
            Effect.logWarning(`cannot refresh VOD ${record.twitchVodId} from Helix: ${error._tag}`).pipe(Effect.as({ _tag: "Unknown" as const })),
          ),
        );
        if (fresh._tag === "Found" && fresh.video === undefined) {
          return yield* failStage(vodId, "prepare", `VOD ${record.twitchVodId} no longer exists on Twitch`, false);
        }
        if (fresh._tag === "Found" && fresh.video?.durationSeconds !== undefined) claim.expectedSeconds = fresh.video.durationSeconds;
      }
      if (claim.path === null) {
        claim.path = vodFilePath({
          dataDir: options.dataDir,
          channel: claim.channel,
          vodId: record.twitchVodId ?? String(record.id),
          date: record.date ?? record.createdAt,
          title: record.title ?? "",
        });
        yield* vods.setFilePath(vodId, claim.path).pipe(db(vodId, "prepare"));
      }
    });

    const download = Effect.fn("VodProcessing.download")(function* (vodId: number, onProgress?: (progress: VodProgress) => void) {
      const claim = yield* claimOf(vodId, "download");
      const path = claim.path;
      if (path === null) return yield* fail(vodId, "download", "download before prepare", false);
      const { channel, record } = claim;
      yield* vods.setState(vodId, "downloading").pipe(db(vodId, "download"));
      metrics.downloadsStarted.inc({ channel });
      let counted = yield* sizeOf(`${path}.part`);
      let latest: VodProgress | undefined;
      let written: VodProgress | undefined;
      let lastWriteAt = 0;
      const writeLatest = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        if (latest === undefined || latest === written || now - lastWriteAt < writeEvery) return;
        written = latest;
        lastWriteAt = now;
        yield* vods.writeProgress(vodId, latest).pipe(
          Effect.catch((error) => Effect.logWarning(`cannot store progress of VOD ${vodId}: ${error.message}`)),
        );
      });
      const started = yield* Clock.currentTimeMillis;
      const result = yield* Effect.gen(function* () {
        yield* writeLatest.pipe(Effect.delay(Duration.millis(writeEvery)), Effect.forever, Effect.forkScoped);
        return yield* downloader.download({
          url: record.url ?? `https://www.twitch.tv/videos/${record.twitchVodId}`,
          outputPath: path,
          onProgress: (update) => {
            const progress: VodProgress = {
              bytes: update.downloadedBytes,
              total: update.totalBytes ?? null,
              percent: update.percent ?? null,
              speed: update.speedBytesPerSecond ?? null,
              eta: update.etaSeconds ?? null,
            };
            latest = progress;
            if (progress.bytes > counted) {
              metrics.downloadBytes.inc({ channel }, progress.bytes - counted);
              counted = progress.bytes;
            }
            onProgress?.(progress);
          },
        });
      }).pipe(
        Effect.scoped,
        Effect.catchTag("DownloadError", (error) => {
          metrics.downloadsFailed.inc({ channel, kind: error.retryable ? "retryable" : "permanent" });
          return failStage(vodId, "download", `${error.reason}: ${error.message}`, error.retryable);
        }),
      );
      yield* writeLatest;
      claim.downloadMs = (yield* Clock.currentTimeMillis) - started;
      return { path: result.path, bytes: result.sizeBytes } satisfies VodFile;
    });

    /** Deletes a file that failed verification, so the next attempt downloads it again. */
    const discard = (path: string) => Effect.promise(() => rm(path, { force: true }).catch(() => undefined));

    const verify = Effect.fn("VodProcessing.verify")(function* (vodId: number, file: VodFile) {
      const claim = yield* claimOf(vodId, "verify");
      const { channel } = claim;
      yield* vods.setState(vodId, "verifying").pipe(db(vodId, "verify"));
      const bad = (message: string) => {
        metrics.downloadsFailed.inc({ channel, kind: "retryable" });
        return discard(file.path).pipe(Effect.andThen(failStage(vodId, "verify", message, true)));
      };
      const probed = yield* Effect.result(probe.probe(file.path));
      if (probed._tag === "Failure") {
        const error = probed.failure;
        if (error.reason === "invalid") return yield* bad(`ffprobe cannot read ${file.path}: ${error.message}`);
        return yield* failStage(vodId, "verify", `ffprobe ${error.reason}: ${error.message}`, true);
      }
      const media = probed.success;
      if (!media.hasVideo && !media.hasAudio) return yield* bad(`${file.path} holds no audio or video`);
      const expected = claim.expectedSeconds;
      if (expected !== null && expected > 0) {
        const matched = yield* Effect.result(
          verifyDuration(expected, media.durationSeconds, {
            seconds: options.durationToleranceSeconds ?? 3,
            fraction: options.durationToleranceFraction ?? 0.002,
          }),
        );
        if (matched._tag === "Failure") {
          const actual = matched.failure.actualSeconds;
          return yield* bad(
            `file lasts ${actual === null ? "an unknown time" : `${actual.toFixed(1)} s`}, Twitch says ${expected} s (tolerance ${matched.failure.toleranceSeconds.toFixed(1)} s)`,
          );
        }
      }
      const sum = yield* fileChecksum(file.path).pipe(Effect.catchTag("ChecksumError", (error) => failStage(vodId, "verify", error.message, true)));
      yield* vods
        .recordVerified(vodId, { path: file.path, size: sum.size, sha256: sum.sha256, processed: claim.uploadPlan === "none" })
        .pipe(db(vodId, "verify"));
      metrics.downloadsSucceeded.inc({ channel });
      if (claim.downloadMs > 0) metrics.downloadDuration.observe(claim.downloadMs / 1000);
    });

    const upload = Effect.fn("VodProcessing.upload")(function* (
      vodId: number,
      file: VodFile,
      settings?: UploadSettings,
      onProgress?: (uploadedBytes: number, totalBytes: number) => void,
    ) {
      const claim = yield* claimOf(vodId, "upload");
      const { channel } = claim;
      // The session may have been stored by an earlier run of this or another process.
      const record = (yield* vods.get(vodId).pipe(db(vodId, "upload"))) ?? claim.record;
      if (record.youtubeUrl !== null) return { url: record.youtubeUrl } satisfies UploadStageResult;
      const uploadSettings = settings ?? claim.settings?.upload;
      const plan = yield* planUpload(channel, record, uploadSettings);
      if (plan.plan === "later") claim.deferUntil = plan.deferUntil;
      if (plan.plan !== "now" || uploadSettings === undefined || Option.isNone(uploader)) {
        yield* Effect.logInfo(`VOD ${record.twitchVodId} of ${channel} is not uploaded: ${plan.reason ?? "not due"}`);
        return { url: null, skipped: plan.reason ?? "not due" } satisfies UploadStageResult;
      }
      const refreshToken = yield* refreshTokenFor(channel);
      if (refreshToken === undefined) return yield* failStage(vodId, "upload", `no YouTube credential for ${channel}`, true);
      yield* vods.setState(vodId, "uploading").pipe(db(vodId, "upload"));
      const metadata: VideoMetadata = {
        title: youtubeTitleFor(record),
        description: youtubeDescriptionFor(record, options.descriptionPrefix),
        privacyStatus: uploadSettings.privacy satisfies UploadPrivacy,
      };
      const result = yield* uploader.value
        .upload({
          filePath: file.path,
          metadata,
          refreshToken,
          sessionUrl: record.uploadSessionUrl ?? undefined,
          onSession: (sessionUrl) => vods.setUploadSession(vodId, sessionUrl).pipe(db(vodId, "upload")),
          onProgress,
        })
        .pipe(
          Effect.catchTag("UploadError", (error) => {
            metrics.uploads.inc({ channel, result: "failed" });
            const forget = error.reason === "session-expired" ? vods.setUploadSession(vodId, null).pipe(Effect.ignore) : Effect.void;
            return forget.pipe(Effect.andThen(failStage(vodId, "upload", `${error.reason}: ${error.message}`, error.retryable)));
          }),
        );
      metrics.uploads.inc({ channel, result: "succeeded" });
      const size = yield* sizeOf(file.path);
      // Only a file YouTube holds in full is deleted.
      const deleteFile = uploadSettings.deleteAfterUpload && result.sizeBytes === size && size > 0;
      if (deleteFile) yield* discard(file.path);
      yield* vods.recordUploaded(vodId, { url: result.url, fileDeleted: deleteFile }).pipe(db(vodId, "upload"));
      return { url: result.url } satisfies UploadStageResult;
    });

    const finish = Effect.fn("VodProcessing.finish")(function* (vodId: number, outcome: VodOutcome) {
      const claim = active.get(vodId);
      active.delete(vodId);
      const now = yield* Clock.currentTimeMillis;
      const end =
        outcome.status === "done"
          ? claim?.deferUntil !== null && claim?.deferUntil !== undefined && claim.record.youtubeUrl === null
            ? ({ _tag: "Deferred", until: claim.deferUntil } as const)
            : ({ _tag: "Done" } as const)
          : outcome.status === "canceled"
            ? ({ _tag: "Canceled" } as const)
            : outcome.permanent
              ? ({ _tag: "Failed", message: outcome.message } as const)
              : ({ _tag: "Retry", retryAt: new Date(now + options.retryCooldownMs), message: outcome.message } as const);
      yield* claims.finish(vodId, end).pipe(db(vodId, "finish"));
      if (claim !== undefined) yield* queueDepth(claim.channel).pipe(Effect.ignore);
    });

    const release = (vodId: number) =>
      Effect.suspend(() => {
        active.delete(vodId);
        return claims.release(vodId).pipe(Effect.ignore);
      });

    return {
      toolsProblem,
      claimNext,
      prepare,
      download,
      verify,
      upload,
      finish,
      release,
      queueDepth,
    } satisfies VodProcessingService;
  });

/** The VOD pipeline as a service. */
export class VodProcessing extends Context.Service<VodProcessing, VodProcessingService>()("vod-tender/services/VodProcessing") {
  /**
   * The pipeline over `VodsRepository`, `VodClaims`, `Downloader`, `Probe` and
   * `Metrics`; `Helix`, `Uploader`, `TokensRepository` and `Tools` are used
   * when provided (without Helix, VODs are not refreshed before download;
   * without an uploader nothing is uploaded).
   */
  static readonly layer = (options: VodProcessingOptions) =>
    Layer.effect(VodProcessing, Effect.map(makeVodProcessing(options), VodProcessing.of));
}
