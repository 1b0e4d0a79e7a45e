/**
 * Helix writes video durations Go-style (`3h2m1s`, `50s`, `1h0m0s`): leading zero units
 * are left out, inner ones are written once a larger unit is present.
 */
export const formatTwitchDuration = (totalSeconds: number): string => {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
};

const pattern = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Reads `3h2m1s`-style text into seconds; `undefined` when it is not in that form. */
export const parseTwitchDuration = (text: string): number | undefined => {
  if (text === "") return undefined;
  const match = pattern.exec(text);
  if (match === null) return undefined;
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
};
