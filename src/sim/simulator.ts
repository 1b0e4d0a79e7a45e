import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminRoute } from "./admin.ts";
import { ChatGenerator } from "./chat-generator.ts";
import { type SimClock, systemClock } from "./clock.ts";
import { FaultBook, parseFaultSpec, type ArmedFault, type FaultSpec } from "./faults.ts";
import { googleOAuthRoute, youtubeUploadScope } from "./google-oauth.ts";
import { helixError, helixRoute, vodUrl } from "./helix.ts";
import { sendJson, sendText, type Route } from "./http-io.ts";
import { IrcServer, type ConnectionInfo } from "./irc-server.ts";
import { parseIrcLine } from "./irc-message.ts";
import { twitchOAuthRoute } from "./oauth.ts";
import { HelixRateLimiter } from "./rate-limit.ts";
import { readRawLines, startReplay, type Replay, type ReplayOptions, type ReplayResult } from "./replay.ts";
import {
  type ChatKind,
  isParsedScenario,
  loadScenario,
  parseChannelSpec,
  parseChatMix,
  parseLiveOptions,
  parseScenario,
  parseVodSpec,
  type Scenario,
} from "./scenario.ts";
import { SegmentCache } from "./segment-cache.ts";
import { SentLines, type SentLine } from "./sent-lines.ts";
import { TokenStore } from "./token-store.ts";
import { videoRoute } from "./video.ts";
import { type LiveSession, type SimVod, World } from "./world.ts";
import { YouTubeUploads, type UploadRecord } from "./youtube.ts";
import { formatTwitchDuration } from "./twitch-duration.ts";

/** How to start a simulator. */
export interface SimulatorOptions {
  /** A scenario: parsed, as plain data in the file's shape (validated here), or the path of a YAML/JSON file. */
  readonly scenario: Scenario | Record<string, unknown> | string;
  /** HTTP port (Helix, OAuth, HLS, YouTube, admin, IRC over WebSocket); 0 or absent picks a free one. */
  readonly port?: number;
  /** Plain-TCP IRC port; 0 or absent picks a free one. */
  readonly ircTcpPort?: number;
  /** Interface to listen on; loopback by default. */
  readonly host?: string;
  /** Where generated video segments are cached (shared between runs); `$TMPDIR/vod-tender-sim` by default. */
  readonly cacheDir?: string;
  /** Time source for tokens, rate limits, schedules and `tmi-sent-ts`; the wall clock by default. */
  readonly clock?: SimClock;
  /** Record every chat line sent (default true; benchmarks turn it off). */
  readonly recordLines?: boolean;
  /** Keep uploaded bytes in this folder; `null` keeps only sizes and checksums; a temporary folder by default. */
  readonly uploadDir?: string | null;
  /** Generate chat (default true). */
  readonly chat?: boolean;
  readonly ffmpegPath?: string;
}

/** Where each simulated service answers. */
export interface SimulatorUrls {
  /** `http://127.0.0.1:P` */
  readonly base: string;
  /** Stands for `https://api.twitch.tv/helix`. */
  readonly helix: string;
  /** Stands for `https://id.twitch.tv/oauth2` (`/token`, `/validate`, `/revoke`). */
  readonly oauth: string;
  /** Twitch chat over WebSocket, stands for `wss://irc-ws.chat.twitch.tv:443/`. */
  readonly ircWs: string;
  /** Twitch chat over TCP, `host:port`, stands for `irc.chat.twitch.tv:6667`. */
  readonly ircTcp: string;
  /** Stands for `https://www.googleapis.com/youtube/v3`. */
  readonly youtubeApi: string;
  /** Stands for `https://www.googleapis.com/upload/youtube/v3`. */
  readonly youtubeUpload: string;
  /** Stands for `https://oauth2.googleapis.com` (token endpoint: `${googleOAuth}/token`). */
  readonly googleOAuth: string;
  /** The Google token endpoint itself. */
  readonly googleToken: string;
  /** The control API. */
  readonly admin: string;
}

/** A Twitch user token issued by the simulator (for chat logins and user-scoped Helix calls). */
export interface UserToken {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly scopes: readonly string[];
}

/** A fault as written by hand: its kind plus any of its fields (validated, defaults filled in). */
export type FaultInput = { readonly kind: FaultSpec["kind"] } & Readonly<Record<string, unknown>>;

/** Options when flipping a channel live (scenario `live:` fields). */
export type SetLiveOptions = Record<string, unknown>;

/** Chat settings changed at runtime. */
export interface ChatRateOptions {
  readonly offline?: boolean;
  readonly offlineRate?: number;
  /** Partial mix: kinds left out keep their weights. */
  readonly mix?: unknown;
  readonly chatters?: number;
}

/** A summary of the simulator's state (also `GET /admin`). */
export interface SimulatorState {
  readonly channels: {
    readonly login: string;
    readonly id: string;
    readonly displayName: string;
    readonly live: LiveSession | null;
    readonly vods: number;
    readonly chat: { readonly rate: number; readonly offline: boolean; readonly offlineRate: number; readonly chatters: number };
    readonly chatConnections: number;
  }[];
  readonly faults: readonly ArmedFault[];
  readonly irc: IrcServer["stats"];
  readonly linesSent: number;
  /** Of `linesSent`, those sent into a channel nobody had joined. */
  readonly linesUndelivered: number;
  readonly helixRequests: number;
  readonly uploads: number;
}

/** A running simulator; see `startSimulator`. */
export interface Simulator {
  readonly urls: SimulatorUrls;
  /** Helix client credentials it accepts. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Google OAuth client and a refresh token that the token endpoint accepts. */
  readonly google: { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string };
  /** tmi.js `connection` options reaching the simulator: `new tmi.Client({ connection: sim.tmi })`. */
  readonly tmi: { readonly server: string; readonly port: number; readonly secure: false };
  readonly scenario: Scenario;
  readonly clock: SimClock;
  /** Flips a channel live (with `live:` options: title, gameName, viewerCount, archive…) or offline. */
  setLive(login: string, live: boolean, opts?: SetLiveOptions): void;
  /** Adds a channel (scenario shape); returns its login and id. */
  addChannel(spec: unknown): { login: string; id: string };
  /** Adds a VOD (scenario shape; `id` optional); returns it as Helix describes it. */
  addVod(login: string, spec: unknown): { id: string; url: string; duration: string; created_at: string };
  /** Changes a channel's chat: messages per second while live (undefined keeps it) and other settings. */
  setChatRate(login: string, rate: number | undefined, opts?: ChatRateOptions): void;
  /** Sends one generated chat event (random kind by the mix when omitted) now. */
  emitChat(login: string, kind?: ChatKind): void;
  /** Sends one raw line to a channel's readers, byte for byte; returns how many got it. */
  sendRaw(channel: string, line: string): number;
  /** Injects a fault (see `FaultSpec`; fields left out take their defaults, e.g. `count: 1`); returns its id. */
  injectFault(spec: FaultInput): string;
  /** Disarms one fault; false when unknown or spent. */
  clearFault(id: string): boolean;
  clearFaults(): void;
  /** Armed faults. */
  faults(): readonly ArmedFault[];
  /** Lines sent into channels (one or all), after sequence number `afterSeq`. */
  sentLines(channel?: string, afterSeq?: number): SentLine[];
  /** How many lines were sent into each channel so far, recorded or not. */
  sentCounts(): ReadonlyMap<string, number>;
  clearSentLines(): void;
  /** Replays a file of raw IRC lines (justlog format) and resolves when it has all been sent. */
  replayFile(path: string, opts?: ReplayOptions): Promise<ReplayResult>;
  /** Starts replaying a file and returns at once with its line count and a handle. */
  startReplayFile(path: string, opts?: ReplayOptions): Promise<Replay & { readonly lines: number }>;
  /** Replays lines given in memory. */
  replayLines(lines: readonly string[], opts?: ReplayOptions): Replay;
  /** YouTube upload sessions received so far. */
  uploads(): UploadRecord[];
  /** Issues a Twitch user token for `login` (scopes `chat:read` by default). */
  issueUserToken(login: string, scopes?: readonly string[]): UserToken;
  /** Open chat connections. */
  ircConnections(): ConnectionInfo[];
  state(): SimulatorState;
  /** Generates (or loads from the cache) the video segments a VOD needs, so the first download does not wait for ffmpeg. */
  prepareVideo(vodId?: string): Promise<void>;
  /** Stops every listener and timer; resolves when all are closed. */
  stop(): Promise<void>;
}

interface Transition {
  readonly at: number;
  readonly run: () => void;
}

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === "object" && addr !== null ? addr.port : port);
    });
  });

/** Body of an injected `http-error`, in the shape of the surface it hits. */
const faultBody = (res: ServerResponse, path: string, status: number): void => {
  const text = STATUS_CODES[status] ?? "Error";
  if (path.startsWith("/helix")) return helixError(res, status, "");
  if (path.startsWith("/oauth2")) return sendJson(res, status, { status, message: text });
  if (path.startsWith("/google")) return sendJson(res, status, { error: "internal_failure", error_description: text });
  if (path.startsWith("/upload") || path.startsWith("/youtube")) {
    return sendJson(res, status, { error: { code: status, message: text, errors: [{ message: text, domain: "global", reason: "backendError" }] } });
  }
  sendText(res, status, text);
};

/**
 * Starts a Twitch/YouTube simulator on loopback: one HTTP port for Helix, OAuth, HLS,
 * YouTube, the admin API and IRC over WebSocket, one TCP port for plain IRC. Resolves
 * once both listen; `urls` says where everything is.
 */
export const startSimulator = async (options: SimulatorOptions): Promise<Simulator> => {
  const scenario =
    typeof options.scenario === "string"
      ? await loadScenario(options.scenario)
      : isParsedScenario(options.scenario)
        ? options.scenario
        : parseScenario(options.scenario);
  const clock = options.clock ?? systemClock;
  const host = options.host ?? "127.0.0.1";
  const world = new World(scenario, clock);
  const tokens = new TokenStore(clock);
  const faults = new FaultBook();
  const limiter = new HelixRateLimiter(clock, scenario.helixPointsPerMinute);
  const sent = new SentLines(options.recordLines ?? true);
  const segments = new SegmentCache(options.cacheDir ?? join(tmpdir(), "vod-tender-sim"), options.ffmpegPath);
  const ownUploadDir = options.uploadDir === undefined ? await mkdtemp(join(tmpdir(), "vod-tender-sim-uploads-")) : null;
  const uploadDir = options.uploadDir === undefined ? ownUploadDir : options.uploadDir;
  let base = "";
  let helixRequests = 0;

  tokens.addRefresh(
    { provider: "google", clientId: scenario.google.clientId, userId: null, login: null, scopes: [youtubeUploadScope] },
    scenario.google.refreshToken,
  );

  const irc = new IrcServer({ world, tokens, clock, sent, settings: { ...scenario.irc } });
  const chat = new ChatGenerator(world, irc, clock, scenario.seed);
  const youtube = new YouTubeUploads({ tokens, faults, clock, baseUrl: () => base, uploadDir, channelId: "UCsimulatorchannel000000" });
  let sim: Simulator | undefined;

  const routes: Route[] = [
    adminRoute(() => sim!),
    twitchOAuthRoute({ clientId: scenario.clientId, clientSecret: scenario.clientSecret, ttlSeconds: () => scenario.accessTokenTtlSeconds, tokens }),
    googleOAuthRoute({
      clientId: scenario.google.clientId,
      clientSecret: scenario.google.clientSecret,
      ttlSeconds: () => scenario.google.accessTokenTtlSeconds,
      tokens,
    }),
    helixRoute({ world, tokens, limiter, faults, baseUrl: () => base, onRequest: () => void helixRequests++ }),
    youtube.route,
    videoRoute({
      world,
      segments,
      faults,
      clock,
      segmentSeconds: () => scenario.video.segmentSeconds,
      defaultBitrate: () => scenario.video.bitrate,
    }),
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", base);
    const path = url.pathname;
    if (!path.startsWith("/admin")) {
      const slow = faults.take("slow", (f) => path.startsWith(f.path));
      if (slow !== undefined) await new Promise((r) => setTimeout(r, slow.delayMs));
      const err = faults.take("http-error", (f) => path.startsWith(f.path));
      if (err !== undefined) {
        req.resume();
        return faultBody(res, path, err.status);
      }
    }
    for (const route of routes) if (await route(req, res, url)) return;
    if (path === "/") return sendJson(res, 200, { simulator: "vod-tender", urls: sim?.urls });
    sendText(res, 404, "Not Found");
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: "Internal Server Error", status: 500, message: (e as Error).message });
      else res.destroy();
    });
  });
  http.keepAliveTimeout = 30_000;
  irc.attach(http);
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  let port: number;
  let tcpPort: number;
  try {
    port = await listen(http, options.port ?? 0, host);
    base = `http://${hostInUrl}:${port}`;
    tcpPort = await irc.listenTcp(options.ircTcpPort ?? 0, host);
  } catch (e) {
    await irc.close();
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    if (ownUploadDir !== null) await rm(ownUploadDir, { recursive: true, force: true });
    throw e;
  }

  // Live windows and scheduled faults become timed transitions, applied by one ticker.
  const startedAt = clock.now();
  const transitions: Transition[] = [];
  const applyFault = (spec: FaultSpec): string => {
    const id = faults.add(spec, clock.now());
    if (spec.kind === "expire-tokens") tokens.expireAll(spec.provider);
    else if (spec.kind === "irc-disconnect") irc.disconnect(spec.channel);
    else if (spec.kind === "irc-reconnect") irc.reconnect(spec.channel, spec.graceMs);
    return id;
  };
  for (const c of scenario.channels) {
    for (const w of c.live) {
      const { at: _at, for: _for, ...opts } = w;
      transitions.push({ at: startedAt + w.at * 1000, run: () => world.goLive(c.login, opts) });
      if (w.for !== null) transitions.push({ at: startedAt + (w.at + w.for) * 1000, run: () => world.goOffline(c.login) });
    }
  }
  for (const f of scenario.faults) transitions.push({ at: startedAt + f.at * 1000, run: () => void applyFault(f.spec) });
  transitions.sort((a, b) => a.at - b.at);
  const tick = () => {
    const now = clock.now();
    while (transitions.length > 0 && transitions[0]!.at <= now) transitions.shift()!.run();
  };
  tick();
  const ticker = setInterval(tick, 100);

  if (options.chat ?? true) chat.start();

  const replays: Replay[] = [];
  const startReplayFile = async (path: string, opts: ReplayOptions = {}) => {
    const lines = await readRawLines(path);
    const r = startReplay(irc, lines, opts);
    replays.push(r);
    return { ...r, lines: lines.length };
  };
  const vodJson = (v: SimVod) => ({
    id: v.id,
    url: vodUrl(base, v.id),
    duration: formatTwitchDuration(world.vodDuration(v)),
    created_at: new Date(v.createdAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
  });

  let stopped = false;
  sim = {
    urls: {
      base,
      helix: `${base}/helix`,
      oauth: `${base}/oauth2`,
      ircWs: `ws://${hostInUrl}:${port}/`,
      ircTcp: `${host}:${tcpPort}`,
      youtubeApi: `${base}/youtube/v3`,
      youtubeUpload: `${base}/upload/youtube/v3`,
      googleOAuth: `${base}/google`,
      googleToken: `${base}/google/token`,
      admin: `${base}/admin`,
    },
    clientId: scenario.clientId,
    clientSecret: scenario.clientSecret,
    google: { clientId: scenario.google.clientId, clientSecret: scenario.google.clientSecret, refreshToken: scenario.google.refreshToken },
    tmi: { server: host, port, secure: false },
    scenario,
    clock,
    setLive(login, live, opts = {}) {
      if (!live) return world.goOffline(login);
      // Fields not given take the defaults of a scenario's live window.
      const { at: _at, for: _for, ...rest } = parseLiveOptions(opts);
      world.goLive(login, rest);
    },
    addChannel(spec) {
      const c = parseChannelSpec(spec, { user: () => world.freshUserId(), vod: () => world.freshVodId(), clip: () => world.freshClipId() });
      const state = world.addChannel(c);
      for (const w of c.live) {
        const { at: _at, for: _for, ...opts } = w;
        transitions.push({ at: clock.now() + w.at * 1000, run: () => world.goLive(c.login, opts) });
        if (w.for !== null) transitions.push({ at: clock.now() + (w.at + w.for) * 1000, run: () => world.goOffline(c.login) });
      }
      transitions.sort((a, b) => a.at - b.at);
      tick();
      return { login: state.user.login, id: state.user.id };
    },
    addVod(login, spec) {
      const channel = world.channel(login);
      const v = parseVodSpec(spec, () => world.freshVodId(), clock.now());
      return vodJson(world.addVod(channel.user.login, v));
    },
    setChatRate(login, rate, opts = {}) {
      const c = world.channel(login);
      if (rate !== undefined) {
        if (!Number.isFinite(rate) || rate < 0) throw new Error("chat rate must be a non-negative number");
        c.chat.rate = rate;
      }
      if (opts.offline !== undefined) c.chat.offline = opts.offline;
      if (opts.offlineRate !== undefined) c.chat.offlineRate = opts.offlineRate;
      if (opts.mix !== undefined) c.chat.mix = parseChatMix(opts.mix, c.chat.mix);
      if (opts.chatters !== undefined) c.chat.chatters = Math.max(1, Math.floor(opts.chatters));
    },
    emitChat(login, kind) {
      chat.emit(login, kind);
    },
    sendRaw(channel, line) {
      const c = world.channel(channel);
      const m = parseIrcLine(line);
      return irc.send(c.user.login, line, m?.command ?? "", m?.tags.get("id") ?? null, "injected");
    },
    injectFault(spec) {
      return applyFault(parseFaultSpec(spec));
    },
    clearFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    faults: () => faults.armed(),
    sentLines: (channel, afterSeq) => sent.list(channel, afterSeq),
    sentCounts: () => sent.countsByChannel(),
    clearSentLines: () => sent.clear(),
    async replayFile(path, opts) {
      const r = await startReplayFile(path, opts);
      return r.done;
    },
    startReplayFile,
    replayLines(lines, opts = {}) {
      const r = startReplay(irc, lines, opts);
      replays.push(r);
      return r;
    },
    uploads: () => youtube.records(),
    issueUserToken(login, scopes = ["chat:read"]) {
      const u = world.usersByLogin.get(login.toLowerCase());
      if (u === undefined) throw new Error(`no user ${login} in the simulator`);
      const grant = { provider: "twitch" as const, clientId: scenario.clientId, userId: u.id, login: u.login, scopes: [...scopes] };
      const refreshToken = tokens.addRefresh(grant);
      const t = tokens.issue({ ...grant, kind: "user" }, scenario.accessTokenTtlSeconds);
      return { accessToken: t.token, refreshToken, expiresIn: tokens.secondsLeft(t), scopes: t.scopes };
    },
    ircConnections: () => irc.connections(),
    state: () => ({
      channels: [...world.channels.values()].map((c) => ({
        login: c.user.login,
        id: c.user.id,
        displayName: c.user.displayName,
        live: c.live,
        vods: c.vods.length,
        chat: { rate: c.chat.rate, offline: c.chat.offline, offlineRate: c.chat.offlineRate, chatters: c.chat.chatters },
        chatConnections: irc.memberCount(c.user.login),
      })),
      faults: faults.armed(),
      irc: irc.stats,
      linesSent: sent.count,
      linesUndelivered: sent.undelivered,
      helixRequests,
      uploads: youtube.records().length,
    }),
    async prepareVideo(vodId) {
      const seg = scenario.video.segmentSeconds;
      const vods = vodId === undefined ? [...world.vodsById.values()] : [world.vodsById.get(vodId)].filter((v): v is SimVod => v !== undefined);
      const wanted = new Map<string, [number, number]>();
      for (const v of vods) {
        const bitrate = v.bitrate ?? scenario.video.bitrate;
        const d = world.vodDuration(v);
        wanted.set(`${seg}/${bitrate}`, [seg, bitrate]);
        if (d % seg !== 0 && !v.recording) wanted.set(`${d % seg}/${bitrate}`, [d % seg, bitrate]);
      }
      for (const [s, b] of wanted.values()) await segments.get(s, b);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      chat.stop();
      for (const r of replays) r.stop();
      await irc.close();
      youtube.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      if (ownUploadDir !== null) await rm(ownUploadDir, { recursive: true, force: true });
    },
  };
  try {
    for (const c of scenario.channels) {
      if (c.chat.replay !== null) await startReplayFile(c.chat.replay.file, { channel: c.login, rate: c.chat.replay.rate, loop: c.chat.replay.loop });
    }
  } catch (e) {
    await sim.stop();
    throw e;
  }
  return sim;
};

