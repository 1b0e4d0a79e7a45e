/**
 * Reading yt-dlp's download progress.
 *
 * The downloader asks yt-dlp for one JSON object per update through
 * `--progress-template` ({@link PROGRESS_TEMPLATE}); yt-dlp writes it to stdout.
 * The human `[download]  42.0% of ~ 1.2GiB at ...` form is parsed too, for runs
 * where a user's own arguments replace the template. Sizes in that form are
 * rounded (two decimals of the unit), so its byte counts are approximate.
 */
import { Schema } from "effect";

/** Marks the lines yt-dlp prints from {@link PROGRESS_TEMPLATE}. */
export const PROGRESS_PREFIX = "vt-progress ";

// `|null` is yt-dlp's default-value syntax: a missing field prints `null` instead of
// `NA`, which keeps every line valid JSON. Only numeric fields and the status are
// used, so no title or file name (which could hold quotes) ever enters the JSON.
/** Value for yt-dlp's `--progress-template`: one JSON object per progress update. */
export const PROGRESS_TEMPLATE =
  "download:" +
  PROGRESS_PREFIX +
  '{"status":"%(progress.status)s",' +
  '"downloaded":%(progress.downloaded_bytes|null)s,' +
  '"total":%(progress.total_bytes|null)s,' +
  '"estimate":%(progress.total_bytes_estimate|null)s,' +
  '"speed":%(progress.speed|null)s,' +
  '"eta":%(progress.eta|null)s,' +
  '"elapsed":%(progress.elapsed|null)s,' +
  '"frag":%(progress.fragment_index|null)s,' +
  '"frags":%(progress.fragment_count|null)s}';

/** One progress update of a running download. */
export interface DownloadProgress {
  readonly status: "downloading" | "finished";
  /** Bytes on disk so far, including bytes kept from an earlier, resumed run. */
  readonly downloadedBytes: number;
  /** Expected size: exact when `totalIsEstimate` is false, else yt-dlp's estimate from the fragments so far. */
  readonly totalBytes: number | undefined;
  readonly totalIsEstimate: boolean;
  /** 0–100, when a total is known. */
  readonly percent: number | undefined;
  readonly speedBytesPerSecond: number | undefined;
  readonly etaSeconds: number | undefined;
  /** Fragment being fetched (HLS); 0 before the first one completes. */
  readonly fragmentIndex: number | undefined;
  readonly fragmentCount: number | undefined;
}

const NullableNumber = Schema.NullOr(Schema.Finite);

const TemplateLine = Schema.Struct({
  status: Schema.String,
  downloaded: NullableNumber,
  total: Schema.optional(NullableNumber),
  estimate: Schema.optional(NullableNumber),
  speed: Schema.optional(NullableNumber),
  eta: Schema.optional(NullableNumber),
  frag: Schema.optional(NullableNumber),
  frags: Schema.optional(NullableNumber),
});

const decodeTemplateLine = Schema.decodeUnknownOption(TemplateLine);

const orUndefined = (value: number | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : value;

const percentOf = (downloaded: number, total: number | undefined): number | undefined =>
  total !== undefined && total > 0 ? Math.min(100, (downloaded / total) * 100) : undefined;

const parseTemplateLine = (json: string): DownloadProgress | undefined => {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  const decoded = decodeTemplateLine(raw);
  if (decoded._tag === "None") return undefined;
  const line = decoded.value;
  if (line.status !== "downloading" && line.status !== "finished") return undefined;
  const exact = orUndefined(line.total);
  const estimate = orUndefined(line.estimate);
  const downloadedBytes = orUndefined(line.downloaded) ?? exact ?? 0;
  const totalBytes = exact ?? estimate;
  return {
    status: line.status,
    downloadedBytes,
    totalBytes,
    totalIsEstimate: exact === undefined && estimate !== undefined,
    percent: line.status === "finished" ? 100 : percentOf(downloadedBytes, totalBytes),
    speedBytesPerSecond: orUndefined(line.speed),
    etaSeconds: orUndefined(line.eta),
    fragmentIndex: orUndefined(line.frag),
    fragmentCount: orUndefined(line.frags),
  };
};

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, PiB: 1024 ** 5 };
const SIZE = String.raw`([\d.]+)(B|KiB|MiB|GiB|TiB|PiB)`;
const HUMAN = new RegExp(
  String.raw`^\[download\]\s+(\d+(?:\.\d+)?)%` +
    String.raw`(?:\s+of\s+(~)?\s*${SIZE})?` +
    String.raw`(?:\s+in\s+[\d:]+)?` +
    String.raw`(?:\s+at\s+(?:\s*${SIZE}/s|Unknown B/s))?` +
    String.raw`(?:\s+ETA\s+([\d:]+|Unknown))?` +
    String.raw`(?:\s+\(frag (\d+)(?:/(\d+))?\))?\s*$`,
);

const bytesOf = (amount: string | undefined, unit: string | undefined): number | undefined =>
  amount === undefined || unit === undefined ? undefined : Math.round(Number(amount) * (UNIT[unit] ?? 1));

const clockSeconds = (text: string | undefined): number | undefined => {
  if (text === undefined || text === "Unknown") return undefined;
  return text.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
};

const parseHumanLine = (line: string): DownloadProgress | undefined => {
  const match = HUMAN.exec(line);
  if (!match) return undefined;
  const [, pct, tilde, totalAmount, totalUnit, speedAmount, speedUnit, eta, frag, frags] = match;
  const percent = Number(pct);
  const totalBytes = bytesOf(totalAmount, totalUnit);
  const finished = percent >= 100 && eta === undefined;
  return {
    status: finished ? "finished" : "downloading",
    downloadedBytes: totalBytes === undefined ? 0 : Math.round((totalBytes * percent) / 100),
    totalBytes,
    totalIsEstimate: tilde === "~",
    percent,
    speedBytesPerSecond: bytesOf(speedAmount, speedUnit),
    etaSeconds: clockSeconds(eta),
    fragmentIndex: frag === undefined ? undefined : Number(frag),
    fragmentCount: frags === undefined ? undefined : Number(frags),
  };
};

/**
 * The progress carried by one line of yt-dlp output, or `undefined` for any
 * other line. Accepts both the {@link PROGRESS_TEMPLATE} form and yt-dlp's
 * default `[download] ...%` form (padded or not, with or without `(frag i/n)`).
 */
export const parseProgressLine = (line: string): DownloadProgress | undefined => {
  const trimmed = line.trim();
  if (trimmed.startsWith(PROGRESS_PREFIX)) return parseTemplateLine(trimmed.slice(PROGRESS_PREFIX.length));
  if (trimmed.startsWith("[download]")) return parseHumanLine(trimmed);
  return undefined;
};

/**
 * Splits a byte stream of console output into lines. yt-dlp ends lines with
 * `\n` under `--newline` and rewrites them with `\r` otherwise; both end a line
 * here. A multi-byte character cut between two chunks is kept whole.
 */
export class OutputLines {
  #pending = "";
  readonly #decoder = new TextDecoder("utf-8");

  /** Adds a chunk and returns the lines it completed. */
  push(chunk: Uint8Array | string): ReadonlyArray<string> {
    this.#pending += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    const parts = this.#pending.split(/\r\n|\r|\n/);
    this.#pending = parts.pop() ?? "";
    return parts.filter((part) => part.trim() !== "");
  }

  /** Returns what is left once the stream has ended. */
  flush(): ReadonlyArray<string> {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = "";
    return rest.trim() === "" ? [] : [rest];
  }
}
