/**
 * IRCv3 lines as Twitch writes them: tag escaping (`\s`, `\:`, `\\`, `\r`, `\n`),
 * formatting and a parser (used for client commands, replayed lines and tests).
 */

const needsEscape = /[\\; \r\n]/;
const escapeChars = /[\\; \r\n]/g;
const escapes: Record<string, string> = { "\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n" };

/** Escapes a tag value; values without special characters are returned as they are. */
export const escapeTagValue = (value: string): string =>
  needsEscape.test(value) ? value.replace(escapeChars, (c) => escapes[c]!) : value;

const unescapes: Record<string, string> = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };

/**
 * Unescapes a tag value the IRCv3 way: unknown escapes lose their backslash and a
 * dangling backslash at the end is dropped.
 */
export const unescapeTagValue = (raw: string): string => {
  if (!raw.includes("\\")) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = raw[i + 1];
    if (next === undefined) break;
    out += unescapes[next] ?? next;
    i++;
  }
  return out;
};

/** Formats tags in the given order: `@k=v;k2=v2` (no trailing space). */
export const formatTags = (tags: readonly (readonly [string, string])[]): string =>
  `@${tags.map(([k, v]) => `${k}=${escapeTagValue(v)}`).join(";")}`;

/** A parsed IRC line. */
export interface IrcMessage {
  /** Tags in wire order, values unescaped. */
  readonly tags: ReadonlyMap<string, string>;
  /** Raw tag values, still escaped. */
  readonly rawTags: ReadonlyMap<string, string>;
  readonly prefix: string | null;
  readonly command: string;
  readonly params: readonly string[];
}

/** Parses one line (without CR LF); `undefined` when it has no command. */
export const parseIrcLine = (line: string): IrcMessage | undefined => {
  let pos = 0;
  const tags = new Map<string, string>();
  const rawTags = new Map<string, string>();
  if (line.charCodeAt(0) === 64 /* @ */) {
    const end = line.indexOf(" ");
    if (end < 0) return undefined;
    for (const part of line.slice(1, end).split(";")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const key = eq < 0 ? part : part.slice(0, eq);
      const raw = eq < 0 ? "" : part.slice(eq + 1);
      rawTags.set(key, raw);
      tags.set(key, unescapeTagValue(raw));
    }
    pos = end + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  let prefix: string | null = null;
  if (line.charCodeAt(pos) === 58 /* : */) {
    const end = line.indexOf(" ", pos);
    if (end < 0) return undefined;
    prefix = line.slice(pos + 1, end);
    pos = end + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  const params: string[] = [];
  let command = "";
  while (pos < line.length) {
    if (command !== "" && line.charCodeAt(pos) === 58) {
      params.push(line.slice(pos + 1));
      break;
    }
    let end = line.indexOf(" ", pos);
    if (end < 0) end = line.length;
    const word = line.slice(pos, end);
    if (command === "") command = word.toUpperCase();
    else params.push(word);
    pos = end + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  if (command === "") return undefined;
  return { tags, rawTags, prefix, command, params };
};

/** The channel a line is about (`#login` → `login`), when its first parameter names one. */
export const lineChannel = (m: IrcMessage): string | undefined => {
  const p = m.params[0];
  return p !== undefined && p.startsWith("#") ? p.slice(1).toLowerCase() : undefined;
};

/** Formats a line; the last parameter gets a `:` when it needs one (or when `trailing`). */
export const formatIrcLine = (m: {
  readonly tags?: readonly (readonly [string, string])[];
  readonly prefix?: string | null;
  readonly command: string;
  readonly params?: readonly string[];
  /** Always write the last parameter as a trailing one (`:text`), as Twitch does for message text. */
  readonly trailing?: boolean;
}): string => {
  let out = "";
  if (m.tags !== undefined && m.tags.length > 0) out += `${formatTags(m.tags)} `;
  if (m.prefix !== undefined && m.prefix !== null) out += `:${m.prefix} `;
  out += m.command;
  const params = m.params ?? [];
  params.forEach((p, i) => {
    const last = i === params.length - 1;
    out += last && (m.trailing === true || p === "" || p.includes(" ") || p.startsWith(":")) ? ` :${p}` : ` ${p}`;
  });
  return out;
};

/** `nick!nick@nick.tmi.twitch.tv`, the prefix Twitch gives a user. */
export const userPrefix = (login: string): string => `${login}!${login}@${login}.tmi.twitch.tv`;
