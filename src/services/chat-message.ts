/**
 * One recorded chat event, as it is stored: a raw Twitch IRC line
 * (PRIVMSG, USERNOTICE, CLEARCHAT, CLEARMSG) turned into a row.
 *
 * The line is read here rather than through tmi.js's message objects for two
 * reasons: tmi.js decodes `\n` and `\r` in tag values to nothing (IRCv3 says LF
 * and CR), and its per-message work (deep copies, tag rewriting, emote objects)
 * is the largest cost at tens of thousands of messages a second. tmi.js still
 * owns the connection; only the chat lines are mapped here.
 */
import { createHash } from "node:crypto";

/** What kind of event a row records: the IRC command, as in the `kind` column. */
export type ChatKind = "PRIVMSG" | "USERNOTICE" | "CLEARCHAT" | "CLEARMSG";

/** Every stored kind. */
export const chatKinds: ReadonlyArray<ChatKind> = ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"];

/** A badge as Twitch sends it: `subscriber/12` is `{ name: "subscriber", version: "12" }`. */
export interface ChatBadge {
  readonly name: string;
  readonly version: string;
}

/**
 * One emote occurrence. `begin` and `end` are inclusive indices in Unicode code
 * points of the message text, as in Twitch's `emotes` tag (not UTF-16 units).
 */
export interface ChatEmote {
  readonly id: string;
  readonly begin: number;
  readonly end: number;
}

/** A parsed IRC line: tags unescaped per IRCv3, params with the trailing one last. */
export interface IrcMessage {
  readonly tags: Record<string, string>;
  readonly prefix: string | null;
  readonly command: string;
  readonly params: ReadonlyArray<string>;
}

/** A chat event ready to be stored, one field per `chat_messages` column. Times are ms since the epoch. */
export interface ChatMessage {
  /** Channel login, lower case, without `#`. */
  readonly channel: string;
  /** Twitch's `id` tag, or a stable id derived from the raw line when there is none. */
  readonly msgId: string;
  readonly kind: ChatKind;
  /** The author; for CLEARCHAT the user timed out or banned, for CLEARMSG the author of the deleted message. */
  readonly userId: string | null;
  /** Login, lower case. */
  readonly username: string | null;
  readonly displayName: string | null;
  readonly color: string | null;
  readonly badges: ReadonlyArray<ChatBadge>;
  readonly emotes: ReadonlyArray<ChatEmote>;
  readonly bits: number | null;
  readonly replyParentMsgId: string | null;
  readonly replyParentUserLogin: string | null;
  readonly replyParentMsgBody: string | null;
  /** Message text; the deleted text for CLEARMSG; empty when the event has none. */
  readonly text: string;
  /** `/me` message: the text is stored without the `\x01ACTION` framing. */
  readonly isAction: boolean;
  /** The user's first message in this channel (`first-msg=1`). */
  readonly firstMessage: boolean;
  /**
   * The event's parameters, tag names as Twitch spells them: `msg-id` and every
   * `msg-param-*` (USERNOTICE; `msg-id` also on highlighted PRIVMSGs),
   * `custom-reward-id`, `ban-duration` and `target-user-id` (CLEARCHAT),
   * `target-msg-id` (CLEARMSG), `room-id`. `null` when there are none.
   */
  readonly params: Readonly<Record<string, string>> | null;
  /** USERNOTICE `system-msg`: Twitch's own sentence for the event. */
  readonly systemMessage: string | null;
  /** The line as received, kept only when the sink is configured to store it. */
  readonly raw: string;
  /** `tmi-sent-ts`: when Twitch's server sent it; the receive time only when the tag is missing. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

const chatCommands = new Set(["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"]);

/** Twitch's placeholder id in some fixtures and notices: not an identity, so treated as absent. */
const nilUuid = "00000000-0000-0000-0000-000000000000";

const unescapeTagValue = (value: string): string => {
  if (!value.includes("\\")) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    i++;
    if (i >= value.length) break; // a dangling backslash is dropped
    const e = value[i];
    out += e === ":" ? ";" : e === "s" ? " " : e === "r" ? "\r" : e === "n" ? "\n" : e;
  }
  return out;
};

/**
 * Parses one IRC line (without CRLF). Returns `undefined` for a line that has
 * no command. Tag values are unescaped per IRCv3 (`\s`, `\:`, `\\`, `\r`, `\n`;
 * unknown escapes lose the backslash; a dangling one is dropped). `keepTag`,
 * given the line and a tag name's bounds in it, keeps only the tags it accepts.
 */
export const parseIrcLine = (line: string, keepTag?: (line: string, start: number, end: number) => boolean): IrcMessage | undefined => {
  let pos = 0;
  const tags: Record<string, string> = {};
  if (line.charCodeAt(0) === 64 /* @ */) {
    const end = line.indexOf(" ");
    if (end === -1) return undefined;
    let start = 1;
    while (start < end) {
      let semi = line.indexOf(";", start);
      if (semi === -1 || semi > end) semi = end;
      let eq = line.indexOf("=", start);
      if (eq === -1 || eq > semi) eq = semi;
      if (eq > start && (keepTag === undefined || keepTag(line, start, eq))) {
        tags[line.slice(start, eq)] = eq === semi ? "" : unescapeTagValue(line.slice(eq + 1, semi));
      }
      start = semi + 1;
    }
    pos = end + 1;
  }
  while (line.charCodeAt(pos) === 32) pos++;
  let prefix: string | null = null;
  if (line.charCodeAt(pos) === 58 /* : */) {
    const end = line.indexOf(" ", pos);
    if (end === -1) return undefined;
    prefix = line.slice(pos + 1, end);
    pos = end + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  let end = line.indexOf(" ", pos);
  if (end === -1) end = line.length;
  if (end === pos) return undefined;
  const command = line.slice(pos, end).toUpperCase();
  pos = end + 1;
  const params: string[] = [];
  while (pos < line.length) {
    while (line.charCodeAt(pos) === 32) pos++;
    if (pos >= line.length) break;
    if (line.charCodeAt(pos) === 58) {
      params.push(line.slice(pos + 1));
      break;
    }
    let next = line.indexOf(" ", pos);
    if (next === -1) next = line.length;
    params.push(line.slice(pos, next));
    pos = next + 1;
  }
  return { tags, prefix, command, params };
};

/**
 * The command of a raw line without parsing it, so that a connection can route
 * chat lines here and leave the rest to tmi.js cheaply.
 */
export const ircCommandOf = (line: string): string => {
  let pos = 0;
  if (line.charCodeAt(0) === 64) {
    pos = line.indexOf(" ") + 1;
    if (pos === 0) return "";
  }
  while (line.charCodeAt(pos) === 32) pos++;
  if (line.charCodeAt(pos) === 58) {
    pos = line.indexOf(" ", pos) + 1;
    if (pos === 0) return "";
    while (line.charCodeAt(pos) === 32) pos++;
  }
  let end = line.indexOf(" ", pos);
  if (end === -1) end = line.length;
  return line.slice(pos, end);
};

/** True for the commands that are recorded (PRIVMSG, USERNOTICE, CLEARCHAT, CLEARMSG). */
export const isChatCommand = (command: string): boolean => chatCommands.has(command);

/** `subscriber/12,premium/1` → badges, in Twitch's order. */
export const parseBadges = (raw: string | undefined): ChatBadge[] => {
  if (!raw) return [];
  const out: ChatBadge[] = [];
  for (const part of raw.split(",")) {
    if (part === "") continue;
    const slash = part.indexOf("/");
    out.push(slash === -1 ? { name: part, version: "" } : { name: part.slice(0, slash), version: part.slice(slash + 1) });
  }
  return out;
};

/** `25:0-4,12-16/1902:6-10` → emote occurrences sorted by position. Malformed ranges are skipped. */
export const parseEmotes = (raw: string | undefined): ChatEmote[] => {
  if (!raw) return [];
  const out: ChatEmote[] = [];
  for (const group of raw.split("/")) {
    const colon = group.lastIndexOf(":");
    if (colon <= 0) continue;
    const id = group.slice(0, colon);
    for (const range of group.slice(colon + 1).split(",")) {
      const dash = range.indexOf("-");
      if (dash === -1) continue;
      const begin = Number(range.slice(0, dash));
      const end = Number(range.slice(dash + 1));
      if (Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin) out.push({ id, begin, end });
    }
  }
  return out.sort((a, b) => a.begin - b.begin);
};

/**
 * A stable UUID-shaped id for an event Twitch sent without one (CLEARCHAT,
 * old notices): the SHA-256 of the raw line, so a line seen twice (a journal
 * replay, a reconnect's history) maps to the same id.
 */
export const derivedMessageId = (rawLine: string): string => {
  const h = createHash("sha256").update(rawLine).digest("hex");
  // Version nibble 8 (custom) and the RFC 4122 variant keep it a valid UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16] ?? "0", 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

// PostgreSQL text cannot hold NUL; Twitch never means one.
const clean = (s: string): string => (s.includes("\u0000") ? s.replaceAll("\u0000", "") : s);

const actionPrefix = "\u0001ACTION ";

const stripAction = (text: string): { text: string; isAction: boolean } => {
  if (!text.startsWith(actionPrefix)) return { text, isAction: false };
  const body = text.endsWith("\u0001") ? text.slice(actionPrefix.length, -1) : text.slice(actionPrefix.length);
  return { text: body, isAction: true };
};

// Tags kept in `msg_params` besides every `msg-param-*`.
const paramTags = new Set(["msg-id", "custom-reward-id", "ban-duration", "target-user-id", "target-msg-id", "room-id"]);

// Every tag `toChatMessage` reads. A chat line carries about twice as many
// (client nonce, mod, turbo, reply-thread-*, ...); names are matched in place,
// by length first, so a skipped tag costs neither a string nor a property.
const recordedTagsByLength: ReadonlyArray<ReadonlyArray<string> | undefined> = (() => {
  const byLength: string[][] = [];
  for (const name of [
    ...paramTags,
    ...["id", "tmi-sent-ts", "user-id", "login", "display-name", "color", "badges", "emotes", "bits"],
    ...["reply-parent-msg-id", "reply-parent-user-login", "reply-parent-msg-body", "first-msg", "system-msg"],
  ]) {
    (byLength[name.length] ??= []).push(name);
  }
  return byLength;
})();
const isRecordedTag = (line: string, start: number, end: number): boolean => {
  const names = recordedTagsByLength[end - start];
  if (names !== undefined) for (const name of names) if (line.startsWith(name, start)) return true;
  return end - start > 10 && line.startsWith("msg-param-", start);
};

const nonEmpty = (v: string | undefined): string | null => (v === undefined || v === "" ? null : clean(v));

const paramsOf = (tags: Record<string, string>): Record<string, string> | null => {
  let out: Record<string, string> | null = null;
  for (const key in tags) {
    const value = tags[key] as string;
    if (value === "") continue;
    if (paramTags.has(key) || key.startsWith("msg-param-")) (out ??= {})[key] = clean(value);
  }
  return out;
};

/**
 * Maps a parsed chat line to a row, or `undefined` when it is not a recorded
 * command or names no channel. `rawLine` is kept as `raw` and used to derive an
 * id when Twitch sent none.
 */
export const toChatMessage = (message: IrcMessage, rawLine: string, receivedAt: number): ChatMessage | undefined => {
  const command = message.command;
  if (!chatCommands.has(command)) return undefined;
  const target = message.params[0];
  if (target === undefined || target.length < 2 || target.charCodeAt(0) !== 35 /* # */) return undefined;
  const t = message.tags;
  const rawId = t["id"];
  const ts = Number(t["tmi-sent-ts"]);
  const trailing = message.params[1];
  const common = {
    channel: target.slice(1).toLowerCase(),
    msgId: rawId === undefined || rawId === "" || rawId === nilUuid ? derivedMessageId(rawLine) : rawId,
    params: paramsOf(t),
    raw: rawLine,
    sentAt: Number.isFinite(ts) && ts > 0 ? ts : receivedAt,
    receivedAt,
  };
  const none = {
    displayName: null,
    color: null,
    badges: [],
    emotes: [],
    bits: null,
    replyParentMsgId: null,
    replyParentUserLogin: null,
    replyParentMsgBody: null,
    isAction: false,
    firstMessage: false,
    systemMessage: null,
  };
  // Twitch sometimes sends a display name with an escaped trailing space; it is never part of the name.
  const displayName = t["display-name"] === undefined ? null : nonEmpty(t["display-name"].trimEnd());

  switch (command) {
    case "PRIVMSG": {
      const prefix = message.prefix ?? "";
      const bang = prefix.indexOf("!");
      const nick = (bang === -1 ? prefix : prefix.slice(0, bang)).toLowerCase();
      const { text, isAction } = stripAction(trailing ?? "");
      const bits = Number(t["bits"]);
      return {
        ...common,
        kind: "PRIVMSG",
        userId: nonEmpty(t["user-id"]),
        username: nick === "" ? null : nick,
        displayName,
        color: nonEmpty(t["color"]),
        badges: parseBadges(t["badges"]),
        emotes: parseEmotes(t["emotes"]),
        bits: t["bits"] !== undefined && Number.isInteger(bits) ? bits : null,
        replyParentMsgId: nonEmpty(t["reply-parent-msg-id"]),
        replyParentUserLogin: nonEmpty(t["reply-parent-user-login"]),
        replyParentMsgBody: nonEmpty(t["reply-parent-msg-body"]),
        text: clean(text),
        isAction,
        firstMessage: t["first-msg"] === "1",
        systemMessage: null,
      };
    }
    case "USERNOTICE": {
      const { text, isAction } = stripAction(trailing ?? "");
      return {
        ...common,
        ...none,
        kind: "USERNOTICE",
        userId: nonEmpty(t["user-id"]),
        username: nonEmpty(t["login"]),
        displayName,
        color: nonEmpty(t["color"]),
        badges: parseBadges(t["badges"]),
        emotes: parseEmotes(t["emotes"]),
        text: clean(text),
        isAction,
        systemMessage: nonEmpty(t["system-msg"]),
      };
    }
    case "CLEARCHAT":
      return {
        ...common,
        ...none,
        kind: "CLEARCHAT",
        userId: nonEmpty(t["target-user-id"]),
        username: trailing === undefined || trailing === "" ? null : trailing.toLowerCase(),
        text: "",
      };
    default: {
      const { text, isAction } = stripAction(trailing ?? "");
      return {
        ...common,
        ...none,
        kind: "CLEARMSG",
        userId: null,
        username: nonEmpty(t["login"]),
        text: clean(text),
        isAction,
      };
    }
  }
};

/** What a CLEARCHAT did: one user's messages (timeout or ban) or the whole chat. */
export const clearChatAction = (m: ChatMessage): "timeout" | "ban" | "clear" =>
  m.username === null ? "clear" : m.params?.["ban-duration"] !== undefined ? "timeout" : "ban";

/** Parses a raw line and maps it when it is a recorded chat event; `undefined` otherwise. */
export const parseChatLine = (rawLine: string, receivedAt: number): ChatMessage | undefined => {
  const parsed = parseIrcLine(rawLine, isRecordedTag);
  return parsed === undefined ? undefined : toChatMessage(parsed, rawLine, receivedAt);
};

/** Rebuilds IRC tag text from a value (the inverse of the unescaping above). */
export const escapeTagValue = (value: string): string =>
  value.replace(/[\\; \r\n]/g, (c) => (c === "\\" ? "\\\\" : c === ";" ? "\\:" : c === " " ? "\\s" : c === "\r" ? "\\r" : "\\n"));

/** Twitch's `emotes` tag text for a list of occurrences. */
export const formatEmotes = (emotes: ReadonlyArray<ChatEmote>): string => {
  const byId = new Map<string, string[]>();
  for (const e of emotes) {
    const list = byId.get(e.id) ?? [];
    list.push(`${e.begin}-${e.end}`);
    byId.set(e.id, list);
  }
  return [...byId].map(([id, ranges]) => `${id}:${ranges.join(",")}`).join("/");
};
