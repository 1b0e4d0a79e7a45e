/**
 * Go duration strings ("30s", "5m", "1h30m", "250ms"), the format the Go
 * vod-tender's interval variables use. Parsed to milliseconds so the rest of the
 * runtime deals in plain numbers.
 */

const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 micro sign
  "μs": 1e-3, // U+03BC greek mu, which Go accepts too
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

// One "<number><unit>" element; Go allows "1.5h", ".5s" and "5.s" but not ".s".
const element = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go duration string (`time.ParseDuration` syntax) into milliseconds.
 *
 * Accepts a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`,
 * `m`, `h` ("1h30m", "1.5h", "250ms"), an optional sign, and the bare "0".
 * Returns `undefined` for anything else — notably a bare number like "30"
 * (Go rejects it too: a unit is required) and day units like "2d".
 */
export const parseDuration = (text: string): number | undefined => {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  element.lastIndex = 0;
  while (element.lastIndex < rest.length) {
    const start = element.lastIndex;
    const match = element.exec(rest);
    if (match === null || match.index !== start) return undefined;
    const [, whole = "", fraction, unit = ""] = match;
    if (whole === "" && (fraction === undefined || fraction === "")) return undefined;
    const value = Number(`${whole === "" ? "0" : whole}.${fraction ?? ""}0`);
    total += value * (unitMs[unit] ?? Number.NaN);
  }
  return Number.isFinite(total) ? sign * total : undefined;
};

/**
 * Formats milliseconds the short way a person would write them in the
 * environment: "6h", "1h30m", "45s", "500ms", "1m30.5s". The result parses back
 * with {@link parseDuration} to the same value (to the microsecond).
 */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return "0s";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${round(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1_000;
  return `${hours > 0 ? `${hours}h` : ""}${minutes > 0 ? `${minutes}m` : ""}${seconds > 0 ? `${round(seconds)}s` : ""}`;
};

const round = (value: number): number => Math.round(value * 1_000) / 1_000;
