/**
 * YouTube resumable uploads.
 *
 * Protocol (the one Google documents for `videos.insert`):
 * 1. `POST <upload base>/videos?uploadType=resumable&part=snippet,status` with the
 *    video's JSON metadata; the answer's `Location` is the session URL.
 * 2. `PUT` the bytes in chunks, each with `Content-Range: bytes a-b/total`
 *    (every chunk but the last a multiple of 256 KiB). `308` with
 *    `Range: bytes=0-N` means the server holds bytes 0..N; `200`/`201` carries
 *    the finished video resource.
 * 3. After an error or a restart, `PUT` with `Content-Range: bytes *\/total` and no
 *    body asks how much arrived; the upload continues from there.
 *
 * The session URL is handed to `onSession` as soon as it exists, so a process
 * that dies mid-upload resumes the same session instead of sending the whole
 * file again.
 */
import { open, stat } from "node:fs/promises";
import { extname } from "node:path";
import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect";
import { type GoogleTokenError, type GoogleTokens, isTransientGoogleTokenError, makeGoogleTokens } from "./google-token.ts";
import { errorText, parseJson } from "./http-response.ts";

/** Chunks must be multiples of this (except the last). */
export const UPLOAD_CHUNK_UNIT = 256 * 1024;

/** What YouTube shows for the video. */
export interface VideoMetadata {
  /** At most 100 characters; see {@link youtubeTitle}. */
  readonly title: string;
  readonly description?: string | undefined;
  readonly privacyStatus: "private" | "unlisted" | "public";
  readonly tags?: ReadonlyArray<string> | undefined;
  /** YouTube category id; 20 (Gaming) when omitted. */
  readonly categoryId?: string | undefined;
}

/** How to reach YouTube and Google OAuth. */
export interface UploaderOptions {
  /** Upload base, e.g. `https://www.googleapis.com/upload/youtube/v3`. */
  readonly uploadUrl: string;
  /** Google OAuth base, e.g. `https://oauth2.googleapis.com`. */
  readonly googleOAuthUrl: string;
  readonly clientId: string;
  readonly clientSecret: Redacted.Redacted<string> | string;
  /** Bytes per PUT, rounded down to a multiple of 256 KiB (at least one unit). Default 8 MiB. */
  readonly chunkSizeBytes?: number | undefined;
  /** Timeout of one request (a chunk included). Default 5 min. */
  readonly requestTimeoutMs?: number | undefined;
  /** Consecutive failed attempts tolerated before giving up. Default 5. */
  readonly retries?: number | undefined;
  /** First backoff delay, doubled each retry and jittered. Default 1 s. */
  readonly retryBaseMs?: number | undefined;
  /** Backoff cap. Default 30 s. */
  readonly retryMaxDelayMs?: number | undefined;
  /** Share a token cache with other users of the same OAuth client; one is made when omitted. */
  readonly tokens?: GoogleTokens | undefined;
}

/** One file to upload. */
export interface UploadRequest<E = never> {
  readonly filePath: string;
  readonly metadata: VideoMetadata;
  /** The channel's stored Google refresh token. */
  readonly refreshToken: Redacted.Redacted<string> | string;
  /** A session URL persisted by an earlier run; the upload resumes it when still valid. */
  readonly sessionUrl?: string | undefined;
  /** Persists a new session URL before any byte is sent. */
  readonly onSession?: ((sessionUrl: string) => Effect.Effect<void, E>) | undefined;
  /** Called when the server confirms bytes: how many it holds, of how many. */
  readonly onProgress?: ((uploadedBytes: number, totalBytes: number) => void) | undefined;
}

/** A finished upload. */
export interface UploadResult {
  readonly videoId: string;
  /** `https://www.youtube.com/watch?v=<id>`. */
  readonly url: string;
  readonly sizeBytes: number;
  /** Bytes the server already held when this run started (resumed session). */
  readonly resumedFromBytes: number;
  readonly sessionUrl: string;
}

/**
 * An upload that did not finish. `retryable` says whether a later attempt can
 * help (quota and server trouble pass; rejected metadata or a revoked
 * credential do not).
 */
export class UploadError extends Schema.TaggedError<UploadError>()("UploadError", {
  reason: Schema.Literals(["auth", "quota", "rejected", "session-expired", "server", "network", "file", "protocol"]),
  retryable: Schema.Boolean,
  status: Schema.NullOr(Schema.Number),
  message: Schema.String,
}) {}

const GoogleErrorWire = Schema.Struct({
  error: Schema.Struct({
    code: Schema.optional(Schema.Number),
    message: Schema.optional(Schema.String),
    errors: Schema.optional(Schema.Array(Schema.Struct({ reason: Schema.optional(Schema.String) }))),
  }),
});

const VideoWire = Schema.Struct({ id: Schema.String });

// Characters YouTube refuses in titles and descriptions, and invisible ones.
const FORBIDDEN = /[<>\p{Cc}\p{Cf}]/gu;

/** A title YouTube accepts: no `<`/`>` or control characters, at most 100 characters (`...` when cut), never empty. */
export const youtubeTitle = (title: string): string => {
  const cleaned = title.replace(/\s+/gu, " ").replace(FORBIDDEN, "").trim();
  const chars = [...cleaned];
  const cut = chars.length > 100 ? `${chars.slice(0, 97).join("").trimEnd()}...` : cleaned;
  return cut === "" ? "Untitled VOD" : cut;
};

/** A description YouTube accepts: no `<`/`>`, at most 5000 bytes of UTF-8. */
export const youtubeDescription = (description: string): string => {
  const cleaned = description.replace(/[<>]/g, "").replace(/[\p{Cf}]/gu, "");
  if (Buffer.byteLength(cleaned, "utf8") <= 5000) return cleaned;
  let out = "";
  for (const ch of cleaned) {
    if (Buffer.byteLength(out + ch, "utf8") > 5000) break;
    out += ch;
  }
  return out;
};

const contentTypeOf = (path: string): string => {
  switch (extname(path).toLowerCase()) {
    case ".mkv":
      return "video/x-matroska";
    case ".webm":
      return "video/webm";
    case ".ts":
      return "video/mp2t";
    default:
      return "video/mp4";
  }
};

/** The end of a `Range: bytes=0-N` header as the next offset (N+1); 0 without one. */
export const nextOffsetFromRange = (range: string | null): number => {
  const match = range === null ? null : /bytes=0-(\d+)/.exec(range);
  return match === null ? 0 : Number(match[1]) + 1;
};

/** Where an exchange with the session left the upload. */
type Outcome = { readonly _tag: "Partial"; readonly offset: number } | { readonly _tag: "Done"; readonly videoId: string };

const partial = (range: string | null): Outcome => ({ _tag: "Partial", offset: nextOffsetFromRange(range) });

/** Reads one chunk of the file being uploaded. */
interface ChunkSource {
  readonly read: (offset: number, length: number) => Promise<Uint8Array<ArrayBuffer>>;
}

/** The uploader's operations. */
export interface YouTubeUploader {
  /** Uploads one file, resuming `sessionUrl` when given; see the module comment. */
  readonly upload: <E = never>(request: UploadRequest<E>) => Effect.Effect<UploadResult, UploadError | E>;
  /** The Google token cache the uploader uses (shared with anything else needing YouTube). */
  readonly tokens: GoogleTokens;
}

/** Builds an uploader; nothing is fetched until the first upload. */
export const makeUploader = (options: UploaderOptions): Effect.Effect<YouTubeUploader> =>
  Effect.gen(function* () {
    const tokens =
      options.tokens ??
      (yield* makeGoogleTokens({
        oauthUrl: options.googleOAuthUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
      }));
    const base = options.uploadUrl.replace(/\/+$/, "");
    const unit = UPLOAD_CHUNK_UNIT;
    const chunkSize = Math.max(unit, Math.floor((options.chunkSizeBytes ?? 8 * 1024 * 1024) / unit) * unit);
    const timeoutMs = options.requestTimeoutMs ?? 300_000;
    const backoff = Schedule.min([
      Schedule.exponential(Duration.millis(options.retryBaseMs ?? 1_000)),
      Schedule.spaced(Duration.millis(options.retryMaxDelayMs ?? 30_000)),
    ]).pipe(Schedule.jittered);

    const fromTokenError = (error: GoogleTokenError) =>
      new UploadError({
        reason: isTransientGoogleTokenError(error) ? (error.reason === "network" ? "network" : "server") : "auth",
        retryable: isTransientGoogleTokenError(error),
        status: error.status,
        message: `Google token refresh failed: ${error.message}`,
      });

    const call = (url: string, init: RequestInit) =>
      Effect.tryPromise({
        try: async (signal) => {
          const res = await fetch(url, {
            ...init,
            signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          });
          return { status: res.status, headers: res.headers, text: await res.text() };
        },
        catch: (cause) => new UploadError({ reason: "network", retryable: true, status: null, message: errorText(cause) }),
      });

    /** Maps an unexpected answer to a typed error. */
    const failure = (status: number, text: string, what: string): UploadError => {
      const decoded = Schema.decodeUnknownOption(GoogleErrorWire)(parseJson(text));
      const reasons = decoded._tag === "Some" ? (decoded.value.error.errors ?? []).map((e) => e.reason ?? "") : [];
      const detail = decoded._tag === "Some" ? (decoded.value.error.message ?? text) : text.slice(0, 200);
      const message = `${what}: HTTP ${status}${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}: ${detail}`;
      if (status === 401) return new UploadError({ reason: "auth", retryable: true, status, message });
      if (status === 404 || status === 410) {
        return new UploadError({ reason: "session-expired", retryable: true, status, message });
      }
      if (status === 429 || reasons.some((r) => /quota|limitexceeded|ratelimit/i.test(r))) {
        return new UploadError({ reason: "quota", retryable: true, status, message });
      }
      if (status >= 500) return new UploadError({ reason: "server", retryable: true, status, message });
      return new UploadError({ reason: "rejected", retryable: false, status, message });
    };

    const finished = (text: string, status: number) =>
      Schema.decodeUnknownEffect(VideoWire)(parseJson(text)).pipe(
        Effect.map((video): Outcome => ({ _tag: "Done", videoId: video.id })),
        Effect.mapError(
          (issue) =>
            new UploadError({ reason: "protocol", retryable: false, status, message: `upload finished without a video id: ${issue.message}` }),
        ),
      );

    const openSession = (accessToken: string, metadata: VideoMetadata, size: number, contentType: string) =>
      Effect.gen(function* () {
        const body = {
          snippet: {
            title: youtubeTitle(metadata.title),
            description: youtubeDescription(metadata.description ?? ""),
            categoryId: metadata.categoryId ?? "20",
            ...(metadata.tags !== undefined ? { tags: [...metadata.tags] } : {}),
          },
          status: { privacyStatus: metadata.privacyStatus, selfDeclaredMadeForKids: false },
        };
        const response = yield* call(`${base}/videos?uploadType=resumable&part=snippet,status`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${accessToken}`,
            "Content-Type": "application/json; charset=UTF-8",
            "X-Upload-Content-Length": String(size),
            "X-Upload-Content-Type": contentType,
          },
          body: JSON.stringify(body),
        });
        if (response.status !== 200 && response.status !== 201) {
          return yield* failure(response.status, response.text, "opening the upload session");
        }
        const location = response.headers.get("location");
        if (location === null || location === "") {
          return yield* new UploadError({
            reason: "protocol",
            retryable: true,
            status: response.status,
            message: "upload session answer has no Location",
          });
        }
        return location;
      });

    const queryStatus = (accessToken: string, sessionUrl: string, size: number) =>
      Effect.gen(function* () {
        const response = yield* call(sessionUrl, {
          method: "PUT",
          headers: { Authorization: `Bearer ${accessToken}`, "Content-Range": `bytes */${size}`, "Content-Length": "0" },
        });
        if (response.status === 308) {
          return partial(response.headers.get("range"));
        }
        if (response.status === 200 || response.status === 201) return yield* finished(response.text, response.status);
        return yield* failure(response.status, response.text, "asking the upload status");
      });

    const putChunk = (accessToken: string, sessionUrl: string, file: ChunkSource, offset: number, size: number) =>
      Effect.gen(function* () {
        const length = Math.min(chunkSize, size - offset);
        const bytes = yield* Effect.tryPromise({
          try: () => file.read(offset, length),
          catch: (cause) => new UploadError({ reason: "file", retryable: true, status: null, message: errorText(cause) }),
        });
        const response = yield* call(sessionUrl, {
          method: "PUT",
          headers: {
            Authorization: `Bearer ${accessToken}`,
            "Content-Range": `bytes ${offset}-${offset + length - 1}/${size}`,
            "Content-Length": String(length),
          },
          body: bytes,
        });
        if (response.status === 308) {
          return partial(response.headers.get("range"));
        }
        if (response.status === 200 || response.status === 201) return yield* finished(response.text, response.status);
        return yield* failure(response.status, response.text, `sending bytes ${offset}-${offset + length - 1}`);
      });

    const upload = <E = never>(request: UploadRequest<E>): Effect.Effect<UploadResult, UploadError | E> =>
      Effect.acquireUseRelease(
        Effect.tryPromise({
          try: () => open(request.filePath, "r"),
          catch: (cause) => new UploadError({ reason: "file", retryable: false, status: null, message: errorText(cause) }),
        }),
        (handle) =>
          Effect.gen(function* () {
            const info = yield* Effect.tryPromise({
              try: () => stat(request.filePath),
              catch: (cause) => new UploadError({ reason: "file", retryable: false, status: null, message: errorText(cause) }),
            });
            const size = info.size;
            if (size === 0) {
              return yield* new UploadError({ reason: "file", retryable: false, status: null, message: "file is empty" });
            }
            const file: ChunkSource = {
              read: async (offset: number, length: number) => {
                const buffer = Buffer.allocUnsafe(length);
                let filled = 0;
                while (filled < length) {
                  const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
                  if (bytesRead === 0) throw new Error(`file ended at ${offset + filled} of ${size} bytes`);
                  filled += bytesRead;
                }
                return buffer;
              },
            };
            const contentType = contentTypeOf(request.filePath);
            const accessToken = Effect.mapError(tokens.get(request.refreshToken), fromTokenError);

            let sessionUrl = request.sessionUrl;
            let offset = 0;
            let resumedFromBytes = 0;
            // Whether the next attempt must first ask the server where it stands.
            let resync = sessionUrl !== undefined;
            let firstStep = true;
            let lastToken: string | undefined;
            let stalls = 0;

            /** One step: open or resync when needed, then send one chunk. */
            const step: Effect.Effect<Outcome, UploadError | E> = Effect.gen(function* () {
              const token = yield* accessToken;
              lastToken = token;
              if (sessionUrl === undefined) {
                const url = yield* openSession(token, request.metadata, size, contentType);
                if (request.onSession !== undefined) yield* request.onSession(url);
                sessionUrl = url;
                offset = 0;
                resync = false;
              }
              if (resync) {
                const status = yield* queryStatus(token, sessionUrl, size);
                resync = false;
                if (firstStep && status._tag === "Partial") resumedFromBytes = status.offset;
                if (status._tag === "Done") return status;
                offset = status.offset;
                request.onProgress?.(offset, size);
              }
              firstStep = false;
              if (offset >= size) {
                return yield* new UploadError({
                  reason: "protocol",
                  retryable: true,
                  status: 308,
                  message: "server holds every byte but did not finish the upload",
                });
              }
              return yield* putChunk(token, sessionUrl, file, offset, size);
            }).pipe(
              Effect.tapError((error) =>
                Effect.suspend(() => {
                  firstStep = false;
                  if (!(error instanceof UploadError)) return Effect.void;
                  if (error.reason === "session-expired") {
                    // The session is gone (they expire after about a week): start over.
                    sessionUrl = undefined;
                    offset = 0;
                    return Effect.void;
                  }
                  resync = true;
                  return error.reason === "auth" && lastToken !== undefined
                    ? tokens.invalidate(request.refreshToken, lastToken)
                    : Effect.void;
                }),
              ),
            );

            const retrying = Effect.retry(step, {
              schedule: backoff,
              times: options.retries ?? 5,
              while: (error) => error instanceof UploadError && error.retryable && error.reason !== "quota",
            });

            while (true) {
              const outcome = yield* retrying;
              if (outcome._tag === "Done") {
                request.onProgress?.(size, size);
                return {
                  videoId: outcome.videoId,
                  url: `https://www.youtube.com/watch?v=${outcome.videoId}`,
                  sizeBytes: size,
                  resumedFromBytes,
                  sessionUrl: sessionUrl!,
                } satisfies UploadResult;
              }
              // A server that keeps answering 308 without taking bytes would loop forever.
              stalls = outcome.offset > offset ? 0 : stalls + 1;
              if (stalls > (options.retries ?? 5)) {
                return yield* new UploadError({
                  reason: "protocol",
                  retryable: true,
                  status: 308,
                  message: `server keeps holding ${outcome.offset} bytes without taking more`,
                });
              }
              offset = outcome.offset;
              request.onProgress?.(offset, size);
            }
          }),
        (handle) => Effect.promise(() => handle.close()),
      );

    return { upload, tokens };
  });

/** YouTube uploads as a service, so actors depend on the interface and tests can swap it. */
export class Uploader extends Context.Service<Uploader, YouTubeUploader>()("vod-tender/services/Uploader") {
  /** An uploader built from plain options (the runtime binds them from `Config`). */
  static readonly layer = (options: UploaderOptions) => Layer.effect(Uploader, Effect.map(makeUploader(options), Uploader.of));
}
