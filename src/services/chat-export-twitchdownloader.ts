/**
 * A VOD's chat as TwitchDownloader's chat JSON (`ChatRoot`, file version
 * 1.4.0), so TwitchDownloader's renderer, Ganymede and LiveStreamDVR's player
 * can use it: `comments[]` with `content_offset_seconds`, `commenter`,
 * `message.body`, `fragments` (text split around emotes), `user_badges`,
 * `emoticons`. Deleted messages are left out, as Twitch's own replay does.
 */
import { Effect, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { ChatEmote } from "./chat-message.ts";
import { chatRowsOfVod, type StoredChatRow } from "./repositories/chat.ts";

/** One piece of a message: plain text, or an emote's text with its id. */
export interface TdFragment {
  readonly text: string;
  readonly emoticon: { readonly emoticon_id: string } | null;
}

/** One comment in TwitchDownloader's shape. */
export interface TdComment {
  readonly _id: string;
  readonly created_at: string;
  readonly channel_id: string;
  readonly content_type: "video";
  readonly content_id: string;
  readonly content_offset_seconds: number;
  readonly commenter: {
    readonly display_name: string;
    readonly _id: string;
    readonly name: string;
    readonly bio: string | null;
    readonly created_at: string;
    readonly updated_at: string;
    readonly logo: string | null;
  };
  readonly message: {
    readonly body: string;
    readonly bits_spent: number;
    readonly fragments: ReadonlyArray<TdFragment>;
    readonly user_badges: ReadonlyArray<{ readonly _id: string; readonly version: string }>;
    readonly user_color: string | null;
    readonly user_notice_params: { readonly msg_id: string | null };
    readonly emoticons: ReadonlyArray<{ readonly _id: string; readonly begin: number; readonly end: number }>;
  };
}

/** TwitchDownloader's chat file (`ChatRoot`). */
export interface TwitchDownloaderChat {
  readonly FileInfo: {
    readonly Version: { readonly Major: number; readonly Minor: number; readonly Patch: number };
    readonly CreatedAt: string;
    readonly UpdatedAt: string;
  };
  readonly streamer: { readonly name: string; readonly login: string; readonly id: number };
  readonly clipper: null;
  readonly video: {
    readonly title: string;
    readonly description: string | null;
    readonly id: string;
    readonly created_at: string;
    readonly start: number;
    readonly end: number;
    readonly length: number;
    readonly viewCount: number;
    readonly game: string | null;
    readonly chapters: ReadonlyArray<never>;
  };
  readonly comments: ReadonlyArray<TdComment>;
  readonly embeddedData: null;
}

/** The VOD does not exist. */
export class ChatExportNotFound extends Schema.TaggedError<ChatExportNotFound>()("ChatExportNotFound", {
  vodId: Schema.Number,
  message: Schema.String,
}) {}

// Commenter account dates are not known from IRC; TwitchDownloader requires a
// date there, so .NET's zero date stands for "unknown".
const unknownDate = "0001-01-01T00:00:00Z";

/**
 * Splits `body` around its emotes (code-point ranges, as Twitch sends them).
 * Ranges outside the text or overlapping an earlier one are left as text.
 */
export const fragmentsOf = (body: string, emotes: ReadonlyArray<ChatEmote>): ReadonlyArray<TdFragment> => {
  if (emotes.length === 0) return [{ text: body, emoticon: null }];
  const points = Array.from(body);
  const out: TdFragment[] = [];
  let at = 0;
  for (const e of [...emotes].sort((a, b) => a.begin - b.begin)) {
    if (e.begin < at || e.end >= points.length) continue;
    if (e.begin > at) out.push({ text: points.slice(at, e.begin).join(""), emoticon: null });
    out.push({ text: points.slice(e.begin, e.end + 1).join(""), emoticon: { emoticon_id: e.id } });
    at = e.end + 1;
  }
  if (at < points.length) out.push({ text: points.slice(at).join(""), emoticon: null });
  return out;
};

interface VodRow {
  readonly id: number;
  readonly channel: string;
  readonly twitch_vod_id: string | null;
  readonly stream_id: string | null;
  readonly title: string | null;
  readonly description: string | null;
  readonly date: Date | null;
  readonly duration_seconds: number | null;
  readonly view_count: number | null;
  readonly display_name: string | null;
  readonly twitch_user_id: string | null;
  readonly game_name: string | null;
}

const commentOf = (r: StoredChatRow, videoId: string, channelId: string): TdComment => {
  const body = r.message !== null && r.message !== "" ? r.message : (r.system_message ?? "");
  const emotes = r.message !== null && r.message !== "" ? (r.emotes ?? []) : [];
  const login = r.username ?? "";
  return {
    _id: r.msg_id,
    created_at: r.abs_timestamp.toISOString(),
    channel_id: r.msg_params?.["room-id"] ?? channelId,
    content_type: "video",
    content_id: videoId,
    content_offset_seconds: r.rel_timestamp ?? 0,
    commenter: {
      display_name: r.display_name ?? login,
      _id: r.user_id ?? "",
      name: login,
      bio: null,
      created_at: unknownDate,
      updated_at: unknownDate,
      logo: null,
    },
    message: {
      body,
      bits_spent: r.bits ?? 0,
      fragments: fragmentsOf(body, emotes),
      user_badges: (r.badges ?? []).map((b) => ({ _id: b.name, version: b.version })),
      user_color: r.color,
      user_notice_params: { msg_id: r.kind === "USERNOTICE" ? (r.msg_params?.["msg-id"] ?? null) : null },
      emoticons: emotes.map((e) => ({ _id: e.id, begin: e.begin, end: e.end })),
    },
  };
};

/**
 * Builds the TwitchDownloader file of one VOD (`vods.id`): its messages and
 * user notices in order, not the deleted ones. A placeholder VOD (chat of a
 * stream whose archive is not known yet) exports under `stream-<stream id>`.
 */
export const exportTwitchDownloaderChat = Effect.fn("exportTwitchDownloaderChat")(function* (
  vodId: number,
  options?: { readonly now?: Date },
): Effect.fn.Return<TwitchDownloaderChat, ChatExportNotFound | SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const vods = yield* sql<VodRow>`
    SELECT v.id, v.channel, v.twitch_vod_id, v.stream_id, v.title, v.description, v.date, v.duration_seconds, v.view_count,
      c.display_name, c.twitch_user_id, s.game_name
    FROM vods v
    LEFT JOIN channels c ON c.name = v.channel
    LEFT JOIN streams s ON s.channel = v.channel AND s.stream_id = v.stream_id
    WHERE v.id = ${vodId}`;
  const vod = vods[0];
  if (vod === undefined) return yield* new ChatExportNotFound({ vodId, message: `no VOD with id ${vodId}` });
  const rows = (yield* chatRowsOfVod(vodId, { kinds: ["PRIVMSG", "USERNOTICE"] })).filter((r) => r.deleted_at === null);
  const videoId = vod.twitch_vod_id ?? `stream-${vod.stream_id ?? vod.id}`;
  const roomId = vod.twitch_user_id ?? rows.find((r) => r.msg_params?.["room-id"] !== undefined)?.msg_params?.["room-id"] ?? "0";
  const comments = rows.map((r) => commentOf(r, videoId, roomId));
  const lastOffset = comments.length === 0 ? 0 : Math.max(0, ...comments.map((c) => c.content_offset_seconds));
  const length = vod.duration_seconds ?? Math.ceil(lastOffset);
  const now = (options?.now ?? new Date()).toISOString();
  return {
    FileInfo: { Version: { Major: 1, Minor: 4, Patch: 0 }, CreatedAt: now, UpdatedAt: now },
    streamer: { name: vod.display_name ?? vod.channel, login: vod.channel, id: Number.parseInt(roomId, 10) || 0 },
    clipper: null,
    video: {
      title: vod.title ?? "",
      description: vod.description,
      id: videoId,
      created_at: (vod.date ?? rows[0]?.abs_timestamp ?? new Date(0)).toISOString(),
      start: 0,
      end: length,
      length,
      viewCount: vod.view_count ?? 0,
      game: vod.game_name,
      chapters: [],
    },
    comments,
    embeddedData: null,
  };
});
