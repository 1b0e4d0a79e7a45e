/**
 * A read-only chat log API with justlog's paths and formats (rustlog kept
 * them), so existing log viewers (the justlog/rustlog web UI, bots that fetch
 * user logs) work against vod-tender:
 *
 *   GET /channels                                 {"channels":[{"userID","name"}]}
 *   GET /list?channel=c[&user=u]                  {"availableLogs":[{"year","month","day"}]}
 *   GET /channel/{c}                              → latest day with logs
 *   GET /channel/{c}/{yyyy}/{m}/{d}               a day of a channel
 *   GET /channel/{c}/user/{u}                     → latest month of that user
 *   GET /channel/{c}/user/{u}/{yyyy}/{m}          a month of one user
 *   (`/channelid/{id}` and `/userid/{id}` name them by Twitch id)
 *
 * Text by default (`[2006-01-2 15:04:05] #chan user: text`), `?json` (or
 * `?type=json`, or a JSON Accept header) for justlog's JSON, `?raw` for the
 * IRC lines; `?reverse` lists newest first. Times are UTC.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { escapeTagValue, formatEmotes } from "../services/chat-message.ts";
import { chatChannels, chatLogDates, chatRowsOfChannel, latestChatTime, type StoredChatRow } from "../services/repositories/chat.ts";
import { type Route, sendJson, sendText } from "./http-server.ts";

/** go-twitch-irc's message type numbers, which justlog's JSON uses. */
const messageType: Record<string, number> = { PRIVMSG: 1, CLEARCHAT: 2, USERNOTICE: 4, CLEARMSG: 13 };

const pad = (n: number) => String(n).padStart(2, "0");

/** justlog's time format, Go layout `2006-01-2 15:04:05` (day not padded), UTC. */
export const justlogTime = (d: Date): string =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${d.getUTCDate()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/** The tags of a stored row, as Twitch sent them (from `raw` when kept, else rebuilt from the columns). */
export const tagsOf = (r: StoredChatRow): Record<string, string> => {
  const tags: Record<string, string> = {};
  if (r.kind === "PRIVMSG" || r.kind === "USERNOTICE") {
    tags["badges"] = (r.badges ?? []).map((b) => (b.version === "" ? b.name : `${b.name}/${b.version}`)).join(",");
    tags["color"] = r.color ?? "";
    tags["display-name"] = r.display_name ?? "";
    tags["emotes"] = formatEmotes(r.emotes ?? []);
    if (r.user_id !== null) tags["user-id"] = r.user_id;
    tags["id"] = r.msg_id;
  }
  if (r.bits !== null) tags["bits"] = String(r.bits);
  if (r.first_msg) tags["first-msg"] = "1";
  if (r.reply_parent_msg_id !== null) tags["reply-parent-msg-id"] = r.reply_parent_msg_id;
  if (r.reply_parent_user_login !== null) tags["reply-parent-user-login"] = r.reply_parent_user_login;
  if (r.reply_parent_msg_body !== null) tags["reply-parent-msg-body"] = r.reply_parent_msg_body;
  if ((r.kind === "USERNOTICE" || r.kind === "CLEARMSG") && r.username !== null) tags["login"] = r.username;
  if (r.system_message !== null) tags["system-msg"] = r.system_message;
  for (const [k, v] of Object.entries(r.msg_params ?? {})) tags[k] = v;
  tags["tmi-sent-ts"] = String(r.abs_timestamp.getTime());
  return tags;
};

/** The IRC line of a stored row: the one received when it was kept, else rebuilt. */
export const rawLineOf = (r: StoredChatRow): string => {
  if (r.raw !== null) return r.raw;
  const tags = tagsOf(r);
  const tagText = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${escapeTagValue(tags[k] as string)}`)
    .join(";");
  const chan = `#${r.channel}`;
  const body = r.is_action ? `\u0001ACTION ${r.message ?? ""}\u0001` : (r.message ?? "");
  const user = r.username ?? "";
  switch (r.kind) {
    case "PRIVMSG":
      return `@${tagText} :${user}!${user}@${user}.tmi.twitch.tv PRIVMSG ${chan} :${body}`;
    case "USERNOTICE":
      return `@${tagText} :tmi.twitch.tv USERNOTICE ${chan}${body === "" ? "" : ` :${body}`}`;
    case "CLEARCHAT":
      return `@${tagText} :tmi.twitch.tv CLEARCHAT ${chan}${r.username === null ? "" : ` :${r.username}`}`;
    default:
      return `@${tagText} :tmi.twitch.tv CLEARMSG ${chan} :${body}`;
  }
};

/** justlog's one-line text of a row. */
export const textLineOf = (r: StoredChatRow): string => {
  const prefix = `[${justlogTime(r.abs_timestamp)}] #${r.channel}`;
  const user = r.username ?? "";
  switch (r.kind) {
    case "PRIVMSG":
      return `${prefix} ${user}: ${r.message ?? ""}`;
    case "USERNOTICE":
      return `${prefix} ${r.system_message ?? ""}${r.message ? ` ${user}: ${r.message}` : ""}`.trimEnd();
    case "CLEARCHAT": {
      if (r.username === null) return `${prefix} chat has been cleared`;
      const duration = r.msg_params?.["ban-duration"];
      return duration === undefined ? `${prefix} ${user} has been banned` : `${prefix} ${user} has been timed out for ${duration} seconds`;
    }
    default:
      return `${prefix} ${user}'s message has been deleted: ${r.message ?? ""}`;
  }
};

/** justlog's JSON message of a row. */
export const jsonMessageOf = (r: StoredChatRow) => ({
  text: r.kind === "CLEARCHAT" || r.kind === "CLEARMSG" ? textLineOf(r).replace(/^\[[^\]]*\] #\S+ /, "") : (r.message ?? ""),
  systemText: r.system_message ?? "",
  username: r.username ?? "",
  displayName: r.display_name ?? r.username ?? "",
  channel: r.channel,
  timestamp: r.abs_timestamp.toISOString(),
  id: r.msg_id,
  type: messageType[r.kind] ?? 0,
  raw: rawLineOf(r),
  tags: tagsOf(r),
});

type Format = "text" | "json" | "raw";

const formatOf = (req: IncomingMessage, query: URLSearchParams): Format => {
  if (query.has("json") || query.get("type") === "json") return "json";
  if (query.has("raw") || query.get("type") === "raw") return "raw";
  const accept = `${req.headers["accept"] ?? ""} ${req.headers["content-type"] ?? ""}`;
  return accept.includes("application/json") ? "json" : "text";
};

const respond = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams, rows: ReadonlyArray<StoredChatRow>) => {
  const ordered = query.has("reverse") ? [...rows].reverse() : rows;
  switch (formatOf(req, query)) {
    case "json":
      return sendJson(res, 200, { messages: ordered.map(jsonMessageOf) });
    case "raw":
      return sendText(res, 200, ordered.map((r) => `${rawLineOf(r)}\n`).join(""));
    default:
      return sendText(res, 200, ordered.map((r) => `${textLineOf(r)}\n`).join(""));
  }
};

const redirect = (res: ServerResponse, location: string, query: URLSearchParams) => {
  const q = query.toString();
  res.writeHead(303, { location: q === "" ? location : `${location}?${q}` });
  res.end();
};

const notFound = (res: ServerResponse) => sendJson(res, 404, { error: "error finding logs" });

const queryOf = (req: IncomingMessage) => new URL(req.url ?? "/", "http://localhost").searchParams;

/** Options of `justlogRoutes`. */
export interface JustlogOptions {
  /** Mount under this path (e.g. `/logs`); justlog's own paths by default. */
  readonly prefix?: string;
}

/**
 * The route table (for `serveHttp`'s `routes`), reading through the
 * `SqlClient` of the calling context.
 */
export const justlogRoutes = (options?: JustlogOptions): Effect.Effect<ReadonlyArray<Route>, never, SqlClient> =>
  Effect.map(Effect.context<SqlClient>(), (context) => {
    const run = Effect.runPromiseWith(context);
    const p = (options?.prefix ?? "").replace(/\/$/, "");
    const path = (pattern: string) => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${pattern}$`);

    // `/channel/{name}` or `/channelid/{id}` → login.
    const channelOf = (kind: string, value: string) =>
      kind === "channel"
        ? Effect.succeed<string | undefined>(value.toLowerCase())
        : Effect.map(chatChannels(), (all) => all.find((c) => c.userID === value)?.name);
    const userOf = (kind: string, value: string) => (kind === "user" ? { username: value.toLowerCase() } : { userId: value });

    const lowerCase = (req: IncomingMessage, res: ServerResponse): boolean => {
      const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
      if (pathname === pathname.toLowerCase() || /\/(channelid|userid)\//.test(pathname)) return false;
      redirect(res, pathname.toLowerCase(), queryOf(req));
      return true;
    };

    const routes: Route[] = [
      {
        method: "GET",
        path: `${p}/channels`,
        handle: async (_req, res) => {
          const channels = await run(chatChannels());
          sendJson(res, 200, { channels: channels.map((c) => ({ userID: c.userID ?? "", name: c.name })) });
        },
      },
      {
        method: "GET",
        path: `${p}/list`,
        handle: async (req, res) => {
          const q = queryOf(req);
          const channel = await run(
            q.has("channelid") ? channelOf("channelid", q.get("channelid") ?? "") : channelOf("channel", q.get("channel") ?? ""),
          );
          if (channel === undefined || channel === "") return notFound(res);
          const user = q.has("userid") ? { userId: q.get("userid") ?? "" } : q.has("user") ? { username: (q.get("user") ?? "").toLowerCase() } : undefined;
          const dates = await run(chatLogDates(channel, user));
          if (dates.length === 0) return notFound(res);
          sendJson(res, 200, {
            availableLogs: dates.map((d) => (d.day === null ? { year: String(d.year), month: String(d.month) } : { year: String(d.year), month: String(d.month), day: String(d.day) })),
          });
        },
      },
      {
        method: "GET",
        path: path(`/(?<kind>channel|channelid)/(?<name>[^/]+)/user/(?<user>[^/]+)/(?<year>\\d{4})/(?<month>\\d{1,2})`),
        handle: async (req, res, params) => {
          if (lowerCase(req, res)) return;
          const channel = await run(channelOf(params["kind"] ?? "", decodeURIComponent(params["name"] ?? "")));
          if (channel === undefined) return notFound(res);
          const year = Number(params["year"]);
          const month = Number(params["month"]);
          const from = new Date(Date.UTC(year, month - 1, 1));
          const to = new Date(Date.UTC(year, month, 1));
          const rows = await run(chatRowsOfChannel(channel, from, to, userOf("user", decodeURIComponent(params["user"] ?? ""))));
          respond(req, res, queryOf(req), rows);
        },
      },
      {
        method: "GET",
        path: path(`/(?<kind>channel|channelid)/(?<name>[^/]+)/(?<userKind>user|userid)/(?<user>[^/]+)`),
        handle: async (req, res, params) => {
          if (lowerCase(req, res)) return;
          const channel = await run(channelOf(params["kind"] ?? "", decodeURIComponent(params["name"] ?? "")));
          if (channel === undefined) return notFound(res);
          const userKind = params["userKind"] ?? "user";
          const user = decodeURIComponent(params["user"] ?? "");
          const who = userOf(userKind, user);
          const latest = await run(latestChatTime(channel, who));
          if (latest === undefined) return notFound(res);
          if (userKind === "userid") {
            // A user named by id: their latest month is served here, as a redirect would need their login.
            const from = new Date(Date.UTC(latest.getUTCFullYear(), latest.getUTCMonth(), 1));
            const to = new Date(Date.UTC(latest.getUTCFullYear(), latest.getUTCMonth() + 1, 1));
            return respond(req, res, queryOf(req), await run(chatRowsOfChannel(channel, from, to, who)));
          }
          redirect(res, `${p}/channel/${channel}/user/${encodeURIComponent(user.toLowerCase())}/${latest.getUTCFullYear()}/${latest.getUTCMonth() + 1}`, queryOf(req));
        },
      },
      {
        method: "GET",
        path: path(`/(?<kind>channel|channelid)/(?<name>[^/]+)/(?<year>\\d{4})/(?<month>\\d{1,2})/(?<day>\\d{1,2})`),
        handle: async (req, res, params) => {
          if (lowerCase(req, res)) return;
          const channel = await run(channelOf(params["kind"] ?? "", decodeURIComponent(params["name"] ?? "")));
          if (channel === undefined) return notFound(res);
          const from = new Date(Date.UTC(Number(params["year"]), Number(params["month"]) - 1, Number(params["day"])));
          const to = new Date(from.getTime() + 86_400_000);
          respond(req, res, queryOf(req), await run(chatRowsOfChannel(channel, from, to)));
        },
      },
      {
        method: "GET",
        path: path(`/(?<kind>channel|channelid)/(?<name>[^/]+)`),
        handle: async (req, res, params) => {
          if (lowerCase(req, res)) return;
          const channel = await run(channelOf(params["kind"] ?? "", decodeURIComponent(params["name"] ?? "")));
          if (channel === undefined) return notFound(res);
          const latest = await run(latestChatTime(channel));
          if (latest === undefined) return notFound(res);
          redirect(res, `${p}/channel/${channel}/${latest.getUTCFullYear()}/${latest.getUTCMonth() + 1}/${latest.getUTCDate()}`, queryOf(req));
        },
      },
    ];
    return routes;
  });
