/**
 * Twitch's video length strings ("4h27m50s", "3m21s", "50s", "1h0m0s").
 *
 * Helix documents them as ISO 8601 but sends Go's `time.Duration` form: units in
 * the order h, m, s, leading zero units left out, later zero units written out.
 */

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * Seconds in a Twitch duration string, or `undefined` when the text is not one.
 * An empty string is zero (what Helix sends for a VOD that has not been cut yet).
 */
export const parseTwitchDuration = (text: string): number | undefined => {
  const trimmed = text.trim();
  if (trimmed === "") return 0;
  const match = DURATION.exec(trimmed);
  if (!match) return undefined;
  const [, h, m, s] = match;
  const hours = Number(h ?? 0);
  const minutes = Number(m ?? 0);
  const seconds = Number(s ?? 0);
  return hours * 3600 + minutes * 60 + seconds;
};

/**
 * The Twitch (Go) form of a length in seconds: `3723` → `"1h2m3s"`, `3600` →
 * `"1h0m0s"`, `0` → `"0s"`. Fractions are dropped; negative lengths become zero.
 */
export const formatTwitchDuration = (totalSeconds: number): string => {
  const whole = Number.isFinite(totalSeconds) && totalSeconds > 0 ? Math.floor(totalSeconds) : 0;
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const seconds = whole % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
};
