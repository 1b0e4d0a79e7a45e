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

/** Prefix, command and params of a line, from `pos` (just past the tags). */
const readCommand = (line: string, pos: number): Omit<IrcMessage, "tags"> | undefined => {
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
  return { prefix, command, params };
};

/**
 * Walks the tags of a line that starts with `@`, calling `take` with where
 * each tag's name starts and ends and where its value ends (`nameEnd ===
 * valueEnd` when it has none; a tag without a name is skipped). Returns
 * where the rest of the line begins, or -1 when nothing follows the tags.
 */
const walkTags = (line: string, take: (nameStart: number, nameEnd: number, valueEnd: number) => void): number => {
  const end = line.indexOf(" ");
  if (end === -1) return -1;
  let start = 1;
  while (start < end) {
    let semi = line.indexOf(";", start);
    if (semi === -1 || semi > end) semi = end;
    let eq = line.indexOf("=", start);
    if (eq === -1 || eq > semi) eq = semi;
    if (eq > start) take(start, eq, semi);
    start = semi + 1;
  }
  return end + 1;
};

/** A tag's value, unescaped; `eq === valueEnd` means it has none. */
const tagValue = (line: string, eq: number, valueEnd: number): string =>
  eq === valueEnd ? "" : unescapeTagValue(line.slice(eq + 1, valueEnd));

/**
 * Parses one IRC line (without CRLF). Returns `undefined` for a line that has
 * no command. Tag values are unescaped per IRCv3 (`\s`, `\:`, `\\`, `\r`, `\n`;
 * unknown escapes lose the backslash; a dangling one is dropped).
 */
export const parseIrcLine = (line: string): IrcMessage | undefined => {
  const tags: Record<string, string> = {};
  let pos = 0;
  if (line.charCodeAt(0) === 64 /* @ */) {
    pos = walkTags(line, (start, eq, semi) => {
      tags[line.slice(start, eq)] = tagValue(line, eq, semi);
    });
    if (pos === -1) return undefined;
  }
  const rest = readCommand(line, pos);
  return rest === undefined ? undefined : { tags, ...rest };
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

// Where `parseChatLine` keeps the tags a row is made of. A chat line carries
// about twice as many (client nonce, mod, turbo, reply-thread-*, ...). Names
// are matched in place, by length first, and values go to fixed slots: a
// skipped tag costs no string, and no line builds an object keyed by sliced
// tag names, which had V8 intern every name (measured on simulator lines:
// 8.0 µs a line with such an object, 3.5 µs with slots).
const slotId = 0;
const slotSentTs = 1;
const slotUserId = 2;
const slotLogin = 3;
const slotDisplayName = 4;
const slotColor = 5;
const slotBadges = 6;
const slotEmotes = 7;
const slotBits = 8;
const slotReplyId = 9;
const slotReplyLogin = 10;
const slotReplyBody = 11;
const slotFirstMsg = 12;
const slotSystemMsg = 13;
const slotTargetUserId = 14;
const slotCount = 15;

/** A recorded tag: its slot (-1 for none) and whether `msg_params` keeps it too. */
interface RecordedTag {
  readonly name: string;
  readonly slot: number;
  readonly param: boolean;
}

const recordedTags: ReadonlyArray<RecordedTag> = [
  { name: "id", slot: slotId, param: false },
  { name: "tmi-sent-ts", slot: slotSentTs, param: false },
  { name: "user-id", slot: slotUserId, param: false },
  { name: "login", slot: slotLogin, param: false },
  { name: "display-name", slot: slotDisplayName, param: false },
  { name: "color", slot: slotColor, param: false },
  { name: "badges", slot: slotBadges, param: false },
  { name: "emotes", slot: slotEmotes, param: false },
  { name: "bits", slot: slotBits, param: false },
  { name: "reply-parent-msg-id", slot: slotReplyId, param: false },
  { name: "reply-parent-user-login", slot: slotReplyLogin, param: false },
  { name: "reply-parent-msg-body", slot: slotReplyBody, param: false },
  { name: "first-msg", slot: slotFirstMsg, param: false },
  { name: "system-msg", slot: slotSystemMsg, param: false },
  { name: "target-user-id", slot: slotTargetUserId, param: true },
  // Kept only in `msg_params`, with every `msg-param-*`.
  { name: "msg-id", slot: -1, param: true },
  { name: "room-id", slot: -1, param: true },
  { name: "ban-duration", slot: -1, param: true },
  { name: "target-msg-id", slot: -1, param: true },
  { name: "custom-reward-id", slot: -1, param: true },
];

const recordedTagsByLength: ReadonlyArray<ReadonlyArray<RecordedTag> | undefined> = (() => {
  const byLength: RecordedTag[][] = [];
  for (const tag of recordedTags) (byLength[tag.name.length] ??= []).push(tag);
  return byLength;
})();

/** Any `msg-param-*`: its name is the tag's own. */
const namedParam: RecordedTag = { name: "", slot: -1, param: true };

const recordedTagAt = (line: string, start: number, end: number): RecordedTag | undefined => {
  const candidates = recordedTagsByLength[end - start];
  if (candidates !== undefined) for (const tag of candidates) if (line.startsWith(tag.name, start)) return tag;
  return end - start > 10 && line.startsWith("msg-param-", start) ? namedParam : undefined;
};

const nonEmpty = (v: string | undefined): string | null => (v === undefined || v === "" ? null : clean(v));

/** What a CLEARCHAT did: one user's messages (timeout or ban) or the whole chat. */
export const clearChatAction = (m: ChatMessage): "timeout" | "ban" | "clear" =>
  m.username === null ? "clear" : m.params?.["ban-duration"] !== undefined ? "timeout" : "ban";

/**
 * Parses a raw line and maps it to a row when it is a recorded chat event
 * (PRIVMSG, USERNOTICE, CLEARCHAT, CLEARMSG naming a `#channel`);
 * `undefined` otherwise. Tags are read as `parseIrcLine` reads them; the
 * line is kept as `raw` and gives the id when Twitch sent none.
 */
export const parseChatLine = (line: string, receivedAt: number): ChatMessage | undefined => {
  const slots = new Array<string | undefined>(slotCount);
  // The params in the order their tags came; a later copy of a tag replaces
  // the value, and an empty one removes it, as a map of the tags would.
  let params: Record<string, string> | null = null;
  let pos = 0;
  if (line.charCodeAt(0) === 64 /* @ */) {
    pos = walkTags(line, (start, eq, semi) => {
      const tag = recordedTagAt(line, start, eq);
      if (tag === undefined) return;
      const value = tagValue(line, eq, semi);
      if (tag.slot !== -1) slots[tag.slot] = value;
      if (!tag.param) return;
      const name = tag === namedParam ? line.slice(start, eq) : tag.name;
      if (value !== "") (params ??= {})[name] = clean(value);
      else if (params !== null && name in params) {
        delete params[name];
        if (Object.keys(params).length === 0) params = null;
      }
    });
    if (pos === -1) return undefined;
  }
  const message = readCommand(line, pos);
  if (message === undefined) return undefined;
  const command = message.command;
  if (!chatCommands.has(command)) return undefined;
  const target = message.params[0];
  if (target === undefined || target.length < 2 || target.charCodeAt(0) !== 35 /* # */) return undefined;
  const trailing = message.params[1];
  const rawId = slots[slotId];
  const ts = Number(slots[slotSentTs]);
  const displayNameTag = slots[slotDisplayName];
  const isPrivmsg = command === "PRIVMSG";
  // CLEARCHAT and CLEARMSG are about another user's messages: the event's own author fields stay empty.
  const authored = isPrivmsg || command === "USERNOTICE";
  let userId: string | null = null;
  let username: string | null = null;
  let body = { text: "", isAction: false };
  switch (command) {
    case "PRIVMSG": {
      const prefix = message.prefix ?? "";
      const bang = prefix.indexOf("!");
      const nick = (bang === -1 ? prefix : prefix.slice(0, bang)).toLowerCase();
      userId = nonEmpty(slots[slotUserId]);
      username = nick === "" ? null : nick;
      body = stripAction(trailing ?? "");
      break;
    }
    case "USERNOTICE":
      userId = nonEmpty(slots[slotUserId]);
      username = nonEmpty(slots[slotLogin]);
      body = stripAction(trailing ?? "");
      break;
    case "CLEARCHAT":
      userId = nonEmpty(slots[slotTargetUserId]);
      username = trailing === undefined || trailing === "" ? null : trailing.toLowerCase();
      break;
    default:
      username = nonEmpty(slots[slotLogin]);
      body = stripAction(trailing ?? "");
  }
  const bitsTag = slots[slotBits];
  const bits = Number(bitsTag);
  return {
    channel: target.slice(1).toLowerCase(),
    msgId: rawId === undefined || rawId === "" || rawId === nilUuid ? derivedMessageId(line) : rawId,
    kind: command as ChatKind,
    userId,
    username,
    // Twitch sometimes sends a display name with an escaped trailing space; it is never part of the name.
    displayName: authored && displayNameTag !== undefined ? nonEmpty(displayNameTag.trimEnd()) : null,
    color: authored ? nonEmpty(slots[slotColor]) : null,
    badges: authored ? parseBadges(slots[slotBadges]) : [],
    emotes: authored ? parseEmotes(slots[slotEmotes]) : [],
    bits: isPrivmsg && bitsTag !== undefined && Number.isInteger(bits) ? bits : null,
    replyParentMsgId: isPrivmsg ? nonEmpty(slots[slotReplyId]) : null,
    replyParentUserLogin: isPrivmsg ? nonEmpty(slots[slotReplyLogin]) : null,
    replyParentMsgBody: isPrivmsg ? nonEmpty(slots[slotReplyBody]) : null,
    text: clean(body.text),
    isAction: body.isAction,
    firstMessage: isPrivmsg && slots[slotFirstMsg] === "1",
    params,
    systemMessage: command === "USERNOTICE" ? nonEmpty(slots[slotSystemMsg]) : null,
    raw: line,
    sentAt: Number.isFinite(ts) && ts > 0 ? ts : receivedAt,
    receivedAt,
  };
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
