/**
 * The catalog's write: one page of Helix videos into `vods` in one statement.
 *
 * New VODs are inserted; known ones get their metadata refreshed (title,
 * length, URL, views, muted segments, stream id) while everything the
 * processor owns (state, priority, files, errors) and an edited description
 * stay as they are.
 *
 * A VOD follows its owner's Twitch user id, not a login: when a channel is
 * configured under a new name after a rename, its existing VODs move to that
 * name, unless the name they have is still an enabled channel of the same user
 * (both configured at once), so two channels never pull the rows back and forth.
 */
import { Array as Arr, Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { HelixVideo } from "../helix-types.ts";

/** What one upsert did. */
export interface UpsertResult {
  /** Videos written (new and refreshed). */
  readonly found: number;
  /** Of those, how many were new. */
  readonly added: number;
}

/** Inserts or refreshes `videos` as VODs of `channel`, owned by Twitch user `twitchUserId`. */
export const upsertCatalogVods = Effect.fn("Vods.upsertCatalog")(function* (
  channel: string,
  twitchUserId: string,
  videos: ReadonlyArray<HelixVideo>,
): Effect.fn.Return<UpsertResult, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  // Helix can repeat a video across pages while the list shifts; one row per id.
  const unique = [...new Map(videos.map((video) => [video.id, video])).values()];
  const rows = unique.map((video) => ({
    channel,
    twitch_user_id: twitchUserId,
    twitch_vod_id: video.id,
    stream_id: video.streamId,
    title: video.title,
    description: video.description === "" ? null : video.description,
    date: new Date(video.createdAt),
    duration_seconds: video.durationSeconds ?? null,
    url: video.url,
    view_count: video.viewCount,
    muted_segments: video.mutedSegments.length === 0 ? null : JSON.stringify(video.mutedSegments),
  }));
  if (!Arr.isArrayNonEmpty(rows)) return { found: 0, added: 0 };
  const written = yield* sql<{ readonly inserted: boolean }>`
    INSERT INTO vods ${sql.insert(rows)}
    ON CONFLICT (twitch_vod_id) DO UPDATE SET
      title = EXCLUDED.title,
      date = EXCLUDED.date,
      duration_seconds = COALESCE(EXCLUDED.duration_seconds, vods.duration_seconds),
      url = EXCLUDED.url,
      view_count = EXCLUDED.view_count,
      muted_segments = EXCLUDED.muted_segments,
      stream_id = COALESCE(EXCLUDED.stream_id, vods.stream_id),
      twitch_user_id = EXCLUDED.twitch_user_id,
      channel = CASE
        WHEN vods.channel = EXCLUDED.channel THEN vods.channel
        WHEN EXISTS (
          SELECT 1 FROM channels c
          WHERE c.name = vods.channel AND c.enabled AND c.twitch_user_id = EXCLUDED.twitch_user_id
        ) THEN vods.channel
        WHEN vods.twitch_user_id IS NULL OR vods.twitch_user_id = EXCLUDED.twitch_user_id THEN EXCLUDED.channel
        ELSE vods.channel
      END,
      updated_at = now()
    RETURNING (xmax = 0) AS inserted`;
  return { found: written.length, added: written.filter((row) => row.inserted).length };
});
