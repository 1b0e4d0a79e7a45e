/**
 * Retention of downloaded VOD files, per channel: keep the newest
 * `keepCount` files and every file younger than `keepDays` (whichever limits
 * are set; both 0 keeps everything), delete the rest.
 *
 * Never touched: a VOD not processed yet or claimed by a process (a file
 * being downloaded, verified or uploaded), and any file outside the channel's
 * own folder (`$DATA_DIR/vods/<channel>/`), so one channel's retention cannot
 * reach another channel's files. The row is updated first, conditionally on
 * the VOD still being idle, and only then is the file deleted, so a claim
 * racing the deletion wins. In dry-run mode nothing changes and the report
 * says what would have gone.
 */
import { rm, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { Clock, Duration, Effect, Schedule } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { RetentionSettings } from "./channel-settings.ts";
import { channelVodDir } from "./vod-path.ts";

/** One file retention looked at and left alone, and why. */
export interface RetentionSkip {
  readonly vodId: number;
  readonly path: string;
  readonly reason: "in-use" | "outside-channel-folder";
}

/** One file retention deleted (or would delete in dry-run mode). */
export interface RetentionDeletion {
  readonly vodId: number;
  readonly path: string;
  /** Size on disk before deletion; 0 when the file was already gone. */
  readonly bytes: number;
}

/** What one retention pass over a channel did. */
export interface RetentionReport {
  readonly channel: string;
  readonly dryRun: boolean;
  /** Files kept by the limits. */
  readonly kept: number;
  readonly deleted: ReadonlyArray<RetentionDeletion>;
  readonly skipped: ReadonlyArray<RetentionSkip>;
}

interface FileRow {
  readonly id: number;
  readonly file_path: string;
  readonly date: Date | null;
  readonly processed: boolean;
  readonly claimed: boolean;
}

const sizeOf = (path: string) =>
  Effect.promise(() =>
    stat(path).then(
      (info) => info.size,
      () => 0,
    ),
  );

/** Whether `path` lies inside `folder`. */
const inside = (folder: string, path: string): boolean => resolve(path).startsWith(resolve(folder) + sep);

/** One retention pass over `channel`'s files; see the module comment. */
export const runRetention = Effect.fn("runRetention")(function* (
  channel: string,
  settings: RetentionSettings,
  options: { readonly dataDir: string },
): Effect.fn.Return<RetentionReport, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const empty: RetentionReport = { channel, dryRun: settings.dryRun, kept: 0, deleted: [], skipped: [] };
  if (settings.keepCount <= 0 && settings.keepDays <= 0) return empty;
  const now = yield* Clock.currentTimeMillis;
  const cutoff = settings.keepDays > 0 ? now - settings.keepDays * 86_400_000 : undefined;
  const folder = channelVodDir(options.dataDir, channel);
  const rows = yield* sql<FileRow>`
    SELECT id, file_path, date, processed, claim_key IS NOT NULL AS claimed FROM vods
    WHERE channel = ${channel} AND file_path IS NOT NULL AND NOT is_placeholder
    ORDER BY date DESC NULLS FIRST, id DESC`;
  let kept = 0;
  const deleted: Array<RetentionDeletion> = [];
  const skipped: Array<RetentionSkip> = [];
  for (const [index, row] of rows.entries()) {
    const keptByCount = settings.keepCount > 0 && index < settings.keepCount;
    const keptByAge = cutoff !== undefined && (row.date === null || row.date.getTime() >= cutoff);
    if (keptByCount || keptByAge) {
      kept++;
      continue;
    }
    if (!inside(folder, row.file_path)) {
      skipped.push({ vodId: row.id, path: row.file_path, reason: "outside-channel-folder" });
      continue;
    }
    if (!row.processed || row.claimed) {
      skipped.push({ vodId: row.id, path: row.file_path, reason: "in-use" });
      continue;
    }
    const bytes = yield* sizeOf(row.file_path);
    if (settings.dryRun) {
      deleted.push({ vodId: row.id, path: row.file_path, bytes });
      continue;
    }
    const released = yield* sql`
      UPDATE vods SET file_path = NULL, updated_at = now()
      WHERE id = ${row.id} AND file_path = ${row.file_path} AND processed AND claim_key IS NULL
      RETURNING id`;
    if (released.length === 0) {
      skipped.push({ vodId: row.id, path: row.file_path, reason: "in-use" });
      continue;
    }
    yield* Effect.promise(() => rm(row.file_path, { force: true }).catch(() => undefined));
    deleted.push({ vodId: row.id, path: row.file_path, bytes });
  }
  if (deleted.length > 0) {
    const freed = deleted.reduce((sum, file) => sum + file.bytes, 0);
    yield* Effect.logInfo(
      `retention of ${channel}: ${settings.dryRun ? "would delete" : "deleted"} ${deleted.length} file(s), ${freed} bytes; kept ${kept}`,
    );
  }
  return { channel, dryRun: settings.dryRun, kept, deleted, skipped };
});

/** A channel as retention sees it. */
export interface RetentionTarget {
  readonly name: string;
  readonly retention: RetentionSettings;
}

/**
 * Retention for every channel `channels` lists (read anew each pass, so
 * channels added or changed meanwhile are covered), now and then every
 * `intervalMs` (`RETENTION_INTERVAL`). A channel whose pass fails is logged
 * and the others go on. Runs until interrupted: fork it for the process's life.
 */
export const retentionLoop = (
  intervalMs: number,
  channels: Effect.Effect<ReadonlyArray<RetentionTarget>>,
  options: { readonly dataDir: string },
): Effect.Effect<never, never, SqlClient> =>
  channels.pipe(
    Effect.flatMap((targets) =>
      Effect.forEach(
        targets,
        (target) =>
          runRetention(target.name, target.retention, options).pipe(
            Effect.catchCause((cause) => Effect.logWarning(`retention of ${target.name} failed`, cause)),
          ),
        { discard: true },
      ),
    ),
    Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1_000, intervalMs)))),
    Effect.andThen(Effect.never),
  );
