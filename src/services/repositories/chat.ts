/**
 * The `chat_messages` table: batched idempotent inserts with deletions applied
 * in the same transaction, and the reads the search, export and justlog API
 * share. Rows come back snake_case, as the database layer returns them.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes";
import { Effect, Result } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { Fragment, Statement } from "effect/sql/Statement";
import type { ChatBadge, ChatEmote, ChatKind, ChatMessage } from "../chat-message.ts";

/** A chat message with the VOD it belongs to, decided when it was received. */
export interface ChatRow extends ChatMessage {
  /** `vods.id` (placeholder or archive) or null when no stream was live (24/7 logging). */
  readonly vodId: number | null;
  readonly streamId: string | null;
  /** Seconds from the VOD's start to `sentAt`; null without a VOD. */
  readonly relTimestamp: number | null;
}

/**
 * The row of a message received while `vod` was live (null: none was). Every
 * row is built by this one literal, field by field in one order, so all rows
 * share one shape whatever the kind of event, and the batch insert that reads
 * them millions of times an hour stays on V8's fast path; a spread would copy
 * each kind's own field order into the row.
 */
export const chatRowOf = (
  m: ChatMessage,
  vod: { readonly vodId: number; readonly streamId: string; readonly startedAt: Date } | null,
): ChatRow => ({
  channel: m.channel,
  msgId: m.msgId,
  kind: m.kind,
  userId: m.userId,
  username: m.username,
  displayName: m.displayName,
  color: m.color,
  badges: m.badges,
  emotes: m.emotes,
  bits: m.bits,
  replyParentMsgId: m.replyParentMsgId,
  replyParentUserLogin: m.replyParentUserLogin,
  replyParentMsgBody: m.replyParentMsgBody,
  text: m.text,
  isAction: m.isAction,
  firstMessage: m.firstMessage,
  params: m.params,
  systemMessage: m.systemMessage,
  raw: m.raw,
  sentAt: m.sentAt,
  receivedAt: m.receivedAt,
  vodId: vod === null ? null : vod.vodId,
  streamId: vod === null ? null : vod.streamId,
  relTimestamp: vod === null ? null : (m.sentAt - vod.startedAt.getTime()) / 1000,
});

/** A `chat_messages` row as read back. */
export interface StoredChatRow {
  readonly channel: string;
  readonly vod_id: number | null;
  readonly stream_id: string | null;
  readonly msg_id: string;
  readonly kind: ChatKind;
  readonly user_id: string | null;
  readonly username: string | null;
  readonly display_name: string | null;
  readonly color: string | null;
  readonly badges: ReadonlyArray<ChatBadge> | null;
  readonly emotes: ReadonlyArray<ChatEmote> | null;
  readonly bits: number | null;
  readonly reply_parent_msg_id: string | null;
  readonly reply_parent_user_login: string | null;
  readonly reply_parent_msg_body: string | null;
  readonly message: string | null;
  readonly is_action: boolean;
  readonly first_msg: boolean;
  readonly msg_params: Readonly<Record<string, string>> | null;
  readonly system_message: string | null;
  readonly raw: string | null;
  readonly abs_timestamp: Date;
  readonly rel_timestamp: number | null;
  readonly deleted_at: Date | null;
}

/** The columns every read selects (created_at is left out). */
export const storedChatColumns =
  "channel, vod_id, stream_id, msg_id, kind, user_id, username, display_name, color, badges, emotes, bits, " +
  "reply_parent_msg_id, reply_parent_user_login, reply_parent_msg_body, message, is_action, first_msg, msg_params, " +
  "system_message, raw, abs_timestamp, rel_timestamp, deleted_at";

/**
 * How far back a CLEARCHAT reaches: a timeout, ban or clear hides what viewers
 * still had on screen; a day covers any chat client's scroll-back. A CLEARMSG
 * looks for its message this far either side of itself (Twitch lets
 * moderators delete messages up to six hours old).
 */
export const clearChatLookbackMs = 24 * 60 * 60 * 1000;

// Typed arrays: the driver cannot infer the element type of a column that is
// all NULL in a batch, so every nullable column names its type.
const typed = (values: ReadonlyArray<unknown>, oid: number): PgTypes.Parameter => {
  const result = PgTypes.array(values, oid);
  if (Result.isFailure(result)) throw result.failure;
  return result.success;
};

const jsonOrNull = (value: ReadonlyArray<unknown>): string | null => (value.length === 0 ? null : JSON.stringify(value));

/** One user's messages only, named by login or by Twitch user id (the login wins when both are given). */
export interface ChatUserFilter {
  readonly username?: string;
  readonly userId?: string;
}

// The `AND …` a read appends to keep one user's messages; empty without a user.
const userClause = (sql: SqlClient, user: ChatUserFilter | undefined): Fragment =>
  user?.username !== undefined
    ? sql`AND username = ${user.username}`
    : user?.userId !== undefined
      ? sql`AND user_id = ${user.userId}`
      : sql.literal("");

/** Options of `insertChatRows`. */
export interface InsertChatOptions {
  /** Store the raw IRC line too (about doubles the row size). */
  readonly keepRaw: boolean;
}

/**
 * Inserts a batch in one transaction: new rows (a message already stored,
 * same channel, `abs_timestamp` and `msg_id`, is skipped), then the deletions the
 * batch's CLEARMSG and CLEARCHAT events cause, which reach rows of this batch
 * and earlier ones. Returns how many rows were new. Rows must be in receive
 * order so that a deletion follows the message it deletes.
 *
 * A batch is first written as a plain INSERT and only when the key refuses a
 * row again with ON CONFLICT DO NOTHING: the conflict check searches the
 * unique index once more per row before inserting into it, about a sixth of
 * the statement's cost (measured: 2,000-row batches interleaved on one table,
 * median 61 ms plain against 77 ms with the check). Duplicates are rare (a
 * journal replayed after a crash or a timed-out commit), and a batch holding
 * one costs its failed attempt once.
 */
export const insertChatRows = Effect.fn("insertChatRows")(function* (
  rows: ReadonlyArray<ChatRow>,
  options: InsertChatOptions,
): Effect.fn.Return<number, SqlError, SqlClient> {
  if (rows.length === 0) return 0;
  const sql = yield* SqlClient;
  const n = rows.length;
  const channel = new Array<string>(n);
  const vodId = new Array<number | null>(n);
  const streamId = new Array<string | null>(n);
  const msgId = new Array<string>(n);
  const kind = new Array<string>(n);
  const userId = new Array<string | null>(n);
  const username = new Array<string | null>(n);
  const displayName = new Array<string | null>(n);
  const color = new Array<string | null>(n);
  const badges = new Array<string | null>(n);
  const emotes = new Array<string | null>(n);
  const bits = new Array<number | null>(n);
  const replyId = new Array<string | null>(n);
  const replyLogin = new Array<string | null>(n);
  const replyBody = new Array<string | null>(n);
  const message = new Array<string>(n);
  const isAction = new Array<boolean>(n);
  const firstMsg = new Array<boolean>(n);
  const params = new Array<string | null>(n);
  const systemMessage = new Array<string | null>(n);
  const raw = new Array<string | null>(n);
  const abs = new Array<number>(n);
  const rel = new Array<number | null>(n);
  const clears: Array<ChatRow> = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i] as ChatRow;
    channel[i] = r.channel;
    vodId[i] = r.vodId;
    streamId[i] = r.streamId;
    msgId[i] = r.msgId;
    kind[i] = r.kind;
    userId[i] = r.userId;
    username[i] = r.username;
    displayName[i] = r.displayName;
    color[i] = r.color;
    badges[i] = jsonOrNull(r.badges);
    emotes[i] = jsonOrNull(r.emotes);
    bits[i] = r.bits;
    replyId[i] = r.replyParentMsgId;
    replyLogin[i] = r.replyParentUserLogin;
    replyBody[i] = r.replyParentMsgBody;
    message[i] = r.text;
    isAction[i] = r.isAction;
    firstMsg[i] = r.firstMessage;
    params[i] = r.params === null ? null : JSON.stringify(r.params);
    systemMessage[i] = r.systemMessage;
    raw[i] = options.keepRaw ? r.raw : null;
    abs[i] = r.sentAt;
    rel[i] = r.relTimestamp;
    if (r.kind === "CLEARMSG" || r.kind === "CLEARCHAT") clears.push(r);
  }
  const { OID } = PgTypes;
  // The arrays are unnested in the select list, not in FROM: a FROM-clause
  // unnest of many arrays materialises each into a tuplestore first, which cost
  // a tenth of the statement.
  const insert = (skipStored: boolean) => sql<{ readonly inserted: number }>`
    WITH ins AS (
      INSERT INTO chat_messages (channel, vod_id, stream_id, msg_id, kind, user_id, username, display_name, color,
        badges, emotes, bits, reply_parent_msg_id, reply_parent_user_login, reply_parent_msg_body, message, is_action,
        first_msg, msg_params, system_message, raw, abs_timestamp, rel_timestamp)
      SELECT c, v, s, m, k, u, un, dn, co, b::jsonb, e::jsonb, bi, rpi, rpl, rpb, msg, ia, fm, p::jsonb, sm, rw,
        to_timestamp(ts / 1000.0), rl
      FROM (SELECT unnest(${typed(channel, OID.text)}::text[]) AS c, unnest(${typed(vodId, OID.int8)}::int8[]) AS v,
        unnest(${typed(streamId, OID.text)}::text[]) AS s, unnest(${typed(msgId, OID.text)}::text[]) AS m,
        unnest(${typed(kind, OID.text)}::text[]) AS k, unnest(${typed(userId, OID.text)}::text[]) AS u,
        unnest(${typed(username, OID.text)}::text[]) AS un, unnest(${typed(displayName, OID.text)}::text[]) AS dn,
        unnest(${typed(color, OID.text)}::text[]) AS co, unnest(${typed(badges, OID.text)}::text[]) AS b,
        unnest(${typed(emotes, OID.text)}::text[]) AS e, unnest(${typed(bits, OID.int4)}::int4[]) AS bi,
        unnest(${typed(replyId, OID.text)}::text[]) AS rpi, unnest(${typed(replyLogin, OID.text)}::text[]) AS rpl,
        unnest(${typed(replyBody, OID.text)}::text[]) AS rpb, unnest(${typed(message, OID.text)}::text[]) AS msg,
        unnest(${typed(isAction, OID.bool)}::bool[]) AS ia, unnest(${typed(firstMsg, OID.bool)}::bool[]) AS fm,
        unnest(${typed(params, OID.text)}::text[]) AS p, unnest(${typed(systemMessage, OID.text)}::text[]) AS sm,
        unnest(${typed(raw, OID.text)}::text[]) AS rw, unnest(${typed(abs, OID.float8)}::float8[]) AS ts,
        unnest(${typed(rel, OID.float8)}::float8[]) AS rl) AS t
      ${skipStored ? sql`ON CONFLICT (channel, abs_timestamp, msg_id) DO NOTHING` : sql.literal("")}
      RETURNING 1
    )
    SELECT count(*)::int AS inserted FROM ins`;
  const write = (skipStored: boolean) =>
    clears.length === 0
      ? insert(skipStored).pipe(Effect.map(([row]) => row?.inserted ?? 0))
      : sql.withTransaction(
          Effect.gen(function* () {
            const [row] = yield* insert(skipStored);
            yield* applyDeletions(clears);
            return row?.inserted ?? 0;
          }),
        );
  return yield* write(false).pipe(Effect.catchIf((error) => error.reason._tag === "UniqueViolation", () => write(true)));
});

/**
 * Marks the messages that CLEARMSG / CLEARCHAT events removed from Twitch's
 * chat: `deleted_at` is set to the event's time, the rows stay. A CLEARMSG
 * names one message, found within `clearChatLookbackMs` of the event; a
 * CLEARCHAT with a user hides that user's messages, one without hides
 * everything, both reaching back `clearChatLookbackMs`.
 * Idempotent: rows already marked keep their first deletion time, and a row
 * several events of the list reach takes the time of the first of them.
 */
export const applyDeletions = Effect.fn("applyDeletions")(function* (
  events: ReadonlyArray<ChatMessage>,
): Effect.fn.Return<void, SqlError, SqlClient> {
  const statement = deletionStatement(yield* SqlClient, events);
  // Planned for each run's own events, never from the prepared statement's
  // cache: after five runs PostgreSQL may keep one plan for any parameters,
  // made with the table's size at that moment. Made while the month's
  // partition was nearly empty, it hash-joined every row of the month to mark
  // a timeout's few (a test shows 40,000 rows read for one timeout of 50
  // messages), and it stays until ANALYZE replaces it, which a database with
  // autovacuum slow or off may not do for days. Planning each run costs about
  // a millisecond a batch.
  if (statement !== undefined) yield* statement.unprepared;
});

/** The UPDATE `applyDeletions` runs for `events`; undefined when none of them deletes anything. */
export const deletionStatement = (sql: SqlClient, events: ReadonlyArray<ChatMessage>): Statement<object> | undefined => {
  const clears = events.filter((e) => e.kind === "CLEARMSG" || e.kind === "CLEARCHAT");
  if (clears.length === 0) return undefined;
  const { OID } = PgTypes;
  let earliestMs = Number.POSITIVE_INFINITY;
  let latestMs = Number.NEGATIVE_INFINITY;
  for (const c of clears) {
    earliestMs = Math.min(earliestMs, c.sentAt - clearChatLookbackMs);
    latestMs = Math.max(latestMs, c.kind === "CLEARMSG" ? c.sentAt + clearChatLookbackMs : c.sentAt);
  }
  const earliest = new Date(earliestMs);
  const latest = new Date(latestMs);
  // One statement for the whole list: a batch carries a deletion every few
  // dozen messages, and a round trip and a plan over every partition per
  // event cost more than the batch's insert. Each branch keeps to one index.
  // A CLEARMSG finds its message through the author (its `login` tag) and a
  // window around its own time: Twitch deletes only recent messages, and no
  // index starts with msg_id.
  //
  // The per-user branches bound their window as the row (username,
  // abs_timestamp), which only the (channel, username, abs_timestamp) index
  // can take as its range. Bounded on abs_timestamp alone, the planner costed
  // the deduplication key (channel, abs_timestamp, msg_id) the same (it takes
  // a window between two parameters to hold 0.5% of the rows) and chose it by
  // a hair: every timeout then read its channel's whole day and checked each
  // message's author in the table, and with the benchmark's chat PostgreSQL's
  // CPU per stored row went from 30 to 60 µs within a million rows.
  // `earliest`, a plain bound on the partition key, lets older months be
  // skipped without making that index look cheap (one open-ended bound is
  // taken to keep a third of the rows). The branches without a user and the
  // marking UPDATE, which go through that key anyway, are also bounded by
  // `latest`, so that only the batch's month is planned and updated, not the
  // months created ahead.
  return sql`
    WITH e AS (
      SELECT k, ch, un, tg, to_timestamp(ms / 1000.0) AS at, to_timestamp((ms - ${clearChatLookbackMs}) / 1000.0) AS since,
        to_timestamp((ms + ${clearChatLookbackMs}) / 1000.0) AS until, ord
      FROM unnest(${typed(clears.map((c) => c.kind), OID.text)}::text[], ${typed(clears.map((c) => c.channel), OID.text)}::text[],
        ${typed(clears.map((c) => c.username?.toLowerCase() ?? null), OID.text)}::text[],
        ${typed(clears.map((c) => c.params?.["target-msg-id"] ?? null), OID.text)}::text[],
        ${typed(clears.map((c) => c.sentAt), OID.float8)}::float8[]) WITH ORDINALITY AS t(k, ch, un, tg, ms, ord)
    ),
    hit AS (
      SELECT DISTINCT ON (c.channel, c.abs_timestamp, c.msg_id) c.channel, c.abs_timestamp, c.msg_id, e.at
      FROM e CROSS JOIN LATERAL (
        SELECT m.channel, m.abs_timestamp, m.msg_id FROM chat_messages m
        WHERE e.k = 'CLEARMSG' AND e.un IS NOT NULL AND m.channel = e.ch AND m.username = e.un
          AND (m.username, m.abs_timestamp) >= (e.un, e.since) AND (m.username, m.abs_timestamp) <= (e.un, e.until)
          AND m.abs_timestamp >= ${earliest} AND m.msg_id = e.tg
          AND m.deleted_at IS NULL AND m.kind IN ('PRIVMSG', 'USERNOTICE')
        UNION ALL
        SELECT m.channel, m.abs_timestamp, m.msg_id FROM chat_messages m
        WHERE e.k = 'CLEARMSG' AND e.un IS NULL AND m.channel = e.ch
          AND m.abs_timestamp >= e.since AND m.abs_timestamp <= e.until AND m.msg_id = e.tg
          AND m.abs_timestamp >= ${earliest} AND m.abs_timestamp <= ${latest}
          AND m.deleted_at IS NULL AND m.kind IN ('PRIVMSG', 'USERNOTICE')
        UNION ALL
        SELECT m.channel, m.abs_timestamp, m.msg_id FROM chat_messages m
        WHERE e.k = 'CLEARCHAT' AND e.un IS NOT NULL AND m.channel = e.ch AND m.username = e.un
          AND (m.username, m.abs_timestamp) >= (e.un, e.since) AND (m.username, m.abs_timestamp) <= (e.un, e.at)
          AND m.abs_timestamp >= ${earliest}
          AND m.deleted_at IS NULL AND m.kind IN ('PRIVMSG', 'USERNOTICE')
        UNION ALL
        SELECT m.channel, m.abs_timestamp, m.msg_id FROM chat_messages m
        WHERE e.k = 'CLEARCHAT' AND e.un IS NULL AND m.channel = e.ch
          AND m.abs_timestamp >= e.since AND m.abs_timestamp <= e.at
          AND m.abs_timestamp >= ${earliest} AND m.abs_timestamp <= ${latest}
          AND m.deleted_at IS NULL AND m.kind IN ('PRIVMSG', 'USERNOTICE')
      ) c
      ORDER BY c.channel, c.abs_timestamp, c.msg_id, e.ord
    )
    UPDATE chat_messages m SET deleted_at = hit.at
    FROM hit WHERE m.channel = hit.channel AND m.abs_timestamp = hit.abs_timestamp AND m.msg_id = hit.msg_id
      AND m.abs_timestamp >= ${earliest} AND m.abs_timestamp <= ${latest}`;
};

/** Messages of one VOD between two offsets (seconds), in order; CLEARCHAT/CLEARMSG rows included. */
export const chatRowsOfVod = Effect.fn("chatRowsOfVod")(function* (
  vodId: number,
  window?: { readonly fromSeconds?: number; readonly toSeconds?: number; readonly limit?: number; readonly kinds?: ReadonlyArray<ChatKind> },
): Effect.fn.Return<ReadonlyArray<StoredChatRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const from = window?.fromSeconds ?? Number.NEGATIVE_INFINITY;
  const to = window?.toSeconds ?? Number.POSITIVE_INFINITY;
  const kinds = window?.kinds ?? ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"];
  return yield* sql<StoredChatRow>`
    SELECT ${sql.literal(storedChatColumns)} FROM chat_messages
    WHERE vod_id = ${vodId}
      AND rel_timestamp >= ${Number.isFinite(from) ? from : -1e12}
      AND rel_timestamp < ${Number.isFinite(to) ? to : 1e12}
      AND kind IN ${sql.in(kinds)}
    ORDER BY rel_timestamp, abs_timestamp, msg_id
    ${window?.limit === undefined ? sql.literal("") : sql`LIMIT ${window.limit}`}`;
});

/**
 * A channel's messages in `[from, to)`, oldest first, optionally of one user
 * (login) only. For the justlog-compatible day and month logs.
 */
export const chatRowsOfChannel = Effect.fn("chatRowsOfChannel")(function* (
  channel: string,
  from: Date,
  to: Date,
  options?: ChatUserFilter & { readonly limit?: number },
): Effect.fn.Return<ReadonlyArray<StoredChatRow>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const byUser = userClause(sql, options);
  return yield* sql<StoredChatRow>`
    SELECT ${sql.literal(storedChatColumns)} FROM chat_messages
    WHERE channel = ${channel} AND abs_timestamp >= ${from} AND abs_timestamp < ${to} ${byUser}
    ORDER BY abs_timestamp, msg_id
    LIMIT ${options?.limit ?? 1_000_000}`;
});

/** The newest message time of a channel (optionally of one user), or undefined when there is none. */
export const latestChatTime = Effect.fn("latestChatTime")(function* (
  channel: string,
  options?: ChatUserFilter,
): Effect.fn.Return<Date | undefined, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const byUser = userClause(sql, options);
  const rows = yield* sql<{ readonly at: Date | null }>`
    SELECT max(abs_timestamp) AS at FROM chat_messages WHERE channel = ${channel} ${byUser}`;
  return rows[0]?.at ?? undefined;
});

/** Distinct UTC days (or months, with a user) that have messages, newest first. */
export const chatLogDates = Effect.fn("chatLogDates")(function* (
  channel: string,
  options?: ChatUserFilter,
): Effect.fn.Return<ReadonlyArray<{ readonly year: number; readonly month: number; readonly day: number | null }>, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const perUser = options?.username !== undefined || options?.userId !== undefined;
  const byUser = userClause(sql, options);
  const unit = perUser ? "month" : "day";
  const rows = yield* sql<{ readonly d: Date }>`
    SELECT DISTINCT date_trunc(${unit}, abs_timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS d
    FROM chat_messages WHERE channel = ${channel} ${byUser}
    ORDER BY d DESC`;
  return rows.map((r) => ({
    year: r.d.getUTCFullYear(),
    month: r.d.getUTCMonth() + 1,
    day: perUser ? null : r.d.getUTCDate(),
  }));
});

/** Channel logins that have chat, with Twitch's room id when one was seen. */
export const chatChannels = Effect.fn("chatChannels")(function* (): Effect.fn.Return<
  ReadonlyArray<{ readonly name: string; readonly userID: string | null }>,
  SqlError,
  SqlClient
> {
  const sql = yield* SqlClient;
  return yield* sql<{ readonly name: string; readonly userID: string | null }>`
    SELECT c.name, c.twitch_user_id AS "userID" FROM channels c ORDER BY c.name`;
});

/**
 * Attributes a channel's messages stored without a VOD, sent in `[from, to]`,
 * to a VOD: for chat logged around the clock that arrived between a stream's
 * start and the moment it was seen live. Returns how many rows moved.
 */
export const attributeChatToVod = Effect.fn("attributeChatToVod")(function* (
  channel: string,
  target: { readonly vodId: number; readonly streamId: string; readonly startedAt: Date },
  from: Date,
  to: Date,
): Effect.fn.Return<number, SqlError, SqlClient> {
  const sql = yield* SqlClient;
  const rows = yield* sql<{ readonly n: number }>`
    WITH moved AS (
      UPDATE chat_messages
      SET vod_id = ${target.vodId}, stream_id = ${target.streamId},
        rel_timestamp = EXTRACT(EPOCH FROM (abs_timestamp - ${target.startedAt}::timestamptz))
      WHERE channel = ${channel} AND vod_id IS NULL AND abs_timestamp >= ${from} AND abs_timestamp <= ${to}
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM moved`;
  return rows[0]?.n ?? 0;
});
