import { STATUS_CODES, type ServerResponse } from "node:http";
import { bearerToken, header, sendJson, type Route } from "./http-io.ts";
import { decodeCursor, encodeCursor } from "./helix-cursor.ts";
import { type RateDecision, type HelixRateLimiter, rateLimitHeaders } from "./rate-limit.ts";
import type { FaultBook } from "./faults.ts";
import type { IssuedToken, TokenStore } from "./token-store.ts";
import { formatTwitchDuration } from "./twitch-duration.ts";
import type { ChannelState, SimVod, World } from "./world.ts";
import type { ScenarioClip, ScenarioUser } from "./scenario.ts";

/** What the Helix surface reads. */
export interface HelixDeps {
  readonly world: World;
  readonly tokens: TokenStore;
  readonly limiter: HelixRateLimiter;
  readonly faults: FaultBook;
  /** Public base of the simulator (`http://127.0.0.1:P`), for VOD and thumbnail URLs. */
  readonly baseUrl: () => string;
  /** Counts every Helix request (for tests and stats). */
  readonly onRequest: (endpoint: string) => void;
}

/** Twitch's error envelope. */
export const helixError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
  sendJson(res, status, { error: STATUS_CODES[status] ?? "Error", status, message }, headers);

/** Twitch's body for a 429. */
export const tooManyRequestsMessage =
  "The application exceeded the number of calls it may make. For details, see Rate Limits in the Twitch API documentation.";

/** Helix timestamps: RFC 3339 in UTC, whole seconds. */
export const helixTime = (epochMs: number): string => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");

class BadRequest extends Error {}

const firstParam = (url: URL, max = 100, fallback = 20): number => {
  const raw = url.searchParams.get("first");
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new BadRequest(`The parameter "first" was malformed: the value must be an integer between 1 and ${max}, inclusive`);
  }
  return n;
};

const page = <T>(items: readonly T[], url: URL, first: number): { data: T[]; pagination: { cursor?: string } } => {
  const after = url.searchParams.get("after");
  const before = url.searchParams.get("before");
  let start = 0;
  if (after !== null && after !== "") {
    const p = decodeCursor(after);
    if (p === undefined || !("offset" in p)) throw new BadRequest('The parameter "after" was malformed');
    start = p.offset;
  } else if (before !== null && before !== "") {
    const p = decodeCursor(before);
    if (p === undefined || !("offset" in p)) throw new BadRequest('The parameter "before" was malformed');
    start = Math.max(0, p.offset - 2 * first);
  }
  const data = items.slice(start, start + first);
  const end = start + data.length;
  return { data, pagination: end < items.length ? { cursor: encodeCursor({ offset: end }) } : {} };
};

/**
 * Helix (`api.twitch.tv/helix`): users, streams, videos and clips with Twitch's field
 * names, order and quirks (`duration` as `3h2m1s`, `muted_segments` null when none,
 * cursors in `pagination`). Every request needs `Client-Id` and a bearer token issued to
 * that client; each costs a point from the client's bucket and the answer carries the
 * `Ratelimit-*` headers.
 */
export const helixRoute = (deps: HelixDeps): Route => (req, res, url) => {
  if (!url.pathname.startsWith("/helix/") && url.pathname !== "/helix") return false;
  const endpoint = url.pathname.slice("/helix/".length).replace(/\/$/, "");
  deps.onRequest(endpoint);

  const fault = deps.faults.take("helix-error", (f) => f.endpoint === undefined || f.endpoint === endpoint);
  if (fault !== undefined) {
    if (fault.status === 429) helixError(res, 429, tooManyRequestsMessage, rateLimitHeaders(deps.limiter.burst()));
    else helixError(res, fault.status, "");
    return true;
  }

  const clientId = header(req, "client-id");
  const raw = bearerToken(req);
  if (raw === undefined) return helixError(res, 401, "OAuth token is missing"), true;
  if (clientId === undefined || clientId === "") return helixError(res, 401, "Client ID is missing"), true;
  const token = deps.tokens.valid(raw, "twitch");
  if (token === undefined) return helixError(res, 401, "Invalid OAuth token"), true;
  if (token.clientId !== clientId) return helixError(res, 401, "Client ID and OAuth token do not match"), true;

  const decision = deps.limiter.take(clientId);
  const rl = rateLimitHeaders(decision);
  if (!decision.allowed) return helixError(res, 429, tooManyRequestsMessage, rl), true;
  if (req.method !== "GET") return helixError(res, 405, "Method Not Allowed", rl), true;

  try {
    switch (endpoint) {
      case "users":
        return users(deps, res, url, token, decision), true;
      case "streams":
        return sendJson(res, 200, streams(deps, url), rl), true;
      case "videos":
        return videos(deps, res, url, decision), true;
      case "clips":
        return clips(deps, res, url, decision), true;
      default:
        return helixError(res, 404, "Not Found", rl), true;
    }
  } catch (e) {
    if (e instanceof BadRequest) return helixError(res, 400, e.message, rl), true;
    throw e;
  }
};

const userJson = (deps: HelixDeps, u: ScenarioUser) => ({
  id: u.id,
  login: u.login,
  display_name: u.displayName,
  type: "",
  broadcaster_type: u.broadcasterType,
  description: u.description,
  profile_image_url: `${deps.baseUrl()}/static/profile/${u.login}-profile_image-300x300.png`,
  offline_image_url: "",
  view_count: u.viewCount,
  created_at: helixTime(u.createdAt),
});

const users = (deps: HelixDeps, res: ServerResponse, url: URL, token: IssuedToken, d: RateDecision) => {
  const ids = url.searchParams.getAll("id");
  const logins = url.searchParams.getAll("login");
  const rl = rateLimitHeaders(d);
  if (ids.length + logins.length > 100) {
    return helixError(res, 400, "The total number of id and login parameters must not exceed 100", rl);
  }
  if (ids.length + logins.length === 0) {
    if (token.kind === "user" && token.userId !== null) {
      const u = deps.world.usersById.get(token.userId);
      return sendJson(res, 200, { data: u === undefined ? [] : [userJson(deps, u)] }, rl);
    }
    return helixError(res, 400, "Must provide an ID, Login or OAuth Token", rl);
  }
  const seen = new Set<string>();
  const found: ScenarioUser[] = [];
  const add = (u: ScenarioUser | undefined) => {
    if (u !== undefined && !seen.has(u.id)) {
      seen.add(u.id);
      found.push(u);
    }
  };
  for (const id of ids) add(deps.world.usersById.get(id));
  for (const login of logins) add(deps.world.usersByLogin.get(login.toLowerCase()));
  sendJson(res, 200, { data: found.map((u) => userJson(deps, u)) }, rl);
};

const streamJson = (deps: HelixDeps, c: ChannelState) => {
  const s = c.live!;
  return {
    id: s.streamId,
    user_id: c.user.id,
    user_login: c.user.login,
    user_name: c.user.displayName,
    game_id: s.gameId,
    game_name: s.gameName,
    type: "live",
    title: s.title,
    tags: [...s.tags],
    viewer_count: s.viewerCount,
    started_at: helixTime(s.startedAt),
    language: s.language,
    thumbnail_url: `${deps.baseUrl()}/static/previews-ttv/live_user_${c.user.login}-{width}x{height}.jpg`,
    tag_ids: [],
    is_mature: s.isMature,
  };
};

const streams = (deps: HelixDeps, url: URL) => {
  const ids = url.searchParams.getAll("user_id");
  const logins = url.searchParams.getAll("user_login").map((l) => l.toLowerCase());
  const games = url.searchParams.getAll("game_id");
  const languages = url.searchParams.getAll("language");
  const type = url.searchParams.get("type") ?? "all";
  if (type !== "all" && type !== "live") throw new BadRequest('The parameter "type" was malformed: the value must be one of "all", "live"');
  if (ids.length > 100) throw new BadRequest('The parameter "user_id" was malformed: the number of values must be less than or equal to 100');
  if (logins.length > 100) throw new BadRequest('The parameter "user_login" was malformed: the number of values must be less than or equal to 100');
  const first = firstParam(url);
  const live: ChannelState[] = [];
  for (const c of deps.world.channels.values()) {
    if (c.live === null) continue;
    if ((ids.length > 0 || logins.length > 0) && !ids.includes(c.user.id) && !logins.includes(c.user.login)) continue;
    if (games.length > 0 && !games.includes(c.live.gameId)) continue;
    if (languages.length > 0 && !languages.includes(c.live.language)) continue;
    live.push(c);
  }
  live.sort((a, b) => b.live!.viewerCount - a.live!.viewerCount || a.user.login.localeCompare(b.user.login));
  const p = page(live, url, first);
  return { data: p.data.map((c) => streamJson(deps, c)), pagination: p.pagination };
};

/** The URL Helix gives for a sim VOD: its HLS playlist on the simulator (see docs/simulator.md). */
export const vodUrl = (base: string, vodId: string): string => `${base}/vods/${vodId}/index.m3u8`;

const videoJson = (deps: HelixDeps, v: SimVod) => ({
  id: v.id,
  stream_id: v.streamId,
  user_id: v.userId,
  user_login: v.login,
  user_name: v.displayName,
  title: v.title,
  description: v.description,
  created_at: helixTime(v.createdAt),
  published_at: helixTime(v.createdAt),
  url: vodUrl(deps.baseUrl(), v.id),
  thumbnail_url: v.recording
    ? `${deps.baseUrl()}/static/_404/404_processing_%{width}x%{height}.png`
    : `${deps.baseUrl()}/static/cf_vods/${v.login}_${v.streamId ?? v.id}/thumb/thumb0-%{width}x%{height}.jpg`,
  viewable: "public",
  view_count: v.viewCount,
  language: v.language,
  type: v.type,
  duration: formatTwitchDuration(deps.world.vodDuration(v)),
  muted_segments: v.mutedSegments === null ? null : v.mutedSegments.map((m) => ({ duration: m.duration, offset: m.offset })),
});

const vodKey = (v: SimVod): string => `${v.createdAt}:${v.id}`;
const compare = (x: number, y: number) => (x < y ? -1 : x > y ? 1 : 0);
const compareKeys = (a: SimVod, createdAt: number, id: string): number => compare(a.createdAt, createdAt) || compare(Number(a.id), Number(id));

const videos = (deps: HelixDeps, res: ServerResponse, url: URL, d: RateDecision) => {
  const rl = rateLimitHeaders(d);
  const ids = url.searchParams.getAll("id");
  const userId = url.searchParams.get("user_id");
  const gameId = url.searchParams.get("game_id");
  const given = (ids.length > 0 ? 1 : 0) + (userId !== null ? 1 : 0) + (gameId !== null ? 1 : 0);
  if (given !== 1) {
    return helixError(res, 400, "Must provide only one of the following query params: user ID, game ID,or one or more video IDs.", rl);
  }
  const type = url.searchParams.get("type") ?? "all";
  if (!["all", "archive", "highlight", "upload"].includes(type)) {
    throw new BadRequest('The parameter "type" was malformed: the value must be one of "all", "archive", "highlight", "upload"');
  }
  if (ids.length > 0) {
    if (ids.length > 100) throw new BadRequest('The parameter "id" was malformed: the number of values must be less than or equal to 100');
    const found = ids.map((id) => deps.world.vodsById.get(id)).filter((v): v is SimVod => v !== undefined);
    if (found.length === 0) return helixError(res, 404, "Not Found", rl);
    return sendJson(res, 200, { data: found.map((v) => videoJson(deps, v)), pagination: {} }, rl);
  }
  const first = firstParam(url);
  let list: SimVod[] = [];
  if (userId !== null) {
    const user = deps.world.usersById.get(userId);
    const channel = user === undefined ? undefined : deps.world.channels.get(user.login);
    list = channel === undefined ? [] : channel.vods.filter((v) => type === "all" || v.type === type);
  }
  const sort = url.searchParams.get("sort") ?? "time";
  if (sort === "views") list = [...list].sort((x, y) => y.viewCount - x.viewCount || Number(y.id) - Number(x.id));
  else if (sort !== "time" && sort !== "trending") throw new BadRequest('The parameter "sort" was malformed');

  // Time order pages on (created_at, id) keys, so VODs added mid-walk do not shift pages.
  if (sort !== "views") {
    const after = url.searchParams.get("after");
    const before = url.searchParams.get("before");
    const keyOf = (cursor: string, name: string): [number, string] => {
      const p = decodeCursor(cursor);
      const m = p !== undefined && "key" in p ? /^(\d+):(\d+)$/.exec(p.key) : null;
      if (m === null) throw new BadRequest(`The parameter "${name}" was malformed`);
      return [Number(m[1]), m[2]!];
    };
    let data: SimVod[];
    let more: boolean;
    if (after !== null && after !== "") {
      const [t, id] = keyOf(after, "after");
      const rest = list.filter((v) => compareKeys(v, t, id) < 0);
      data = rest.slice(0, first);
      more = rest.length > first;
    } else if (before !== null && before !== "") {
      const [t, id] = keyOf(before, "before");
      const rest = list.filter((v) => compareKeys(v, t, id) > 0);
      data = rest.slice(Math.max(0, rest.length - first));
      more = true;
    } else {
      data = list.slice(0, first);
      more = list.length > first;
    }
    const last = data[data.length - 1];
    const pagination = more && last !== undefined ? { cursor: encodeCursor({ key: vodKey(last) }) } : {};
    return sendJson(res, 200, { data: data.map((v) => videoJson(deps, v)), pagination }, rl);
  }
  const p = page(list, url, first);
  return sendJson(res, 200, { data: p.data.map((v) => videoJson(deps, v)), pagination: p.pagination }, rl);
};

const clipJson = (deps: HelixDeps, c: ChannelState, k: ScenarioClip) => ({
  id: k.id,
  url: `${deps.baseUrl()}/clips/${k.id}`,
  embed_url: `${deps.baseUrl()}/clips/embed?clip=${k.id}`,
  broadcaster_id: c.user.id,
  broadcaster_name: c.user.displayName,
  creator_id: k.creatorId,
  creator_name: k.creatorName,
  video_id: k.videoId,
  game_id: k.gameId,
  language: k.language,
  title: k.title,
  view_count: k.viewCount,
  created_at: helixTime(k.createdAt),
  thumbnail_url: `${deps.baseUrl()}/static/clips/${k.id}-preview-480x272.jpg`,
  duration: k.durationSeconds,
  vod_offset: k.vodOffset,
  is_featured: false,
});

const clips = (deps: HelixDeps, res: ServerResponse, url: URL, d: RateDecision) => {
  const rl = rateLimitHeaders(d);
  const broadcaster = url.searchParams.get("broadcaster_id");
  const ids = url.searchParams.getAll("id");
  const gameId = url.searchParams.get("game_id");
  const given = (ids.length > 0 ? 1 : 0) + (broadcaster !== null ? 1 : 0) + (gameId !== null ? 1 : 0);
  if (given !== 1) return helixError(res, 400, "Must provide only one of the following query params: broadcaster ID, game ID, or one or more clip IDs.", rl);
  const all: { c: ChannelState; k: ScenarioClip }[] = [];
  for (const c of deps.world.channels.values()) for (const k of c.clips) all.push({ c, k });
  let list: { c: ChannelState; k: ScenarioClip }[];
  if (ids.length > 0) {
    if (ids.length > 100) throw new BadRequest('The parameter "id" was malformed: the number of values must be less than or equal to 100');
    list = ids.map((id) => all.find((x) => x.k.id === id)).filter((x): x is { c: ChannelState; k: ScenarioClip } => x !== undefined);
    return sendJson(res, 200, { data: list.map((x) => clipJson(deps, x.c, x.k)), pagination: {} }, rl);
  }
  const startedAt = url.searchParams.get("started_at");
  const endedAt = url.searchParams.get("ended_at");
  const from = startedAt === null ? -Infinity : Date.parse(startedAt);
  const to = endedAt === null ? Infinity : Date.parse(endedAt);
  if (Number.isNaN(from)) throw new BadRequest('The parameter "started_at" was malformed');
  if (Number.isNaN(to)) throw new BadRequest('The parameter "ended_at" was malformed');
  list = all.filter((x) => (broadcaster !== null ? x.c.user.id === broadcaster : x.k.gameId === gameId) && x.k.createdAt >= from && x.k.createdAt < to);
  list.sort((x, y) => y.k.viewCount - x.k.viewCount || x.k.id.localeCompare(y.k.id));
  const p = page(list, url, firstParam(url));
  sendJson(res, 200, { data: p.data.map((x) => clipJson(deps, x.c, x.k)), pagination: p.pagination }, rl);
};
