/**
 * Where a downloaded VOD lives on disk:
 * `$DATA_DIR/vods/<channel>/<YYYY-MM-DD>_<vod id>_<safe title>.<ext>`.
 *
 * Titles come from streamers and can hold anything: path separators, `..`,
 * control and bidirectional-override characters, characters Windows or yt-dlp
 * treat specially, and more bytes than a file name may have. Every component is
 * reduced to a single safe path segment, never empty, so the file always lands
 * inside its channel folder.
 */
import { join } from "node:path";

/** Default cap for the title part, in UTF-8 bytes; leaves room for date, id and extension under 255. */
export const DEFAULT_TITLE_MAX_BYTES = 150;

const FALLBACK_TITLE = "untitled";

// Control (Cc), format (Cf: bidi overrides, zero-width), separators other than space,
// surrogates and private/unassigned code points. Emoji joiners are format characters
// too; losing them splits a family emoji into its members, which is harmless here.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/gu;
// Separators on any platform, Windows-reserved characters, and `%` (yt-dlp's
// output-template marker), `#` and `$` that trip up shells and URLs.
const RESERVED = /[/\\<>:"|?*%#$`]/g;
const WHITESPACE = /\s+/gu;
const DOT_RUNS = /\.{2,}/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

const byteLength = (text: string): number => Buffer.byteLength(text, "utf8");

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character or grapheme cluster. */
export const truncateUtf8 = (text: string, maxBytes: number): string => {
  if (byteLength(text) <= maxBytes) return text;
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const size = byteLength(segment);
    if (used + size > maxBytes) break;
    out += segment;
    used += size;
  }
  return out;
};

/**
 * One safe file-name segment from arbitrary text: no separators, no `..`, no
 * control or invisible characters, no leading dot, no trailing dot or space, at
 * most `maxBytes` UTF-8 bytes, and `fallback` when nothing is left.
 */
export const sanitizeSegment = (text: string, maxBytes: number, fallback: string = FALLBACK_TITLE): string => {
  const cleaned = text
    .normalize("NFC")
    .replace(WHITESPACE, " ")
    .replace(INVISIBLE, "")
    .replace(RESERVED, "_")
    .replace(DOT_RUNS, ".")
    .replace(/_{2,}/g, "_")
    .trim();
  const stripEnds = (s: string) => s.replace(/^[.\s_-]+/u, "").replace(/[.\s]+$/u, "");
  let result = stripEnds(truncateUtf8(stripEnds(cleaned), maxBytes));
  if (WINDOWS_DEVICE.test(result)) result = `_${result}`;
  return result === "" ? fallback : truncateUtf8(result, maxBytes);
};

/** A VOD title made safe to be part of a file name. */
export const sanitizeTitle = (title: string, maxBytes: number = DEFAULT_TITLE_MAX_BYTES): string =>
  sanitizeSegment(title, maxBytes, FALLBACK_TITLE);

/** What {@link vodFilePath} needs to know about a VOD. */
export interface VodPathInput {
  /** The data folder (`DATA_DIR`). */
  readonly dataDir: string;
  /** Twitch login of the channel. */
  readonly channel: string;
  /** Twitch VOD id. */
  readonly vodId: string;
  /** When the VOD was recorded; its UTC calendar date names the file. */
  readonly date: Date;
  readonly title: string;
  /** File extension without the dot; `mp4` when omitted. */
  readonly ext?: string;
  /** Cap for the title part in UTF-8 bytes. */
  readonly titleMaxBytes?: number;
}

/** The folder holding a channel's VODs: `$DATA_DIR/vods/<channel>`. */
export const channelVodDir = (dataDir: string, channel: string): string =>
  join(dataDir, "vods", sanitizeSegment(channel.toLowerCase(), 64, "unknown-channel"));

const isoDate = (date: Date): string =>
  Number.isNaN(date.getTime()) ? "0000-00-00" : date.toISOString().slice(0, 10);

/** The file a VOD downloads to: `$DATA_DIR/vods/<channel>/<YYYY-MM-DD>_<vod id>_<safe title>.<ext>`. */
export const vodFilePath = (input: VodPathInput): string => {
  const ext = sanitizeSegment(input.ext ?? "mp4", 16, "mp4").replace(/\./g, "");
  const id = sanitizeSegment(input.vodId, 40, "unknown-id");
  const title = sanitizeTitle(input.title, input.titleMaxBytes ?? DEFAULT_TITLE_MAX_BYTES);
  return join(channelVodDir(input.dataDir, input.channel), `${isoDate(input.date)}_${id}_${title}.${ext || "mp4"}`);
};
