import type { IncomingMessage, ServerResponse } from "node:http";

/** Reads a whole request body (small bodies only: forms and JSON), up to `limit` bytes. */
export const readBody = (req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/** Reads and throws away a request body of any size (answers that do not need it). */
export const discardBody = (req: IncomingMessage): Promise<void> =>
  new Promise((resolve) => {
    req.on("end", resolve);
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.resume();
  });

/** Query parameters merged with an `application/x-www-form-urlencoded` body (Twitch's token endpoint takes either). */
export const readForm = async (req: IncomingMessage, url: URL): Promise<URLSearchParams> => {
  const params = new URLSearchParams(url.searchParams);
  if (req.method === "POST" || req.method === "PUT") {
    const body = (await readBody(req)).toString("utf8");
    const type = req.headers["content-type"] ?? "";
    if (type.includes("application/json") && body.trim() !== "") {
      const parsed: unknown = JSON.parse(body);
      if (parsed !== null && typeof parsed === "object") {
        for (const [k, v] of Object.entries(parsed)) if (typeof v === "string" || typeof v === "number") params.set(k, String(v));
      }
    } else {
      for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    }
  }
  return params;
};

/** Sends `body` as JSON with the given status and extra headers. */
export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

/** Sends plain text. */
export const sendText = (res: ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8"): void => {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
};

/** The token in `Authorization: Bearer x` or `Authorization: OAuth x`, if any. */
export const bearerToken = (req: IncomingMessage): string | undefined => {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
};

/** One header's value (first when repeated). */
export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** A request handler for one surface: answers and returns true when the path is its own. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
