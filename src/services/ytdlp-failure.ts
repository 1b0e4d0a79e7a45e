/**
 * Why a yt-dlp run failed, read from its `ERROR:` lines, and whether trying the
 * same VOD again can help.
 *
 * Permanent: the VOD is gone, private, or subscriber-only (Twitch answers the
 * manifest request with 403/404/410, or the extractor says so in words).
 * Retryable: everything else (network trouble, 5xx, 429, a fragment that failed
 * mid-way, a full disk, a killed process), because a later run resumes from the
 * partial file.
 */

/** Every cause of a failed download the downloader reports. */
export const DOWNLOAD_FAILURE_REASONS = [
  "not-found",
  "gone",
  "forbidden",
  "subscriber-only",
  "unavailable",
  "unsupported",
  "rate-limited",
  "server",
  "network",
  "fragment",
  "disk",
  "killed",
  "tool-missing",
  "unknown",
] as const;

/** The cause of a failed download, as far as yt-dlp's output tells. */
export type DownloadFailureReason = (typeof DOWNLOAD_FAILURE_REASONS)[number];

/** A classified failure. */
export interface YtdlpFailure {
  readonly reason: DownloadFailureReason;
  /** Whether another attempt at the same VOD may succeed. */
  readonly retryable: boolean;
  /** The line that explains the failure best (the last `ERROR:` line when there is one). */
  readonly message: string;
}

interface Rule {
  readonly test: RegExp;
  readonly reason: DownloadFailureReason;
  readonly retryable: boolean;
}

// Order matters: a fragment's 404 ("fragment 6 not found") is a hiccup of one
// segment, not a missing VOD, so fragment rules come before HTTP status rules.
const RULES: ReadonlyArray<Rule> = [
  {
    test: /subscriber-only|must be logged in|logged into an account|login required|your account does not have|vod_manifest_restricted|unauthorized_entitlements/i,
    reason: "subscriber-only",
    retryable: false,
  },
  { test: /no space left on device|disk quota exceeded/i, reason: "disk", retryable: true },
  { test: /fragment/i, reason: "fragment", retryable: true },
  { test: /HTTP Error 404\b/i, reason: "not-found", retryable: false },
  { test: /HTTP Error 410\b/i, reason: "gone", retryable: false },
  { test: /HTTP Error 40[13]\b/i, reason: "forbidden", retryable: false },
  { test: /HTTP Error 429\b/i, reason: "rate-limited", retryable: true },
  { test: /HTTP Error 5\d\d\b/i, reason: "server", retryable: true },
  {
    test: /does not exist|video unavailable|video is unavailable|content isn.t available|no longer available|has been (removed|deleted)|is private/i,
    reason: "unavailable",
    retryable: false,
  },
  { test: /unsupported url/i, reason: "unsupported", retryable: false },
  {
    test: /connection (refused|reset|aborted)|timed out|network is unreachable|name or service not known|temporary failure in name resolution|urlopen error|incompleteread|remotedisconnected|eof occurred|ssl:|errno 1(04|10|11|13)/i,
    reason: "network",
    retryable: true,
  },
];

/**
 * Classifies a failed run from the lines it printed (stderr and stdout, in
 * order). Only `ERROR:` lines decide when there are any, so a warning about an
 * earlier, recovered hiccup does not mislabel the failure.
 */
export const classifyYtdlpFailure = (lines: ReadonlyArray<string>): YtdlpFailure => {
  const errors = lines.filter((line) => line.startsWith("ERROR:"));
  const relevant = errors.length > 0 ? errors : lines;
  const message = (errors.at(-1) ?? lines.findLast((line) => line.trim() !== "") ?? "yt-dlp failed").trim();
  for (const rule of RULES) {
    if (relevant.some((line) => rule.test.test(line))) {
      return { reason: rule.reason, retryable: rule.retryable, message };
    }
  }
  return { reason: "unknown", retryable: true, message };
};
