/**
 * Twitch Helix client: users, streams and videos, for every channel at once.
 *
 * Every request goes through the process's one app token ({@link makeAppTokenSource})
 * and one rate budget ({@link makeHelixRateLimiter}). A 401 refreshes the token
 * once; a 429 waits for the reported reset; 5xx answers and network errors are
 * retried with jittered exponential backoff. Bodies are decoded with Schema, so
 * a shape change surfaces as `HelixDecodeError` instead of `undefined` fields.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Schedule, Schema, Stream } from "effect";
import {
  HelixAuthError,
  HelixDecodeError,
  type HelixError,
  HelixHttpError,
  HelixNetworkError,
  HelixRateLimited,
  isTransientHelixError,
} from "./helix-errors.ts";
import { type HelixRateLimiter, makeHelixRateLimiter, type RateBudgetOptions, type RateBudgetSnapshot } from "./helix-rate-limiter.ts";
import { makeAppTokenSource } from "./helix-token.ts";
import { errorText, parseJson } from "./http-response.ts";
import {
  ErrorWire,
  type HelixPage,
  type HelixStream,
  type HelixUser,
  type HelixVideo,
  Page,
  StreamWire,
  toStream,
  toUser,
  toVideo,
  UserWire,
  VideoWire,
} from "./helix-types.ts";

/** One Helix exchange, reported to the `onRequest` hook (metrics). */
export interface HelixRequestInfo {
  /** Endpoint name without query: `users`, `streams`, `videos` (token mints go to `onTokenMint`). */
  readonly endpoint: string;
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly durationMs: number;
  /** `Ratelimit-Remaining` of the answer, when sent. */
  readonly ratelimitRemaining: number | undefined;
}

/** How to reach and use Helix. */
export interface HelixOptions {
  /** Helix base, e.g. `https://api.twitch.tv/helix`. */
  readonly helixUrl: string;
  /** Twitch OAuth base, e.g. `https://id.twitch.tv/oauth2`. */
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: Redacted.Redacted<string> | string;
  /** Per-request timeout. Default 10 s. */
  readonly requestTimeoutMs?: number | undefined;
  /** Retries after a 5xx or network error. Default 4. */
  readonly retries?: number | undefined;
  /** First backoff delay; doubles each retry, jittered ±20%. Default 250 ms. */
  readonly retryBaseMs?: number | undefined;
  /** Backoff cap. Default 5 s. */
  readonly retryMaxDelayMs?: number | undefined;
  /** 429 answers tolerated for one call before failing with `HelixRateLimited`. Default 5. */
  readonly maxRateLimitWaits?: number | undefined;
  /** How long `getUsers` results are reused. Default 1 h. */
  readonly userCacheTtlMs?: number | undefined;
  readonly rateLimit?: RateBudgetOptions | undefined;
  /** Share a limiter between several clients of the same client id; one is made when omitted. */
  readonly limiter?: HelixRateLimiter | undefined;
  readonly onRequest?: ((info: HelixRequestInfo) => void) | undefined;
  readonly onTokenMint?: ((info: { readonly expiresInSeconds: number }) => void) | undefined;
}

/** Video kinds `/videos` can filter on. */
export type VideoType = "all" | "archive" | "highlight" | "upload";

/** A page request for a user's videos. */
export interface VideosQuery {
  readonly userId: string;
  /** Default `archive` (past broadcasts). */
  readonly type?: VideoType | undefined;
  /** Page size, 1–100. Default 100. */
  readonly first?: number | undefined;
  /** Cursor of the page to fetch; the first page when omitted. */
  readonly after?: string | undefined;
}

/** The Helix operations the runtime uses. */
export interface HelixClient {
  /** Users by login and/or id, 100 per request, served from a TTL cache when possible. Unknown ones are left out. */
  readonly getUsers: (query: {
    readonly logins?: ReadonlyArray<string> | undefined;
    readonly ids?: ReadonlyArray<string> | undefined;
  }) => Effect.Effect<ReadonlyArray<HelixUser>, HelixError>;
  /** Live streams among the given users, 100 users per request, following pagination. */
  readonly getStreams: (query: {
    readonly userIds?: ReadonlyArray<string> | undefined;
    readonly logins?: ReadonlyArray<string> | undefined;
  }) => Effect.Effect<ReadonlyArray<HelixStream>, HelixError>;
  /** One page of a user's videos, newest first, with the cursor of the next page. */
  readonly getVideos: (query: VideosQuery) => Effect.Effect<HelixPage<HelixVideo>, HelixError>;
  /** Every page of a user's videos from `after` on; each page carries the cursor to resume after it. */
  readonly videoPages: (query: VideosQuery) => Stream.Stream<HelixPage<HelixVideo>, HelixError>;
  /** Every video of a user from `after` on, newest first. */
  readonly videos: (query: VideosQuery) => Stream.Stream<HelixVideo, HelixError>;
  /** One video, or undefined when Twitch does not know it (deleted or never existed). */
  readonly getVideoById: (id: string) => Effect.Effect<HelixVideo | undefined, HelixError>;
  /** The shared rate budget as the client sees it now. */
  readonly rateLimit: Effect.Effect<RateBudgetSnapshot>;
  /** App tokens minted so far. */
  readonly tokenMints: Effect.Effect<number>;
}

const BATCH = 100;
const decodeErrorBody = Schema.decodeUnknownOption(ErrorWire);

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const unique = (items: ReadonlyArray<string>): Array<string> => [...new Set(items.filter((s) => s !== ""))];

/** Builds a client; nothing is fetched until the first call. */
export const makeHelix = (options: HelixOptions): Effect.Effect<HelixClient> =>
  Effect.gen(function* () {
    const base = options.helixUrl.replace(/\/+$/, "");
    const tokens = yield* makeAppTokenSource({
      oauthUrl: options.oauthUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      requestTimeoutMs: options.requestTimeoutMs,
      onMint: options.onTokenMint,
    });
    const limiter = options.limiter ?? (yield* makeHelixRateLimiter(options.rateLimit));
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    const maxRateLimitWaits = options.maxRateLimitWaits ?? 5;
    const userTtl = options.userCacheTtlMs ?? 3_600_000;
    const report = (info: HelixRequestInfo) => {
      try {
        options.onRequest?.(info);
      } catch {
        // A failing metrics hook must not fail the request.
      }
    };

    const backoff = Schedule.min([
      Schedule.exponential(Duration.millis(options.retryBaseMs ?? 250)),
      Schedule.spaced(Duration.millis(options.retryMaxDelayMs ?? 5_000)),
    ]).pipe(Schedule.jittered);

    /**
     * Sends one request under a rate ticket. The ticket goes back to the limiter
     * whatever happens: with the answer's headers, or empty-handed on a network
     * error or interruption.
     */
    const send = (endpoint: string, url: string, token: string) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(limiter.acquire), (ticket) =>
          restore(
            Effect.gen(function* () {
              const started = yield* Clock.currentTimeMillis;
              const response = yield* Effect.tryPromise({
                try: async (signal) => {
                  const res = await fetch(url, {
                    headers: { "Client-Id": options.clientId, Authorization: `Bearer ${token}` },
                    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
                  });
                  return { status: res.status, headers: res.headers, text: await res.text() };
                },
                catch: (cause) => new HelixNetworkError({ endpoint, message: errorText(cause) }),
              }).pipe(
                Effect.tapError(() =>
                  Effect.map(Clock.currentTimeMillis, (now) =>
                    report({ endpoint, status: 0, durationMs: now - started, ratelimitRemaining: undefined }),
                  ),
                ),
              );
              const rate = yield* limiter.settle(ticket, response.headers, response.status);
              const finished = yield* Clock.currentTimeMillis;
              return { response, rate, started, finished };
            }),
          ).pipe(Effect.ensuring(limiter.release(ticket))),
        ),
      );

    /** One GET, with token refresh on 401 and waits on 429; no 5xx retry here. */
    const exchange = <S extends Schema.Top>(endpoint: string, params: URLSearchParams, schema: S) =>
      Effect.gen(function* () {
        const url = `${base}/${endpoint}?${params.toString()}`;
        let refreshed = false;
        let rateLimited = 0;
        while (true) {
          const token = yield* tokens.get;
          const { response, rate, started, finished } = yield* send(endpoint, url, token);
          report({ endpoint, status: response.status, durationMs: finished - started, ratelimitRemaining: rate.remaining });
          const body = parseJson(response.text);
          if (response.status === 401) {
            yield* tokens.invalidate(token);
            if (!refreshed) {
              refreshed = true;
              continue;
            }
            return yield* new HelixAuthError({ status: 401, message: messageOf(body, response.text) });
          }
          if (response.status === 429) {
            if (++rateLimited > maxRateLimitWaits) {
              const snapshot = yield* limiter.snapshot;
              return yield* new HelixRateLimited({ endpoint, resetAt: snapshot.blockedUntil || rate.resetAt || finished });
            }
            // The limiter now holds every caller until the reset Helix reported.
            continue;
          }
          if (response.status < 200 || response.status >= 300) {
            return yield* new HelixHttpError({ endpoint, status: response.status, message: messageOf(body, response.text) });
          }
          return yield* Schema.decodeUnknownEffect(schema)(body).pipe(
            Effect.mapError((issue) => new HelixDecodeError({ endpoint, message: issue.message })),
          );
        }
      });

    const get = <S extends Schema.Top>(endpoint: string, params: URLSearchParams, schema: S) =>
      exchange(endpoint, params, schema).pipe(
        Effect.retry({ schedule: backoff, times: options.retries ?? 4, while: isTransientHelixError }),
      );

    const UsersPage = Page(UserWire);
    const StreamsPage = Page(StreamWire);
    const VideosPage = Page(VideoWire);

    // Users change rarely (a rename at most); cache by both keys.
    const byLogin = new Map<string, { user: HelixUser; expiresAt: number }>();
    const byId = new Map<string, { user: HelixUser; expiresAt: number }>();

    const getUsers: HelixClient["getUsers"] = (query) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        const found = new Map<string, HelixUser>();
        const cached = (map: typeof byLogin, key: string) => {
          const entry = map.get(key);
          if (entry === undefined || entry.expiresAt <= now) return undefined;
          return entry.user;
        };
        const missingLogins = unique((query.logins ?? []).map((l) => l.toLowerCase())).filter((login) => {
          const user = cached(byLogin, login);
          if (user !== undefined) found.set(user.id, user);
          return user === undefined;
        });
        const missingIds = unique(query.ids ?? []).filter((id) => {
          const user = cached(byId, id);
          if (user !== undefined) found.set(user.id, user);
          return user === undefined;
        });
        const keys = [
          ...missingLogins.map((v) => ["login", v] as const),
          ...missingIds.map((v) => ["id", v] as const),
        ];
        const pages = yield* Effect.forEach(
          chunks(keys, BATCH),
          (batch) => get("users", new URLSearchParams(batch.map(([k, v]) => [k, v])), UsersPage),
          { concurrency: 4 },
        );
        const fetchedAt = yield* Clock.currentTimeMillis;
        for (const page of pages) {
          for (const wire of page.data) {
            const user = toUser(wire);
            const entry = { user, expiresAt: fetchedAt + userTtl };
            byLogin.set(user.login, entry);
            byId.set(user.id, entry);
            found.set(user.id, user);
          }
        }
        return [...found.values()];
      });

    const getStreams: HelixClient["getStreams"] = (query) => {
      const keys = [
        ...unique(query.userIds ?? []).map((v) => ["user_id", v] as const),
        ...unique((query.logins ?? []).map((l) => l.toLowerCase())).map((v) => ["user_login", v] as const),
      ];
      const batchStreams = (batch: ReadonlyArray<readonly [string, string]>) =>
        Stream.paginate(undefined as string | undefined, (after) => {
          const params = new URLSearchParams(batch.map(([k, v]) => [k, v]));
          params.set("first", String(BATCH));
          if (after !== undefined) params.set("after", after);
          return Effect.map(get("streams", params, StreamsPage), (page) => {
            const cursor = page.data.length > 0 ? page.pagination?.cursor : undefined;
            return [page.data.map(toStream), cursor ? Option.some(cursor) : Option.none()] as const;
          });
        });
      return Effect.map(
        Effect.forEach(chunks(keys, BATCH), (batch) => Stream.runCollect(batchStreams(batch)), { concurrency: 4 }),
        (lists) => {
          // Pagination can repeat an entry when the live set shifts between pages.
          const byStream = new Map<string, HelixStream>();
          for (const list of lists) for (const s of list) byStream.set(s.id, s);
          return [...byStream.values()];
        },
      );
    };

    const getVideos: HelixClient["getVideos"] = (query) => {
      const params = new URLSearchParams({
        user_id: query.userId,
        type: query.type ?? "archive",
        first: String(Math.min(BATCH, Math.max(1, Math.floor(query.first ?? BATCH)))),
      });
      if (query.after !== undefined && query.after !== "") params.set("after", query.after);
      return Effect.map(get("videos", params, VideosPage), (page) => ({
        data: page.data.map(toVideo),
        // Helix keeps a cursor on an empty last page; stop there instead of looping.
        cursor: page.data.length > 0 && page.pagination?.cursor ? page.pagination.cursor : undefined,
      }));
    };

    const videoPages: HelixClient["videoPages"] = (query) =>
      Stream.paginate(query.after, (after) =>
        Effect.map(getVideos({ ...query, after }), (page) =>
          [[page], page.cursor === undefined ? Option.none() : Option.some(page.cursor)] as const,
        ),
      );

    const videos: HelixClient["videos"] = (query) =>
      videoPages(query).pipe(Stream.flatMap((page) => Stream.fromIterable(page.data)));

    const getVideoById: HelixClient["getVideoById"] = (id) =>
      get("videos", new URLSearchParams({ id }), VideosPage).pipe(
        Effect.map((page) => {
          const first = page.data[0];
          return first === undefined ? undefined : toVideo(first);
        }),
        // Helix answers an unknown video id with 404.
        Effect.catchTag("HelixHttpError", (error) => (error.status === 404 ? Effect.succeed(undefined) : Effect.fail(error))),
      );

    return {
      getUsers,
      getStreams,
      getVideos,
      videoPages,
      videos,
      getVideoById,
      rateLimit: limiter.snapshot,
      tokenMints: tokens.mints,
    };
  });

const messageOf = (body: unknown, raw: string): string => {
  const decoded = decodeErrorBody(body);
  if (decoded._tag === "Some" && decoded.value.message) return decoded.value.message;
  return raw.slice(0, 200);
};

/** The Helix client as a service: one per process, shared by every channel. */
export class Helix extends Context.Service<Helix, HelixClient>()("vod-tender/services/Helix") {
  /** A client built from plain options (the runtime binds them from `Config`). */
  static readonly layer = (options: HelixOptions) => Layer.effect(Helix, Effect.map(makeHelix(options), Helix.of));
}
