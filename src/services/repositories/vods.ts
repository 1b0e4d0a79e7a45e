/**
 * The `vods` table: one row per Twitch VOD (and per live stream whose VOD is
 * not known yet, `is_placeholder`). The catalog writes metadata
 * (`vods-upsert.ts`), the processor claims rows (`vods-claim.ts`) and records
 * each stage here; the admin API reads and adjusts them.
 *
 * Metadata columns belong to the catalog and processing columns to the
 * processor: neither writer touches the other's.
 */
import { Context, Effect, Layer, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

/** A stored VOD, as the rest of the runtime sees it. */
export interface VodRecord {
  /** Row id; chat rows point at it. */
  readonly id: number;
  readonly channel: string;
  /** Null for a placeholder. */
  readonly twitchVodId: string | null;
  readonly twitchUserId: string | null;
  readonly streamId: string | null;
  readonly title: string | null;
  readonly description: string | null;
  readonly date: Date | null;
  readonly durationSeconds: number | null;
  readonly url: string | null;
  readonly viewCount: number | null;
  readonly priority: number;
  readonly processed: boolean;
  readonly processingError: string | null;
  readonly failedPermanently: boolean;
  readonly skipUpload: boolean;
  /** `queued`, `downloading`, `verifying`, `uploading`, `done`, `retrying`, `failed`, `canceled`, or null when never tried. */
  readonly downloadState: string | null;
  readonly downloadRetries: number;
  readonly downloadBytes: number;
  readonly downloadTotal: number;
  /** Percent, 0–100. */
  readonly progress: number | null;
  /** Bytes per second. */
  readonly downloadSpeed: number | null;
  /** Seconds left. */
  readonly downloadEta: number | null;
  readonly progressUpdatedAt: Date | null;
  readonly filePath: string | null;
  readonly fileSize: number | null;
  readonly sha256: string | null;
  readonly checksumAt: Date | null;
  readonly uploadRetries: number;
  readonly youtubeUrl: string | null;
  readonly uploadedAt: Date | null;
  readonly uploadSessionUrl: string | null;
  readonly lastErrorAt: Date | null;
  /** Not claimed again before this instant (retry cooldown, upload cap). */
  readonly nextAttemptAt: Date | null;
  readonly isPlaceholder: boolean;
  /** The process working on it, when claimed. */
  readonly claimedBy: string | null;
  readonly claimedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const NullableString = Schema.NullOr(Schema.String);
const NullableNumber = Schema.NullOr(Schema.Number);
const NullableDate = Schema.NullOr(Schema.Date);

const VodRow = Schema.Struct({
  id: Schema.Number,
  channel: Schema.String,
  twitch_vod_id: NullableString,
  twitch_user_id: NullableString,
  stream_id: NullableString,
  title: NullableString,
  description: NullableString,
  date: NullableDate,
  duration_seconds: NullableNumber,
  url: NullableString,
  view_count: NullableNumber,
  priority: Schema.Number,
  processed: Schema.Boolean,
  processing_error: NullableString,
  failed_permanently: Schema.Boolean,
  skip_upload: Schema.Boolean,
  download_state: NullableString,
  download_retries: Schema.Number,
  download_bytes: Schema.Number,
  download_total: Schema.Number,
  progress: NullableNumber,
  download_speed: NullableNumber,
  download_eta: NullableNumber,
  progress_updated_at: NullableDate,
  file_path: NullableString,
  file_size: NullableNumber,
  sha256: NullableString,
  checksum_at: NullableDate,
  upload_retries: Schema.Number,
  youtube_url: NullableString,
  uploaded_at: NullableDate,
  upload_session_url: NullableString,
  last_error_at: NullableDate,
  next_attempt_at: NullableDate,
  is_placeholder: Schema.Boolean,
  claimed_by: NullableString,
  claimed_at: NullableDate,
  created_at: Schema.Date,
  updated_at: Schema.Date,
});

const decodeRow = Schema.decodeUnknownEffect(VodRow);

/**
 * A `vods` row (as `SELECT *` returns it) as a {@link VodRecord}. A row that
 * does not match is a schema/code mismatch, not a runtime condition, so it dies.
 */
export const toVodRecord = (row: unknown): Effect.Effect<VodRecord> =>
  decodeRow(row).pipe(
    Effect.map(
      (r): VodRecord => ({
        id: r.id,
        channel: r.channel,
        twitchVodId: r.twitch_vod_id,
        twitchUserId: r.twitch_user_id,
        streamId: r.stream_id,
        title: r.title,
        description: r.description,
        date: r.date,
        durationSeconds: r.duration_seconds,
        url: r.url,
        viewCount: r.view_count,
        priority: r.priority,
        processed: r.processed,
        processingError: r.processing_error,
        failedPermanently: r.failed_permanently,
        skipUpload: r.skip_upload,
        downloadState: r.download_state,
        downloadRetries: r.download_retries,
        downloadBytes: r.download_bytes,
        downloadTotal: r.download_total,
        progress: r.progress,
        downloadSpeed: r.download_speed,
        downloadEta: r.download_eta,
        progressUpdatedAt: r.progress_updated_at,
        filePath: r.file_path,
        fileSize: r.file_size,
        sha256: r.sha256,
        checksumAt: r.checksum_at,
        uploadRetries: r.upload_retries,
        youtubeUrl: r.youtube_url,
        uploadedAt: r.uploaded_at,
        uploadSessionUrl: r.upload_session_url,
        lastErrorAt: r.last_error_at,
        nextAttemptAt: r.next_attempt_at,
        isPlaceholder: r.is_placeholder,
        claimedBy: r.claimed_by,
        claimedAt: r.claimed_at,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }),
    ),
    Effect.orDie,
  );

/** Filters and paging of {@link VodStore.list}. */
export interface VodListQuery {
  /** Only this channel's VODs. */
  readonly channel?: string | undefined;
  /** 1–200; 50 when omitted (as in the Go original). */
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

/** One page of VODs, newest first, and how many match in all. */
export interface VodPage {
  readonly items: ReadonlyArray<VodRecord>;
  readonly total: number;
}

/** A download's progress as stored (at most about once a second per VOD). */
export interface StoredProgress {
  readonly bytes: number;
  readonly total: number | null;
  readonly percent: number | null;
  readonly speed: number | null;
  readonly eta: number | null;
}

/** What verification established about a downloaded file. */
export interface VerifiedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Mark the VOD processed now (no upload due). */
  readonly processed: boolean;
}

/** A failed stage, as recorded on the VOD. */
export interface StageFailure {
  readonly stage: "prepare" | "download" | "verify" | "upload";
  readonly message: string;
  /** Retryable failures count a retry; permanent ones stop the VOD until reprocessed. */
  readonly retryable: boolean;
}

/** Reads and writes of `vods` outside claims and the catalog. */
export interface VodStore {
  /** One VOD by row id. */
  readonly get: (id: number) => Effect.Effect<VodRecord | undefined, SqlError>;
  /**
   * One VOD by reference as the HTTP API takes it: its Twitch VOD id (as in the
   * Go original), else its row id (placeholders have no Twitch id).
   */
  readonly find: (ref: string) => Effect.Effect<VodRecord | undefined, SqlError>;
  /** A page of VODs, newest first. */
  readonly list: (query: VodListQuery) => Effect.Effect<VodPage, SqlError>;
  /** Sets the priority (higher first in its channel's queue); undefined when there is no such VOD. */
  readonly setPriority: (id: number, priority: number) => Effect.Effect<VodRecord | undefined, SqlError>;
  /**
   * Puts a VOD back in its queue: clears processed, errors, retries, cooldown
   * and the permanent-failure mark. The file and its checksum stay (yt-dlp finds
   * the file and the VOD is verified again). Placeholders are left alone.
   */
  readonly reprocess: (id: number) => Effect.Effect<VodRecord | undefined, SqlError>;
  /** VODs of a channel waiting to be processed now (not cooling down, not permanently failed). */
  readonly queueDepth: (channel: string) => Effect.Effect<number, SqlError>;
  /** Sets the processing state shown to operators (`downloading`, `verifying`, `uploading`...). */
  readonly setState: (id: number, state: string) => Effect.Effect<void, SqlError>;
  /** Remembers where the VOD downloads to; the path then stays fixed, so a renamed VOD still resumes its partial file. */
  readonly setFilePath: (id: number, path: string) => Effect.Effect<void, SqlError>;
  /** Stores a progress report. */
  readonly writeProgress: (id: number, progress: StoredProgress) => Effect.Effect<void, SqlError>;
  /** Records a failed stage: the message, and a retry (retryable) or the permanent mark. */
  readonly recordFailure: (id: number, failure: StageFailure) => Effect.Effect<void, SqlError>;
  /** Stores the verified file's size and checksum; marks the VOD processed when asked. */
  readonly recordVerified: (id: number, file: VerifiedFile) => Effect.Effect<void, SqlError>;
  /** Remembers an upload's resumable session. */
  readonly setUploadSession: (id: number, sessionUrl: string | null) => Effect.Effect<void, SqlError>;
  /** Records a finished upload: the video's URL, processed, and the file path cleared when the file was deleted. */
  readonly recordUploaded: (id: number, upload: { readonly url: string; readonly fileDeleted: boolean }) => Effect.Effect<void, SqlError>;
  /** Uploads a channel finished since `since`, for the daily upload cap. */
  readonly uploadsSince: (channel: string, since: Date) => Effect.Effect<ReadonlyArray<Date>, SqlError>;
}

const rowsToRecords = (rows: ReadonlyArray<unknown>) => Effect.forEach(rows, toVodRecord);

/** The `vods` repository. */
export class VodsRepository extends Context.Service<VodsRepository, VodStore>()("vod-tender/services/repositories/Vods") {
  /** The repository over the `SqlClient` in context. */
  static readonly layer: Layer.Layer<VodsRepository, never, SqlClient> = Layer.effect(
    VodsRepository,
    Effect.gen(function* () {
      const sql = yield* SqlClient;

      const first = (rows: ReadonlyArray<unknown>): Effect.Effect<VodRecord | undefined> =>
        rows[0] === undefined ? Effect.succeed(undefined) : toVodRecord(rows[0]);

      const get = Effect.fn("Vods.get")(function* (id: number) {
        return yield* first(yield* sql`SELECT * FROM vods WHERE id = ${id}`);
      });

      const find = Effect.fn("Vods.find")(function* (ref: string) {
        const byTwitch = yield* sql`SELECT * FROM vods WHERE twitch_vod_id = ${ref}`;
        if (byTwitch[0] !== undefined) return yield* toVodRecord(byTwitch[0]);
        if (!/^\d{1,15}$/.test(ref)) return undefined;
        return yield* get(Number(ref));
      });

      const list = Effect.fn("Vods.list")(function* (query: VodListQuery) {
        const limit = Math.min(200, Math.max(1, Math.floor(query.limit ?? 50)));
        const offset = Math.max(0, Math.floor(query.offset ?? 0));
        const where = query.channel === undefined ? sql`TRUE` : sql`channel = ${query.channel}`;
        const rows = yield* sql`
          SELECT * FROM vods WHERE ${where}
          ORDER BY date DESC NULLS LAST, id DESC LIMIT ${limit} OFFSET ${offset}`;
        const counted = yield* sql<{ readonly total: number }>`SELECT count(*)::int AS total FROM vods WHERE ${where}`;
        return { items: yield* rowsToRecords(rows), total: counted[0]?.total ?? 0 };
      });

      const setPriority = Effect.fn("Vods.setPriority")(function* (id: number, priority: number) {
        return yield* first(yield* sql`UPDATE vods SET priority = ${priority}, updated_at = now() WHERE id = ${id} RETURNING *`);
      });

      const reprocess = Effect.fn("Vods.reprocess")(function* (id: number) {
        const rows = yield* sql`
          UPDATE vods SET processed = false, processing_error = NULL, failed_permanently = false,
            download_retries = 0, upload_retries = 0, next_attempt_at = NULL, last_error_at = NULL,
            download_state = NULL, updated_at = now()
          WHERE id = ${id} AND NOT is_placeholder
          RETURNING *`;
        return rows[0] === undefined ? yield* get(id) : yield* toVodRecord(rows[0]);
      });

      const queueDepth = Effect.fn("Vods.queueDepth")(function* (channel: string) {
        const rows = yield* sql<{ readonly depth: number }>`
          SELECT count(*)::int AS depth FROM vods
          WHERE channel = ${channel} AND NOT processed AND NOT is_placeholder AND NOT failed_permanently
            AND twitch_vod_id IS NOT NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())`;
        return rows[0]?.depth ?? 0;
      });

      const setState = Effect.fn("Vods.setState")(function* (id: number, state: string) {
        yield* sql`UPDATE vods SET download_state = ${state}, updated_at = now() WHERE id = ${id}`;
      });

      const setFilePath = Effect.fn("Vods.setFilePath")(function* (id: number, path: string) {
        yield* sql`UPDATE vods SET file_path = ${path}, updated_at = now() WHERE id = ${id}`;
      });

      const writeProgress = Effect.fn("Vods.writeProgress")(function* (id: number, progress: StoredProgress) {
        yield* sql`
          UPDATE vods SET download_bytes = ${Math.round(progress.bytes)},
            download_total = ${Math.round(progress.total ?? 0)}, progress = ${progress.percent},
            download_speed = ${progress.speed}, download_eta = ${progress.eta === null ? null : Math.round(progress.eta)},
            progress_updated_at = now()
          WHERE id = ${id}`;
      });

      const recordFailure = Effect.fn("Vods.recordFailure")(function* (id: number, failure: StageFailure) {
        const message = `${failure.stage}: ${failure.message}`.slice(0, 2000);
        yield* failure.retryable
          ? failure.stage === "upload"
            ? sql`UPDATE vods SET processing_error = ${message}, upload_retries = upload_retries + 1,
                last_error_at = now(), updated_at = now() WHERE id = ${id}`
            : sql`UPDATE vods SET processing_error = ${message}, download_retries = download_retries + 1,
                last_error_at = now(), updated_at = now() WHERE id = ${id}`
          : sql`UPDATE vods SET processing_error = ${message}, failed_permanently = true, download_state = 'failed',
              last_error_at = now(), updated_at = now() WHERE id = ${id}`;
      });

      const recordVerified = Effect.fn("Vods.recordVerified")(function* (id: number, file: VerifiedFile) {
        yield* sql`
          UPDATE vods SET file_path = ${file.path}, file_size = ${file.size}, sha256 = ${file.sha256},
            checksum_at = now(), download_bytes = ${file.size}, download_total = ${file.size}, progress = 100,
            download_speed = NULL, download_eta = NULL, progress_updated_at = now(),
            processed = processed OR ${file.processed}, processing_error = NULL,
            download_state = ${file.processed ? "done" : "verified"}, updated_at = now()
          WHERE id = ${id}`;
      });

      const setUploadSession = Effect.fn("Vods.setUploadSession")(function* (id: number, sessionUrl: string | null) {
        yield* sql`UPDATE vods SET upload_session_url = ${sessionUrl}, updated_at = now() WHERE id = ${id}`;
      });

      const recordUploaded = Effect.fn("Vods.recordUploaded")(function* (
        id: number,
        upload: { readonly url: string; readonly fileDeleted: boolean },
      ) {
        yield* sql`
          UPDATE vods SET youtube_url = ${upload.url}, uploaded_at = now(), upload_session_url = NULL,
            processed = true, processing_error = NULL, download_state = 'done',
            file_path = CASE WHEN ${upload.fileDeleted} THEN NULL ELSE file_path END, updated_at = now()
          WHERE id = ${id}`;
      });

      const uploadsSince = Effect.fn("Vods.uploadsSince")(function* (channel: string, since: Date) {
        const rows = yield* sql<{ readonly uploaded_at: Date }>`
          SELECT uploaded_at FROM vods WHERE channel = ${channel} AND uploaded_at >= ${since} ORDER BY uploaded_at`;
        return rows.map((row) => row.uploaded_at);
      });

      return VodsRepository.of({
        get,
        find,
        list,
        setPriority,
        reprocess,
        queueDepth,
        setState,
        setFilePath,
        writeProgress,
        recordFailure,
        recordVerified,
        setUploadSession,
        recordUploaded,
        uploadsSince,
      });
    }),
  );
}
