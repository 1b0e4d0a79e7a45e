import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { type Field, readInput } from "./input-reader.ts";
import { type FaultSpec, readScheduledFaults } from "./faults.ts";
import { parseTwitchDuration } from "./twitch-duration.ts";

/**
 * The simulated world: who exists, what they streamed, when they go live, how their chat
 * behaves, and which faults strike when. Written by hand as YAML or JSON and read with
 * `loadScenario` / `parseScenario`, which report every mistake with its path.
 */
export interface Scenario {
  /** Marks a value made by `parseScenario` (plain data in the file's shape lacks it). */
  readonly parsed: true;
  /** Seed of the chat generator: same seed, same chatters and messages. */
  readonly seed: number;
  /** Helix client credentials the simulator accepts. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Lifetime of issued Twitch access tokens. */
  readonly accessTokenTtlSeconds: number;
  /** Helix bucket size and refill per minute (Twitch: 800). */
  readonly helixPointsPerMinute: number;
  readonly google: { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string; readonly accessTokenTtlSeconds: number };
  readonly video: {
    /** Length of HLS segments. */
    readonly segmentSeconds: number;
    /** Default total bitrate of sim video, bits per second. */
    readonly bitrate: number;
  };
  readonly irc: {
    /** Twitch's JOIN limit (20 per 10 s per user); `null` turns it off (benchmarks). */
    readonly joinRateLimit: { readonly joins: number; readonly windowSeconds: number } | null;
    /** Server PING interval; Twitch uses about 5 minutes. */
    readonly pingIntervalSeconds: number;
    /** A connection with more unsent bytes than this is cut, as Twitch does with slow readers. */
    readonly slowConsumerBytes: number;
  };
  /** Users that are not channels (for `/helix/users` lookups and user tokens). */
  readonly users: readonly ScenarioUser[];
  readonly channels: readonly ScenarioChannel[];
  readonly faults: readonly { readonly at: number; readonly spec: FaultSpec }[];
}

/** A Twitch account. */
export interface ScenarioUser {
  readonly id: string;
  readonly login: string;
  readonly displayName: string;
  readonly broadcasterType: "" | "affiliate" | "partner";
  readonly description: string;
  readonly createdAt: number;
  readonly viewCount: number;
}

/** A channel: its account, its VODs and clips, its live schedule and its chat. */
export interface ScenarioChannel extends ScenarioUser {
  readonly vods: readonly ScenarioVod[];
  readonly clips: readonly ScenarioClip[];
  readonly live: readonly ScenarioLiveWindow[];
  readonly chat: ScenarioChat;
}

/** A past broadcast or upload as `/helix/videos` reports it. */
export interface ScenarioVod {
  readonly id: string;
  readonly streamId: string | null;
  readonly title: string;
  readonly description: string;
  readonly createdAt: number;
  readonly durationSeconds: number;
  readonly viewCount: number;
  readonly type: "archive" | "highlight" | "upload";
  readonly language: string;
  readonly mutedSegments: readonly { readonly offset: number; readonly duration: number }[] | null;
  /** Total bitrate of its video in bits per second (large values make large downloads). */
  readonly bitrate: number | null;
  /** Sub-only VOD: its playlist answers 403 like Twitch's usher. */
  readonly restricted: boolean;
}

/** A clip as `/helix/clips` reports it. */
export interface ScenarioClip {
  readonly id: string;
  readonly title: string;
  readonly createdAt: number;
  readonly durationSeconds: number;
  readonly viewCount: number;
  readonly creatorId: string;
  readonly creatorName: string;
  readonly videoId: string;
  readonly vodOffset: number | null;
  readonly gameId: string;
  readonly language: string;
}

/** What a broadcast shows of itself on `/helix/streams`: title, category, audience and labels. */
export interface BroadcastDetails {
  readonly title: string;
  readonly gameId: string;
  readonly gameName: string;
  readonly viewerCount: number;
  readonly language: string;
  readonly tags: readonly string[];
  readonly isMature: boolean;
}

/** The details of a broadcast whose scenario entry or go-live request leaves them out. */
export const defaultBroadcast: BroadcastDetails = {
  title: "Live on the simulator",
  gameId: "509658",
  gameName: "Just Chatting",
  viewerCount: 100,
  language: "en",
  tags: [],
  isMature: false,
};

/** One stretch of being live: from `at` seconds after start, for `for` seconds (or until told). */
export interface ScenarioLiveWindow extends BroadcastDetails {
  readonly at: number;
  readonly for: number | null;
  readonly streamId: string | null;
  /** Twitch records the broadcast as an archive VOD; false for channels that disabled it. */
  readonly archive: boolean;
}

/** Kinds of generated chat events, the keys of a chat mix. */
export const chatKinds = [
  "message",
  "emote",
  "action",
  "reply",
  "bits",
  "firstMsg",
  "sub",
  "resub",
  "subgift",
  "raid",
  "announcement",
  "timeout",
  "ban",
  "delete",
  "clear",
  "roomstate",
  "notice",
] as const;

/** One kind of generated chat event. */
export type ChatKind = (typeof chatKinds)[number];

/** Relative weights of chat kinds. */
export type ChatMix = Readonly<Record<ChatKind, number>>;

/** What a busy real channel looks like, roughly. */
export const defaultChatMix: ChatMix = {
  message: 70,
  emote: 12,
  action: 2,
  reply: 5,
  bits: 1.5,
  firstMsg: 2,
  sub: 1,
  resub: 1.5,
  subgift: 0.8,
  raid: 0.2,
  announcement: 0.4,
  timeout: 0.8,
  ban: 0.3,
  delete: 0.8,
  clear: 0.02,
  roomstate: 0.05,
  notice: 0.03,
};

/** How a channel's chat behaves. */
export interface ScenarioChat {
  /** Messages per second while live. */
  readonly rate: number;
  /** Also chat while offline (at `offlineRate`). */
  readonly offline: boolean;
  readonly offlineRate: number;
  readonly mix: ChatMix;
  /** Number of distinct generated chatters. */
  readonly chatters: number;
  /** Replay a file of raw IRC lines into this channel at start. */
  readonly replay: { readonly file: string; readonly rate: number; readonly loop: boolean } | null;
}

const loginPattern = /^[a-z0-9_]{1,25}$/;
const idPattern = /^[0-9]{1,20}$/;
const DAY = 86_400_000;

const readDuration = (f: Field, fallback?: number): number => {
  if (typeof f.value === "string" && !/^\d+(\.\d+)?$/.test(f.value)) {
    const seconds = parseTwitchDuration(f.value);
    if (seconds === undefined) {
      f.log.add(f.path, `expected seconds or a Twitch duration such as "1h2m3s", got ${JSON.stringify(f.value)}`);
      return fallback ?? 0;
    }
    return seconds;
  }
  return f.number(fallback, { min: 0 });
};

const readBitrate = (f: Field): number | null => {
  if (!f.present) return null;
  if (typeof f.value === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)$/.exec(f.value.trim());
    if (m === null) {
      f.log.add(f.path, `expected bits per second such as 800000, "800k" or "4M", got ${JSON.stringify(f.value)}`);
      return null;
    }
    const unit = m[2]!.toLowerCase();
    return Math.round(Number(m[1]) * (unit === "k" ? 1e3 : unit === "m" ? 1e6 : 1));
  }
  return f.number(undefined, { min: 50_000, max: 200_000_000 });
};

const userKeys = ["id", "login", "displayName", "broadcasterType", "description", "createdAt", "viewCount"];

const readUser = (f: Field, nextId: () => string): ScenarioUser => {
  const login = f.key("login").string();
  if (login !== "" && !loginPattern.test(login)) {
    f.log.add(`${f.path}.login`, `a Twitch login is 1–25 lowercase letters, digits or underscores, got ${JSON.stringify(login)}`);
  }
  const id = f.key("id").present ? f.key("id").string() : nextId();
  if (!idPattern.test(id)) f.log.add(`${f.path}.id`, `a Twitch user id is digits only, got ${JSON.stringify(id)}`);
  return {
    id,
    login,
    displayName: f.key("displayName").string(login),
    broadcasterType: f.key("broadcasterType").oneOf(["", "affiliate", "partner"] as const, ""),
    description: f.key("description").string(""),
    createdAt: f.key("createdAt").instant(Date.UTC(2016, 0, 1)),
    viewCount: f.key("viewCount").number(0, { min: 0, integer: true }),
  };
};

/** Reads one VOD description (`createdAtDefault` when it gives no `createdAt`). */
export const readVod = (f: Field, nextId: () => string, createdAtDefault: number): ScenarioVod | undefined => {
  if (!f.object()) return undefined;
  f.onlyKeys(["id", "streamId", "title", "description", "createdAt", "duration", "viewCount", "type", "language", "mutedSegments", "bitrate", "restricted"]);
  const id = f.key("id").present ? f.key("id").string() : nextId();
  if (!idPattern.test(id)) f.log.add(`${f.path}.id`, `a Twitch video id is digits only, got ${JSON.stringify(id)}`);
  const type = f.key("type").oneOf(["archive", "highlight", "upload"] as const, "archive");
  const durationSeconds = Math.round(readDuration(f.key("duration")));
  if (f.key("duration").present && durationSeconds < 1) f.log.add(`${f.path}.duration`, "must be at least 1 second");
  const mutedField = f.key("mutedSegments");
  const muted = mutedField.present
    ? mutedField.list().map((m) => {
        m.onlyKeys(["offset", "duration"]);
        const offset = m.key("offset").number(undefined, { min: 0, integer: true });
        const duration = m.key("duration").number(undefined, { min: 1, integer: true });
        if (offset + duration > durationSeconds) m.log.add(m.path, `ends at ${offset + duration}s, after the VOD's end (${durationSeconds}s)`);
        return { offset, duration };
      })
    : null;
  const streamIdField = f.key("streamId");
  return {
    id,
    streamId: streamIdField.present ? streamIdField.string() : type === "archive" ? `4${id}` : null,
    title: f.key("title").string(`Broadcast ${id}`),
    description: f.key("description").string(""),
    createdAt: f.key("createdAt").instant(createdAtDefault),
    durationSeconds,
    viewCount: f.key("viewCount").number(0, { min: 0, integer: true }),
    type,
    language: f.key("language").string("en"),
    mutedSegments: muted === null || muted.length === 0 ? null : muted,
    bitrate: readBitrate(f.key("bitrate")),
    restricted: f.key("restricted").boolean(false),
  };
};

const readClip = (f: Field, channel: ScenarioUser, nextId: () => string, vods: readonly ScenarioVod[]): ScenarioClip | undefined => {
  if (!f.object()) return undefined;
  f.onlyKeys(["id", "title", "createdAt", "duration", "viewCount", "creatorId", "creatorName", "videoId", "vodOffset", "gameId", "language"]);
  const videoId = f.key("videoId").string("");
  if (videoId !== "" && !vods.some((v) => v.id === videoId)) f.log.add(`${f.path}.videoId`, `no VOD ${videoId} in this channel`);
  const vodOffset = f.key("vodOffset").optionalNumber({ min: 0, integer: true });
  return {
    id: f.key("id").present ? f.key("id").string() : `SimClip${nextId()}`,
    title: f.key("title").string("clip"),
    createdAt: f.key("createdAt").instant(Date.UTC(2024, 0, 1)),
    durationSeconds: f.key("duration").number(30, { min: 0.1, max: 60 }),
    viewCount: f.key("viewCount").number(0, { min: 0, integer: true }),
    creatorId: f.key("creatorId").string(channel.id),
    creatorName: f.key("creatorName").string(channel.displayName),
    videoId,
    vodOffset: vodOffset ?? null,
    gameId: f.key("gameId").string("509658"),
    language: f.key("language").string("en"),
  };
};

/** Reads one live window (`live:` entry). */
export const readLiveWindow = (f: Field): ScenarioLiveWindow => {
  f.onlyKeys(["at", "for", "streamId", "title", "gameId", "gameName", "viewerCount", "language", "tags", "isMature", "archive"]);
  const forField = f.key("for");
  const streamId = f.key("streamId").optionalString();
  return {
    at: readDuration(f.key("at"), 0),
    for: forField.present ? readDuration(forField) : null,
    streamId: streamId ?? null,
    title: f.key("title").string(defaultBroadcast.title),
    gameId: f.key("gameId").string(defaultBroadcast.gameId),
    gameName: f.key("gameName").string(defaultBroadcast.gameName),
    viewerCount: f.key("viewerCount").number(defaultBroadcast.viewerCount, { min: 0, integer: true }),
    language: f.key("language").string(defaultBroadcast.language),
    tags: f.key("tags").list().map((t) => t.string()),
    isMature: f.key("isMature").boolean(defaultBroadcast.isMature),
    archive: f.key("archive").boolean(true),
  };
};

/** Reads a chat mix; unknown kinds and negative weights are reported. */
export const readChatMix = (f: Field, base: ChatMix = defaultChatMix): ChatMix => {
  if (!f.present) return base;
  if (!f.object()) return base;
  f.onlyKeys(chatKinds);
  const mix: Record<string, number> = { ...base };
  for (const k of chatKinds) {
    const v = f.key(k);
    if (v.present) mix[k] = v.number(undefined, { min: 0 });
  }
  if (chatKinds.every((k) => mix[k] === 0)) f.log.add(f.path, "every weight is 0; give at least one kind a positive weight");
  return mix as ChatMix;
};

const readChat = (f: Field): ScenarioChat => {
  if (f.present) {
    f.object();
    f.onlyKeys(["rate", "offline", "offlineRate", "mix", "chatters", "replay"]);
  }
  const replay = f.key("replay");
  let replaySpec: ScenarioChat["replay"] = null;
  if (replay.present && replay.object()) {
    replay.onlyKeys(["file", "rate", "loop"]);
    replaySpec = { file: replay.key("file").string(), rate: replay.key("rate").number(10, { min: 0 }), loop: replay.key("loop").boolean(false) };
  }
  const rate = f.key("rate").number(0, { min: 0, max: 1_000_000 });
  return {
    rate,
    offline: f.key("offline").boolean(false),
    offlineRate: f.key("offlineRate").number(rate, { min: 0, max: 1_000_000 }),
    mix: readChatMix(f.key("mix")),
    chatters: f.key("chatters").number(200, { min: 1, max: 100_000, integer: true }),
    replay: replaySpec,
  };
};

const readLive = (f: Field): ScenarioLiveWindow[] => {
  if (!f.present || f.value === false) return [];
  if (f.value === true) return [readLiveWindow(f.key("__none__"))];
  if (Array.isArray(f.value)) return f.list().map((w) => (w.object() ? readLiveWindow(w) : readLiveWindow(w.key("__none__"))));
  if (f.object()) return [readLiveWindow(f)];
  return [];
};

/** Id makers for things a file may leave without ids. */
export interface IdSource {
  readonly user: () => string;
  readonly vod: () => string;
  readonly clip: () => string;
}

const readChannel = (c: Field, ids: IdSource, now: number): ScenarioChannel => {
  if (!c.object()) return { ...readUser(c, ids.user), vods: [], clips: [], live: [], chat: readChat(c.key("chat")) };
  c.onlyKeys([...userKeys, "vods", "clips", "live", "chat"]);
  const user = readUser(c, ids.user);
  // Without dates, VODs are a day apart, newest first, ending yesterday.
  const vods = c
    .key("vods")
    .list()
    .map((v, i) => readVod(v, ids.vod, now - (i + 1) * DAY))
    .filter((v): v is ScenarioVod => v !== undefined);
  const clips = c.key("clips").list().map((k) => readClip(k, user, ids.clip, vods)).filter((k): k is ScenarioClip => k !== undefined);
  return { ...user, vods, clips, live: readLive(c.key("live")), chat: readChat(c.key("chat")) };
};

/** Validates one channel description (as in a scenario's `channels`), for adding channels at runtime. */
export const parseChannelSpec = (value: unknown, ids: IdSource): ScenarioChannel => {
  const { root, log } = readInput(value);
  const channel = readChannel(root, ids, Date.now());
  log.throwIfAny("Channel");
  return channel;
};

/** Validates one VOD description, for adding VODs at runtime. */
export const parseVodSpec = (value: unknown, freshId: () => string, createdAtDefault: number): ScenarioVod => {
  const { root, log } = readInput(value);
  const vod = readVod(root, freshId, createdAtDefault);
  log.throwIfAny("VOD");
  return vod!;
};

/** Validates the options of going live by hand (a `live:` entry without `at`/`for`). */
export const parseLiveOptions = (value: unknown): ScenarioLiveWindow => {
  const { root, log } = readInput(value ?? {});
  const w = readLiveWindow(root);
  log.throwIfAny("Live options");
  return w;
};

/** Validates a chat mix (partial: missing kinds keep `base`'s weights). */
export const parseChatMix = (value: unknown, base: ChatMix = defaultChatMix): ChatMix => {
  const { root, log } = readInput(value);
  const mix = readChatMix(root, base);
  log.throwIfAny("Chat mix");
  return mix;
};

/** Validates untyped scenario data; throws an `InputError` listing every problem. */
export const parseScenario = (data: unknown, source = "Scenario"): Scenario => {
  const { root, log } = readInput(data ?? {});
  if (!root.object()) log.throwIfAny(source);
  root.onlyKeys(["seed", "clientId", "clientSecret", "accessTokenTtlSeconds", "helixPointsPerMinute", "google", "video", "irc", "users", "channels", "faults"]);

  let userSeq = 100_000_000;
  let vodSeq = 2_000_000_000;
  let clipSeq = 1;
  const nextUserId = () => String(userSeq++);
  const nextVodId = () => String(vodSeq++);
  const nextClipId = () => String(clipSeq++);

  const google = root.key("google");
  if (google.present && google.object()) google.onlyKeys(["clientId", "clientSecret", "refreshToken", "accessTokenTtlSeconds"]);
  const video = root.key("video");
  if (video.present && video.object()) video.onlyKeys(["segmentSeconds", "bitrate"]);
  const irc = root.key("irc");
  if (irc.present && irc.object()) irc.onlyKeys(["joinRateLimit", "pingIntervalSeconds", "slowConsumerBytes"]);
  const joinLimit = irc.key("joinRateLimit");
  let joinRateLimit: Scenario["irc"]["joinRateLimit"] = { joins: 20, windowSeconds: 10 };
  if (joinLimit.value === false || joinLimit.value === null) joinRateLimit = null;
  else if (joinLimit.present && joinLimit.object()) {
    joinLimit.onlyKeys(["joins", "windowSeconds"]);
    joinRateLimit = {
      joins: joinLimit.key("joins").number(20, { min: 1, integer: true }),
      windowSeconds: joinLimit.key("windowSeconds").number(10, { min: 0.001 }),
    };
  }

  const users = root.key("users").list().map((u) => {
    if (u.object()) u.onlyKeys(userKeys);
    return readUser(u, nextUserId);
  });

  const now = Date.now();
  const channels = root.key("channels").list().map((c) => readChannel(c, { user: nextUserId, vod: nextVodId, clip: nextClipId }, now));

  const seen = new Map<string, string>();
  const unique = (kind: string, key: string, path: string) => {
    const k = `${kind}:${key}`;
    const first = seen.get(k);
    if (first !== undefined) log.add(path, `${kind} ${JSON.stringify(key)} is already used at ${first}`);
    else seen.set(k, path);
  };
  [...users.map((u, i) => ({ u, path: `users[${i}]` })), ...channels.map((u, i) => ({ u, path: `channels[${i}]` }))].forEach(({ u, path }) => {
    unique("login", u.login, `${path}.login`);
    unique("user id", u.id, `${path}.id`);
  });
  channels.forEach((c, ci) => c.vods.forEach((v, vi) => unique("video id", v.id, `channels[${ci}].vods[${vi}].id`)));
  channels.forEach((c, ci) => c.clips.forEach((k, ki) => unique("clip id", k.id, `channels[${ci}].clips[${ki}].id`)));

  const faults = readScheduledFaults(root.key("faults"));
  const scenario: Scenario = {
    parsed: true,
    seed: root.key("seed").number(1, { integer: true }),
    clientId: root.key("clientId").string("simclientid0000000000000000000"),
    clientSecret: root.key("clientSecret").string("simclientsecret00000000000000"),
    accessTokenTtlSeconds: root.key("accessTokenTtlSeconds").number(5_011_271, { min: 1, integer: true }),
    helixPointsPerMinute: root.key("helixPointsPerMinute").number(800, { min: 1, integer: true }),
    google: {
      clientId: google.key("clientId").string("sim-google-client.apps.googleusercontent.com"),
      clientSecret: google.key("clientSecret").string("sim-google-secret"),
      refreshToken: google.key("refreshToken").string("1//sim-google-refresh-token"),
      accessTokenTtlSeconds: google.key("accessTokenTtlSeconds").number(3599, { min: 1, integer: true }),
    },
    video: {
      segmentSeconds: video.key("segmentSeconds").number(4, { min: 1, max: 10, integer: true }),
      bitrate: readBitrate(video.key("bitrate")) ?? 300_000,
    },
    irc: {
      joinRateLimit,
      pingIntervalSeconds: irc.key("pingIntervalSeconds").number(300, { min: 1 }),
      slowConsumerBytes: irc.key("slowConsumerBytes").number(64 * 1024 * 1024, { min: 1024, integer: true }),
    },
    users,
    channels,
    faults,
  };
  log.throwIfAny(source);
  return scenario;
};

/** Whether `value` is a parsed scenario rather than plain data to validate. */
export const isParsedScenario = (value: unknown): value is Scenario =>
  value !== null && typeof value === "object" && (value as { parsed?: unknown }).parsed === true;

/** Reads a scenario file (`.yaml`, `.yml` or `.json`) and validates it. */
export const loadScenario = async (path: string): Promise<Scenario> => {
  const text = await readFile(path, "utf8");
  let data: unknown;
  try {
    data = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new Error(`Scenario ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(cause as Error).message}`, { cause });
  }
  const scenario = parseScenario(data, `Scenario ${path}`);
  // Replay files are named relative to the scenario file.
  return {
    ...scenario,
    channels: scenario.channels.map((c) =>
      c.chat.replay === null ? c : { ...c, chat: { ...c.chat, replay: { ...c.chat.replay, file: resolve(dirname(path), c.chat.replay.file) } } },
    ),
  };
};
