/**
 * One catalog scan of a channel: its past broadcasts from Helix
 * (`/helix/videos?type=archive&first=100`, newest first) into `vods`.
 *
 * - Limits: at most `max` VODs (0 = all), none older than `maxAgeDays` (0 = any age).
 * - A full backfill (no limits) saves Helix's cursor in kv `catalog_after`
 *   after every page and removes it when it reaches the end. A scan that finds
 *   a saved cursor was interrupted (stop, crash, Helix trouble): it resumes
 *   there, then pages from the top until a page brings nothing new, so VODs
 *   that appeared meanwhile are not missed.
 * - Channels are identified by Twitch user id. The id is looked up once by
 *   login and kept (`channels.twitch_user_id`, and on every VOD); later scans
 *   ask by id, so a renamed channel keeps its archive, and the login Twitch
 *   reports now is recorded in `channels.twitch_login`.
 */
import { Clock, Effect, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { HelixError } from "./helix-errors.ts";
import { isTransientHelixError } from "./helix-errors.ts";
import { Helix } from "./helix.ts";
import type { HelixUser, HelixVideo } from "./helix-types.ts";
import { KvRepository } from "./repositories/kv.ts";
import { upsertCatalogVods } from "./repositories/vods-upsert.ts";

/** kv key holding the cursor of an unfinished full backfill. */
export const CATALOG_CURSOR_KEY = "catalog_after";
/** kv key holding when the channel's last scan finished (RFC 3339). */
export const CATALOG_LAST_SCAN_KEY = "catalog_last_scan";

/** Limits of one scan; `CatalogSettings` has this shape. */
export interface CatalogScanLimits {
  /** Most VODs to catalog (0 = no limit). */
  readonly max: number;
  /** Oldest VOD age in days (0 = no limit). */
  readonly maxAgeDays: number;
}

/** What a scan did. */
export interface CatalogScanResult {
  /** VODs Helix listed within the limits. */
  readonly found: number;
  /** Of those, how many were new to the catalog. */
  readonly added: number;
  /** Helix pages read. */
  readonly pages: number;
  /** The scan continued an interrupted backfill. */
  readonly resumed: boolean;
  /** The channel as Twitch knows it now. */
  readonly user: { readonly id: string; readonly login: string; readonly displayName: string };
}

/**
 * A scan failed. `unknown-channel`: Twitch knows no such login (or the stored
 * user id is gone); `helix`/`database`: the source or the store failed.
 * `retryable` says whether trying later may help.
 */
export class CatalogScanError extends Schema.TaggedError<CatalogScanError>()("CatalogScanError", {
  channel: Schema.String,
  reason: Schema.Literals(["unknown-channel", "helix", "database"]),
  retryable: Schema.Boolean,
  message: Schema.String,
}) {}

const fromHelix = (channel: string) => (error: HelixError) =>
  new CatalogScanError({
    channel,
    reason: "helix",
    // A refused app credential needs an operator, but the catalog retries on its
    // backoff anyway; only the flag for callers that stop on permanent errors differs.
    retryable: isTransientHelixError(error) || error._tag === "HelixRateLimited",
    message: `Helix: ${error.message || error._tag}`,
  });

const fromSql = (channel: string) => (error: SqlError) =>
  new CatalogScanError({ channel, reason: "database", retryable: true, message: `database: ${error.message}` });

/**
 * The Twitch user behind `channel`: by the stored user id when there is one
 * (the login may have changed), else by login. Records the id, the current
 * login and display name on the channel's row.
 */
export const resolveChannelUser = Effect.fn("resolveChannelUser")(function* (
  channel: string,
): Effect.fn.Return<HelixUser, CatalogScanError, Helix | SqlClient> {
  const helix = yield* Helix;
  const sql = yield* SqlClient;
  const stored = yield* sql<{ readonly twitch_user_id: string | null }>`
    SELECT twitch_user_id FROM channels WHERE name = ${channel} AND twitch_user_id IS NOT NULL
    UNION ALL
    (SELECT twitch_user_id FROM vods WHERE channel = ${channel} AND twitch_user_id IS NOT NULL LIMIT 1)
    LIMIT 1`.pipe(Effect.mapError(fromSql(channel)));
  const userId = stored[0]?.twitch_user_id ?? undefined;
  const users = yield* helix
    .getUsers(userId === undefined ? { logins: [channel] } : { ids: [userId] })
    .pipe(Effect.mapError(fromHelix(channel)));
  const user = users.find((candidate) => (userId === undefined ? candidate.login === channel.toLowerCase() : candidate.id === userId));
  if (user === undefined) {
    return yield* new CatalogScanError({
      channel,
      reason: "unknown-channel",
      retryable: false,
      message:
        userId === undefined ? `Twitch has no channel named ${channel}` : `Twitch user ${userId} (channel ${channel}) no longer exists`,
    });
  }
  yield* sql`
    UPDATE channels SET twitch_user_id = COALESCE(twitch_user_id, ${user.id}), twitch_login = ${user.login},
      display_name = ${user.displayName}, updated_at = now()
    WHERE name = ${channel}`.pipe(Effect.mapError(fromSql(channel)));
  if (user.login !== channel.toLowerCase()) {
    yield* Effect.logInfo(`channel ${channel} is called ${user.login} on Twitch now; its archive stays under ${channel}`);
  }
  return user;
});

/** Scans one channel's catalog; see the module comment. */
export const scanCatalog = Effect.fn("scanCatalog")(function* (
  channel: string,
  limits: CatalogScanLimits,
): Effect.fn.Return<CatalogScanResult, CatalogScanError, Helix | SqlClient | KvRepository> {
  const helix = yield* Helix;
  const kv = yield* KvRepository;
  const user = yield* resolveChannelUser(channel);
  const now = yield* Clock.currentTimeMillis;
  const cutoff = limits.maxAgeDays > 0 ? now - limits.maxAgeDays * 86_400_000 : undefined;
  const fullBackfill = limits.max <= 0 && limits.maxAgeDays <= 0;
  const kvError = fromSql(channel);

  let found = 0;
  let added = 0;
  let pages = 0;

  /**
   * Pages from `after` until the end, the limits, or (when `untilNothingNew`)
   * a page that adds nothing. Returns whether it reached the end of the list.
   */
  const walk = (after: string | undefined, options: { readonly saveCursor: boolean; readonly untilNothingNew: boolean }) =>
    Effect.gen(function* () {
      let cursor = after;
      while (true) {
        const page = yield* helix
          .getVideos({ userId: user.id, type: "archive", first: 100, after: cursor })
          .pipe(Effect.mapError(fromHelix(channel)));
        pages++;
        let videos: ReadonlyArray<HelixVideo> = page.data;
        let limited = false;
        if (cutoff !== undefined) {
          const within = videos.filter((video) => Date.parse(video.createdAt) >= cutoff);
          limited = within.length < videos.length;
          videos = within;
        }
        if (limits.max > 0 && found + videos.length >= limits.max) {
          videos = videos.slice(0, limits.max - found);
          limited = true;
        }
        const written = yield* upsertCatalogVods(channel, user.id, videos).pipe(Effect.mapError(fromSql(channel)));
        found += written.found;
        added += written.added;
        cursor = page.cursor;
        if (limited) return false;
        if (cursor === undefined) return true;
        if (options.saveCursor) yield* kv.set(channel, CATALOG_CURSOR_KEY, cursor).pipe(Effect.mapError(kvError));
        if (options.untilNothingNew && written.added === 0) return false;
      }
    });

  const saved = fullBackfill ? yield* kv.get(channel, CATALOG_CURSOR_KEY).pipe(Effect.mapError(kvError)) : undefined;
  const resumed = saved !== undefined && saved !== "";
  if (resumed) {
    yield* Effect.logInfo(`catalog of ${channel}: resuming an interrupted backfill`);
    yield* walk(saved, { saveCursor: true, untilNothingNew: false });
    yield* kv.remove(channel, CATALOG_CURSOR_KEY).pipe(Effect.mapError(kvError));
    yield* walk(undefined, { saveCursor: false, untilNothingNew: true });
  } else {
    yield* walk(undefined, { saveCursor: fullBackfill, untilNothingNew: false });
    if (fullBackfill) yield* kv.remove(channel, CATALOG_CURSOR_KEY).pipe(Effect.mapError(kvError));
  }
  const finished = yield* Clock.currentTimeMillis;
  yield* kv.set(channel, CATALOG_LAST_SCAN_KEY, new Date(finished).toISOString()).pipe(Effect.mapError(kvError));
  return { found, added, pages, resumed, user: { id: user.id, login: user.login, displayName: user.displayName } };
});
