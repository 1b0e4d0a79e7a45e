/**
 * Reading what the HTTP APIs (Twitch, Google) answer: bodies that are not
 * always JSON, and fetch failures whose reason is nested.
 */

/** Parses JSON, or returns the raw text when it is not JSON (error pages). */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** A readable message from a fetch failure (undici hides the reason in `cause`). */
export const errorText = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : "";
    return `${cause.name === "Error" ? "" : `${cause.name}: `}${cause.message}${inner}`;
  }
  return String(cause);
};
