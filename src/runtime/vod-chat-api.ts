/**
 * A VOD's chat over HTTP, beside the `/vods` routes and behind the same
 * `ADMIN_TOKEN`:
 *
 * | Route | Answers |
 * |---|---|
 * | `GET /vods/{id}/chat?from=&to=&limit=` | messages and user notices with `from <= offset < to` (seconds into the VOD), oldest first, and every gap of the VOD |
 * | `GET /vods/{id}/chat/export` | the whole chat as a TwitchDownloader JSON file, for chat renderers |
 *
 * `{id}` is a Twitch VOD id or a row id, as for `/vods/{id}`. A page holds at
 * most `limit` messages (1–5,000, default 1,000); when more follow,
 * `next_from` is the offset to ask for next (`vodChatWindow`). The window
 * shows deleted messages with the time a moderator deleted them; the export
 * leaves them out.
 */
import type { ServerResponse } from "node:http";
import { Effect } from "effect";
import type { Redacted } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { exportTwitchDownloaderChat } from "../services/chat-export-twitchdownloader.ts";
import { gapOffsets, vodChatWindow } from "../services/chat-search.ts";
import type { StoredChatRow } from "../services/repositories/chat.ts";
import type { VodStore } from "../services/repositories/vods.ts";
import { adminGuard, fail, findVodOr404 } from "./admin-api.ts";
import { type Route, sendJson } from "./http-server.ts";

/** What the routes are built from. */
export interface VodChatApiOptions {
  /** `ADMIN_TOKEN`; undefined refuses every request. */
  readonly adminToken: Redacted.Redacted<string> | undefined;
  readonly vods: VodStore;
}

const defaultLimit = 1_000;
const maxLimit = 5_000;

/** A message as the window route shows it: the table's column names, as `/vods` does. */
const messageJson = (r: StoredChatRow) => ({
  msg_id: r.msg_id,
  kind: r.kind,
  offset_seconds: r.rel_timestamp,
  sent_at: r.abs_timestamp.toISOString(),
  user_id: r.user_id,
  username: r.username,
  display_name: r.display_name,
  color: r.color,
  badges: r.badges ?? [],
  emotes: r.emotes ?? [],
  message: r.message,
  is_action: r.is_action,
  first_msg: r.first_msg,
  bits: r.bits,
  reply_parent_msg_id: r.reply_parent_msg_id,
  reply_parent_user_login: r.reply_parent_user_login,
  msg_params: r.msg_params,
  system_message: r.system_message,
  deleted_at: r.deleted_at?.toISOString() ?? null,
});

/** Seconds into the VOD, or an error text naming the parameter. */
const secondsParam = (value: string | null, name: string): number | undefined | string => {
  if (value === null || value.trim() === "") return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) && n >= 0 ? n : `${name} must be a number of seconds, 0 or more (got "${value}")`;
};

const limitParam = (value: string | null): number | string => {
  if (value === null || value.trim() === "") return defaultLimit;
  const n = Number(value.trim());
  return Number.isInteger(n) && n >= 1 && n <= maxLimit ? n : `limit must be an integer from 1 to ${maxLimit} (got "${value}")`;
};

/** The routes; they run their queries with the `SqlClient` of the calling context. */
export const vodChatRoutes = (options: VodChatApiOptions): Effect.Effect<ReadonlyArray<Route>, never, SqlClient> =>
  Effect.map(Effect.context<SqlClient>(), (context) => {
    const run = Effect.runPromiseWith(context);
    const guarded = adminGuard(options.adminToken);

    const findVod = (res: ServerResponse, ref: string | undefined) => findVodOr404(options.vods, res, ref);

    const window: Route["handle"] = async (req, res, params) => {
      const query = new URL(req.url ?? "/", "http://vod-chat").searchParams;
      const from = secondsParam(query.get("from"), "from");
      const to = secondsParam(query.get("to"), "to");
      const limit = limitParam(query.get("limit"));
      if (typeof from === "string") return fail(res, 400, "bad_request", from);
      if (typeof to === "string") return fail(res, 400, "bad_request", to);
      if (typeof limit === "string") return fail(res, 400, "bad_request", limit);
      if (from !== undefined && to !== undefined && to <= from) return fail(res, 400, "bad_request", `to (${to}) must be after from (${from})`);
      const vod = await findVod(res, params["id"]);
      if (vod === undefined) return;
      const page = await run(
        vodChatWindow(vod.id, { ...(from === undefined ? {} : { fromSeconds: from }), ...(to === undefined ? {} : { toSeconds: to }), limit }),
      );
      sendJson(res, 200, {
        vod: { id: vod.id, channel: vod.channel, twitch_vod_id: vod.twitchVodId, stream_id: vod.streamId, is_placeholder: vod.isPlaceholder },
        messages: page.messages.map(messageJson),
        next_from: page.nextFrom,
        gaps: page.gaps.map((g) => {
          const { fromSeconds, toSeconds } = gapOffsets(g, vod.date);
          return {
            started_at: g.started_at.toISOString(),
            ended_at: g.ended_at?.toISOString() ?? null,
            from_seconds: fromSeconds,
            to_seconds: toSeconds,
            reason: g.reason,
          };
        }),
      });
    };

    const exportFile: Route["handle"] = async (_req, res, params) => {
      const vod = await findVod(res, params["id"]);
      if (vod === undefined) return;
      const file = await run(exportTwitchDownloaderChat(vod.id).pipe(Effect.catchTag("ChatExportNotFound", () => Effect.succeed(undefined))));
      if (file === undefined) return fail(res, 404, "not_found", `no VOD ${params["id"] ?? ""}`);
      const text = JSON.stringify(file);
      res.writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(text),
        "content-disposition": `attachment; filename="${file.video.id.replace(/[^\w.-]/g, "_")}.json"`,
      });
      res.end(text);
    };

    return [
      { method: "GET", path: /^\/vods\/(?<id>[^/]+)\/chat$/, handle: guarded(window) },
      { method: "GET", path: /^\/vods\/(?<id>[^/]+)\/chat\/export$/, handle: guarded(exportFile) },
    ];
  });
