import { createHash, randomBytes, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { bearerToken, discardBody, readBody, sendJson, type Route } from "./http-io.ts";
import type { FaultBook } from "./faults.ts";
import type { SimClock } from "./clock.ts";
import type { TokenStore } from "./token-store.ts";

/** One resumable upload session as the simulator saw it. */
export interface UploadRecord {
  readonly uploadId: string;
  /** The YouTube video id, once complete. */
  readonly videoId: string | null;
  /** The JSON metadata sent when the session was opened. */
  readonly metadata: unknown;
  readonly contentType: string | null;
  /** `X-Upload-Content-Length`, or the total first given in a `Content-Range`. */
  readonly declaredLength: number | null;
  /** Bytes kept so far. */
  readonly received: number;
  readonly complete: boolean;
  /** SHA-256 (hex) of all bytes, once complete. */
  readonly sha256: string | null;
  /** Where the bytes are, when kept on disk. */
  readonly path: string | null;
  /** PUT requests received, and how many of them were cut by a fault. */
  readonly puts: number;
  readonly interruptions: number;
  readonly createdAt: number;
  readonly completedAt: number | null;
}

interface Session {
  uploadId: string;
  videoId: string | null;
  metadata: unknown;
  contentType: string | null;
  declaredLength: number | null;
  received: number;
  complete: boolean;
  sha256: string | null;
  path: string | null;
  puts: number;
  interruptions: number;
  createdAt: number;
  completedAt: number | null;
  hash: Hash;
  file: WriteStream | null;
  busy: boolean;
  resource: Record<string, unknown> | null;
}

/** What the YouTube surface needs. */
export interface YouTubeDeps {
  readonly tokens: TokenStore;
  readonly faults: FaultBook;
  readonly clock: SimClock;
  readonly baseUrl: () => string;
  /** Folder for received bytes, or `null` to keep only sizes and checksums. */
  readonly uploadDir: string | null;
  readonly channelId: string;
}

const googleError = (res: ServerResponse, code: number, status: string, message: string, reason: string) =>
  sendJson(res, code, { error: { code, message, errors: [{ message, domain: "global", reason }], status } });

const unauthenticated = (res: ServerResponse) =>
  googleError(
    res,
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "authError",
  );

const videoIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const newVideoId = (): string => {
  const b = randomBytes(11);
  let s = "";
  for (let i = 0; i < 11; i++) s += videoIdAlphabet[b[i]! & 63];
  return s;
};

/**
 * YouTube's resumable upload protocol: `POST /upload/youtube/v3/videos?uploadType=resumable`
 * opens a session (answer `Location`), `PUT`s with `Content-Range` send bytes, `308` with
 * `Range` reports what was kept, and the final `200` carries the video resource. Also
 * `GET /youtube/v3/videos?id=` for uploaded videos. Received bytes are hashed (SHA-256)
 * and optionally kept on disk so tests can compare them with what was sent.
 */
export class YouTubeUploads {
  readonly #deps: YouTubeDeps;
  readonly #sessions = new Map<string, Session>();
  readonly #order: Session[] = [];

  constructor(deps: YouTubeDeps) {
    this.#deps = deps;
  }

  /** Every session so far, oldest first. */
  records(): UploadRecord[] {
    return this.#order.map((s) => ({
      uploadId: s.uploadId,
      videoId: s.videoId,
      metadata: s.metadata,
      contentType: s.contentType,
      declaredLength: s.declaredLength,
      received: s.received,
      complete: s.complete,
      sha256: s.sha256,
      path: s.path,
      puts: s.puts,
      interruptions: s.interruptions,
      createdAt: s.createdAt,
      completedAt: s.completedAt,
    }));
  }

  /** Closes open files. */
  close(): void {
    for (const s of this.#order) s.file?.end();
  }

  readonly route: Route = async (req, res, url) => {
    if (url.pathname === "/upload/youtube/v3/videos") {
      const uploadId = url.searchParams.get("upload_id");
      if (uploadId !== null) await this.#put(req, res, uploadId);
      else if (req.method === "POST") await this.#open(req, res, url);
      else googleError(res, 400, "INVALID_ARGUMENT", "Missing upload_id", "badRequest");
      return true;
    }
    if (url.pathname === "/youtube/v3/videos" && req.method === "GET") {
      const t = bearerToken(req);
      if (t === undefined || this.#deps.tokens.valid(t, "google") === undefined) return unauthenticated(res), true;
      const ids = (url.searchParams.get("id") ?? "").split(",").filter((x) => x !== "");
      const items = this.#order.filter((s) => s.resource !== null && ids.includes(s.videoId ?? "")).map((s) => s.resource);
      sendJson(res, 200, { kind: "youtube#videoListResponse", etag: "sim", items, pageInfo: { totalResults: items.length, resultsPerPage: items.length } });
      return true;
    }
    return false;
  };

  async #open(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.searchParams.get("uploadType") !== "resumable") {
      return googleError(res, 400, "INVALID_ARGUMENT", "Only uploadType=resumable is simulated", "badRequest");
    }
    const t = bearerToken(req);
    if (t === undefined || this.#deps.tokens.valid(t, "google") === undefined) {
      await readBody(req).catch(() => undefined);
      return unauthenticated(res);
    }
    const body = (await readBody(req)).toString("utf8");
    let metadata: unknown = {};
    if (body.trim() !== "") {
      try {
        metadata = JSON.parse(body);
      } catch {
        return googleError(res, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "parseError");
      }
    }
    const lengthHeader = req.headers["x-upload-content-length"];
    const declared = typeof lengthHeader === "string" && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    const uploadId = `AEnB2U${randomBytes(24).toString("base64url")}`;
    const path = this.#deps.uploadDir === null ? null : join(this.#deps.uploadDir, `${uploadId}.bin`);
    const s: Session = {
      uploadId,
      videoId: null,
      metadata,
      contentType: typeof req.headers["x-upload-content-type"] === "string" ? req.headers["x-upload-content-type"] : null,
      declaredLength: declared,
      received: 0,
      complete: false,
      sha256: null,
      path,
      puts: 0,
      interruptions: 0,
      createdAt: this.#deps.clock.now(),
      completedAt: null,
      hash: createHash("sha256"),
      file: path === null ? null : createWriteStream(path),
      busy: false,
      resource: null,
    };
    this.#sessions.set(uploadId, s);
    this.#order.push(s);
    const part = url.searchParams.get("part") ?? "snippet,status";
    const location = `${this.#deps.baseUrl()}/upload/youtube/v3/videos?uploadType=resumable&part=${encodeURIComponent(part)}&upload_id=${uploadId}`;
    res.writeHead(200, { Location: location, "X-GUploader-UploadID": uploadId, "Content-Length": 0 });
    res.end();
  }

  #incomplete(res: ServerResponse, s: Session): void {
    const headers: Record<string, string | number> = { "Content-Length": 0, "X-GUploader-UploadID": s.uploadId };
    if (s.received > 0) headers["Range"] = `bytes=0-${s.received - 1}`;
    res.writeHead(308, headers);
    res.end();
  }

  #finish(res: ServerResponse, s: Session): void {
    if (!s.complete) {
      s.complete = true;
      s.sha256 = s.hash.digest("hex");
      s.completedAt = this.#deps.clock.now();
      s.videoId = newVideoId();
      s.file?.end();
      const meta = (s.metadata ?? {}) as { snippet?: Record<string, unknown>; status?: Record<string, unknown> };
      const snippet = meta.snippet ?? {};
      const title = typeof snippet["title"] === "string" ? snippet["title"] : "unknown";
      const description = typeof snippet["description"] === "string" ? snippet["description"] : "";
      s.resource = {
        kind: "youtube#video",
        etag: randomBytes(12).toString("base64url"),
        id: s.videoId,
        snippet: {
          publishedAt: new Date(s.completedAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          channelId: this.#deps.channelId,
          title,
          description,
          thumbnails: {
            default: { url: `${this.#deps.baseUrl()}/static/yt/${s.videoId}/default.jpg`, width: 120, height: 90 },
          },
          channelTitle: "vod-tender simulator",
          ...(Array.isArray(snippet["tags"]) ? { tags: snippet["tags"] } : {}),
          categoryId: typeof snippet["categoryId"] === "string" ? snippet["categoryId"] : "20",
          liveBroadcastContent: "none",
          localized: { title, description },
        },
        status: {
          uploadStatus: "uploaded",
          privacyStatus: typeof meta.status?.["privacyStatus"] === "string" ? meta.status["privacyStatus"] : "private",
          license: "youtube",
          embeddable: true,
          publicStatsViewable: true,
        },
      };
    }
    sendJson(res, 200, s.resource);
  }

  async #put(req: IncomingMessage, res: ServerResponse, uploadId: string): Promise<void> {
    const s = this.#sessions.get(uploadId);
    if (s === undefined) {
      await discardBody(req);
      return googleError(res, 404, "NOT_FOUND", "Upload session not found", "notFound");
    }
    if (req.method !== "PUT" && req.method !== "POST") return googleError(res, 405, "INVALID_ARGUMENT", "Method not allowed", "badRequest");
    s.puts++;
    const cr = req.headers["content-range"];
    const bodyLength = Number(req.headers["content-length"] ?? "0");
    let start = s.received;
    let total: number | null = s.declaredLength;
    if (typeof cr === "string") {
      const q = /^bytes \*\/(\d+|\*)$/.exec(cr);
      const r = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr);
      if (q !== null) {
        if (q[1] !== "*") total = Number(q[1]);
        if (s.declaredLength === null && total !== null) s.declaredLength = total;
        await readBody(req).catch(() => undefined);
        if (s.complete || (total !== null && s.received >= total && total > 0)) return this.#finish(res, s);
        return this.#incomplete(res, s);
      }
      if (r === null) {
        await discardBody(req);
        return googleError(res, 400, "INVALID_ARGUMENT", `Failed to parse Content-Range header: ${cr}`, "badContent");
      }
      start = Number(r[1]);
      if (r[3] !== "*") total = Number(r[3]);
    } else if (total === null) {
      total = bodyLength;
    }
    if (s.declaredLength === null && total !== null) s.declaredLength = total;
    if (s.complete) {
      await discardBody(req);
      return this.#finish(res, s);
    }
    if (start > s.received || s.busy) {
      await discardBody(req);
      return googleError(res, 400, "INVALID_ARGUMENT", `Content-Range starts at ${start} but only ${s.received} bytes were received`, "badContent");
    }
    const interrupt = this.#deps.faults.take("upload-interrupt", () => true);
    s.busy = true;
    let skip = s.received - start;
    let seen = 0;
    const finished = await new Promise<boolean>((resolve) => {
      let cut = false;
      req.on("data", (chunk: Buffer) => {
        if (cut) return;
        let piece = chunk;
        if (interrupt !== undefined && seen + piece.length >= interrupt.afterBytes) {
          piece = piece.subarray(0, interrupt.afterBytes - seen);
          cut = true;
        }
        seen += piece.length;
        if (skip > 0) {
          const drop = Math.min(skip, piece.length);
          piece = piece.subarray(drop);
          skip -= drop;
        }
        if (piece.length > 0) {
          s.hash.update(piece);
          s.received += piece.length;
          if (s.file !== null && !s.file.write(piece)) {
            req.pause();
            s.file.once("drain", () => req.resume());
          }
        }
        if (cut) {
          s.interruptions++;
          req.socket.destroy();
          resolve(false);
        }
      });
      req.on("end", () => resolve(true));
      req.on("error", () => resolve(false));
      req.on("close", () => resolve(false));
    });
    s.busy = false;
    if (!finished) return;
    if (total !== null && s.received >= total) return this.#finish(res, s);
    this.#incomplete(res, s);
  }
}
