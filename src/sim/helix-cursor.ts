/**
 * Helix pagination cursors: opaque base64 of JSON shaped like Twitch's own
 * (`{"b":null,"a":{"Offset":20}}`). Clients must treat them as opaque and URL-encode
 * them; like Twitch's, they may contain `+`, `/` and `=`.
 */
export type CursorPosition = { readonly offset: number } | { readonly key: string };

/** Encodes a position into a cursor. */
export const encodeCursor = (p: CursorPosition): string =>
  Buffer.from(JSON.stringify({ b: null, a: "offset" in p ? { Offset: p.offset } : { Cursor: p.key } })).toString("base64");

/** Decodes a cursor; `undefined` when it is not one of ours. */
export const decodeCursor = (cursor: string): CursorPosition | undefined => {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as { a?: { Offset?: unknown; Cursor?: unknown } };
    const a = parsed.a;
    if (a !== undefined && typeof a.Offset === "number" && Number.isInteger(a.Offset) && a.Offset >= 0) return { offset: a.Offset };
    if (a !== undefined && typeof a.Cursor === "string") return { key: a.Cursor };
    return undefined;
  } catch {
    return undefined;
  }
};
