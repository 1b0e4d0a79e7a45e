/**
 * Reading chat: full-text search across channels and VODs (PostgreSQL text
 * search over the `search` vector, through its GIN index, ranked), and a VOD's
 * messages by time window. The query text takes web-search syntax: words,
 * "quoted phrases", `-excluded` words and `or`.
 */
import { Effect, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { ChatBadge, ChatEmote, ChatKind } from "./chat-message.ts";
import { type ChatGapRow, chatGapsOfVod } from "./repositories/chat-gaps.ts";
import { chatRowsOfVod, type StoredChatRow } from "./repositories/chat.ts";

/** What to search for. */
export interface ChatSearchQuery {
  /** Web-search syntax; empty lists the newest messages matching the filters. */
  readonly text: string;
  /** Channel logins; all when absent or empty. */
  readonly channels?: ReadonlyArray<string>;
  /** One user's messages (login). */
  readonly user?: string;
  /** One VOD's messages (`vods.id`). */
  readonly vodId?: number;
  /** Sent at or after. */
  readonly from?: Date;
  /** Sent before. */
  readonly to?: Date;
  /** Deleted (moderated) messages are included unless this is false. */
  readonly includeDeleted?: boolean;
  /** Page size, 1–500; default 50. */
  readonly limit?: number;
  /** Rows to skip; default 0. */
  readonly offset?: number;
}

/** One message found. */
export interface ChatSearchHit {
  readonly channel: string;
  readonly vodId: number | null;
  readonly streamId: string | null;
  readonly msgId: string;
  readonly kind: ChatKind;
  readonly username: string | null;
  readonly displayName: string | null;
  readonly message: string | null;
  readonly systemMessage: string | null;
  readonly badges: ReadonlyArray<ChatBadge>;
  readonly emotes: ReadonlyArray<ChatEmote>;
  readonly at: Date;
  /** Seconds into the VOD. */
  readonly relTimestamp: number | null;
  readonly deletedAt: Date | null;
  /** Text-search rank (higher is better); 0 without query text. */
  readonly rank: number;
}

/** A page of hits. */
export interface ChatSearchPage {
  readonly hits: ReadonlyArray<ChatSearchHit>;
  readonly limit: number;
  readonly offset: number;
  /** More hits follow this page. */
  readonly hasMore: boolean;
}

/** A search the database cannot run (bad filters). */
export class ChatSearchError extends Schema.TaggedError<ChatSearchError>()("ChatSearchError", {
  message: Schema.String,
}) {}

const hitOf = (r: StoredChatRow & { readonly rank: number }): ChatSearchHit => ({
  channel: r.channel,
  vodId: r.vod_id,
  streamId: r.stream_id,
  msgId: r.msg_id,
  kind: r.kind,
  username: r.username,
  displayName: r.display_name,
  message: r.message,
  systemMessage: r.system_message,
  badges: r.badges ?? [],
  emotes: r.emotes ?? [],
  at: r.abs_timestamp,
  relTimestamp: r.rel_timestamp,
  deletedAt: r.deleted_at,
  rank: r.rank,
});

/**
 * A message's words as full-text search sees them: exactly the expression
 * `chat_messages_search_idx` indexes (migration 0006), or a search would read
 * every row.
 */
export const chatSearchVector = "to_tsvector('simple'::regconfig, coalesce(message, '') || ' ' || coalesce(system_message, ''))";

/**
 * Searches chat. With query text, matches are ranked by `ts_rank_cd` (cover
 * density: phrase and proximity matches first), then newest first; without,
 * the newest messages matching the filters come first. Pages by offset.
 */
export const searchChat = Effect.fn("searchChat")(function* (
  query: ChatSearchQuery,
): Effect.fn.Return<ChatSearchPage, ChatSearchError | SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const limit = Math.min(500, Math.max(1, Math.floor(query.limit ?? 50)));
  const offset = Math.max(0, Math.floor(query.offset ?? 0));
  if (query.from !== undefined && query.to !== undefined && query.from.getTime() > query.to.getTime()) {
    return yield* new ChatSearchError({ message: "the time range ends before it starts" });
  }
  const text = query.text.trim();
  const conditions = [
    text === "" ? sql`TRUE` : sql`${sql.literal(chatSearchVector)} @@ websearch_to_tsquery('simple', ${text})`,
    query.channels !== undefined && query.channels.length > 0
      ? sql`channel = ANY(${query.channels.map((c) => c.toLowerCase())}::text[])`
      : sql`TRUE`,
    query.user !== undefined ? sql`username = ${query.user.toLowerCase()}` : sql`TRUE`,
    query.vodId !== undefined ? sql`vod_id = ${query.vodId}` : sql`TRUE`,
    query.from !== undefined ? sql`abs_timestamp >= ${query.from}` : sql`TRUE`,
    query.to !== undefined ? sql`abs_timestamp < ${query.to}` : sql`TRUE`,
    query.includeDeleted === false ? sql`deleted_at IS NULL` : sql`TRUE`,
    sql`kind IN ('PRIVMSG', 'USERNOTICE')`,
  ];
  const rank = text === "" ? sql`0::float4` : sql`ts_rank_cd(${sql.literal(chatSearchVector)}, websearch_to_tsquery('simple', ${text}))`;
  const rows = yield* sql<StoredChatRow & { readonly rank: number }>`
    SELECT channel, vod_id, stream_id, msg_id, kind, username, display_name, message, system_message, badges, emotes,
      abs_timestamp, rel_timestamp, deleted_at, ${rank} AS rank
    FROM chat_messages
    WHERE ${sql.and(conditions)}
    ORDER BY rank DESC, abs_timestamp DESC, msg_id
    LIMIT ${limit + 1} OFFSET ${offset}`;
  return {
    hits: rows.slice(0, limit).map(hitOf),
    limit,
    offset,
    hasMore: rows.length > limit,
  };
});

/** A page of a VOD's chat, with the VOD's gaps. */
export interface VodChatWindow {
  readonly messages: ReadonlyArray<StoredChatRow>;
  readonly gaps: ReadonlyArray<ChatGapRow>;
  /** Where the next page starts (`fromSeconds`), or null when this one reaches the window's end. */
  readonly nextFrom: number | null;
}

/** Where a gap falls in its VOD, in seconds from the VOD's start (null ends: start unknown, or the gap still open). */
export const gapOffsets = (gap: ChatGapRow, vodStart: Date | null): { readonly fromSeconds: number | null; readonly toSeconds: number | null } => {
  const offsetOf = (at: Date | null) => (at === null || vodStart === null ? null : (at.getTime() - vodStart.getTime()) / 1000);
  return { fromSeconds: offsetOf(gap.started_at), toSeconds: offsetOf(gap.ended_at) };
};

/**
 * Messages and user notices of one VOD with `fromSeconds <= rel_timestamp <
 * toSeconds`, in order (deletions included, flagged by `deleted_at`), at most
 * `limit` of them, and the VOD's gaps, so a reader sees what is missing.
 *
 * Pages end between two offsets: the messages that share the offset of the
 * first one left out all start the next page, so paging by `nextFrom` shows
 * none twice and skips none. (Only when more than `limit` messages share one
 * millisecond does the next page start after that millisecond, past the rest.)
 */
export const vodChatWindow = Effect.fn("vodChatWindow")(function* (
  vodId: number,
  window?: { readonly fromSeconds?: number; readonly toSeconds?: number; readonly limit?: number },
): Effect.fn.Return<VodChatWindow, SqlError, SqlClient> {
  const limit = window?.limit;
  const rows = yield* chatRowsOfVod(vodId, {
    ...window,
    ...(limit === undefined ? {} : { limit: limit + 1 }),
    kinds: ["PRIVMSG", "USERNOTICE"],
  });
  const gaps = yield* chatGapsOfVod(vodId);
  if (limit === undefined || rows.length <= limit) return { messages: rows, gaps, nextFrom: null };
  const next = rows[limit]?.rel_timestamp ?? 0;
  const before = rows.slice(0, limit).filter((r) => r.rel_timestamp !== null && r.rel_timestamp < next);
  return before.length > 0
    ? { messages: before, gaps, nextFrom: next }
    : { messages: rows.slice(0, limit), gaps, nextFrom: next + 0.001 };
});
