import type { SimClock } from "./clock.ts";
import {
  type BroadcastDetails,
  type ChatMix,
  defaultBroadcast,
  type Scenario,
  type ScenarioChannel,
  type ScenarioClip,
  type ScenarioLiveWindow,
  type ScenarioUser,
  type ScenarioVod,
} from "./scenario.ts";

/** A VOD as the simulator holds it: the scenario's fields plus its owner and, for a broadcast still running, its growing length. */
export interface SimVod extends ScenarioVod {
  readonly userId: string;
  readonly login: string;
  readonly displayName: string;
  /** True while the broadcast it records is still live (its duration grows). */
  recording: boolean;
  durationSeconds: number;
}

/** A running broadcast. */
export interface LiveSession extends BroadcastDetails {
  readonly streamId: string;
  readonly startedAt: number;
  /** The archive VOD recording this broadcast, if any. */
  readonly vodId: string | null;
}

/** Chat settings of a channel, changeable at runtime. */
export interface ChatSettings {
  rate: number;
  offline: boolean;
  offlineRate: number;
  mix: ChatMix;
  chatters: number;
}

/** A channel's current state. */
export interface ChannelState {
  readonly user: ScenarioUser;
  /** Newest first. */
  readonly vods: SimVod[];
  readonly clips: ScenarioClip[];
  live: LiveSession | null;
  readonly chat: ChatSettings;
}

/** Options when a channel goes live by hand (missing fields take the scenario's defaults). */
export type GoLiveOptions = Partial<Omit<ScenarioLiveWindow, "at" | "for">>;

/** Listener of live/offline changes. */
export type LiveListener = (login: string, session: LiveSession | null) => void;

/**
 * Everything Helix and the HLS server read: users, channels, VODs, clips and who is live.
 * Mutated by the schedule, the admin API and tests; listeners hear live changes (the chat
 * generator starts and stops on them).
 */
export class World {
  readonly #clock: SimClock;
  readonly usersById = new Map<string, ScenarioUser>();
  readonly usersByLogin = new Map<string, ScenarioUser>();
  readonly channels = new Map<string, ChannelState>();
  readonly vodsById = new Map<string, SimVod>();
  readonly #listeners: LiveListener[] = [];
  #nextVod = 3_000_000_000;
  #nextStream = 50_000_000_000;
  #nextUser = 900_000_000;
  #nextClip = 1;

  constructor(scenario: Scenario, clock: SimClock) {
    this.#clock = clock;
    for (const u of scenario.users) this.#addUser(u);
    for (const c of scenario.channels) this.addChannel(c);
  }

  #addUser(u: ScenarioUser): void {
    this.usersById.set(u.id, u);
    this.usersByLogin.set(u.login, u);
  }

  /** Adds a channel (and its user); throws when its login or id is taken. */
  addChannel(c: Omit<ScenarioChannel, "id"> & { id?: string }): ChannelState {
    if (this.usersByLogin.has(c.login)) throw new Error(`login ${c.login} already exists`);
    const id = c.id ?? this.freshUserId();
    if (this.usersById.has(id)) throw new Error(`user id ${id} already exists`);
    const user: ScenarioUser = {
      id,
      login: c.login,
      displayName: c.displayName,
      broadcasterType: c.broadcasterType,
      description: c.description,
      createdAt: c.createdAt,
      viewCount: c.viewCount,
    };
    this.#addUser(user);
    const state: ChannelState = {
      user,
      vods: [],
      clips: [...c.clips],
      live: null,
      chat: { rate: c.chat.rate, offline: c.chat.offline, offlineRate: c.chat.offlineRate, mix: c.chat.mix, chatters: c.chat.chatters },
    };
    this.channels.set(c.login, state);
    for (const v of c.vods) this.addVod(c.login, v);
    return state;
  }

  /** A fresh user id not used by any user. */
  freshUserId(): string {
    while (this.usersById.has(String(this.#nextUser))) this.#nextUser++;
    return String(this.#nextUser++);
  }

  /** A fresh clip id not used by any clip. */
  freshClipId(): string {
    const used = new Set([...this.channels.values()].flatMap((c) => c.clips.map((k) => k.id)));
    while (used.has(`SimClip${this.#nextClip}`)) this.#nextClip++;
    return `SimClip${this.#nextClip++}`;
  }

  /** A fresh VOD id not used by any VOD. */
  freshVodId(): string {
    while (this.vodsById.has(String(this.#nextVod))) this.#nextVod++;
    return String(this.#nextVod++);
  }

  /** The channel, or an error naming the login. */
  channel(login: string): ChannelState {
    const c = this.channels.get(login.replace(/^#/, "").toLowerCase());
    if (c === undefined) throw new Error(`no channel ${login} in the simulator`);
    return c;
  }

  /** Adds a VOD to a channel (kept newest first); throws when its id is taken. */
  addVod(login: string, v: ScenarioVod): SimVod {
    const c = this.channel(login);
    if (this.vodsById.has(v.id)) throw new Error(`video id ${v.id} already exists`);
    const vod: SimVod = { ...v, userId: c.user.id, login: c.user.login, displayName: c.user.displayName, recording: false };
    this.vodsById.set(vod.id, vod);
    c.vods.push(vod);
    c.vods.sort((a, b) => b.createdAt - a.createdAt || Number(b.id) - Number(a.id));
    return vod;
  }

  /** Length of a VOD now (a recording one grows with the clock). */
  vodDuration(v: SimVod): number {
    if (!v.recording) return v.durationSeconds;
    return Math.max(0, Math.floor((this.#clock.now() - v.createdAt) / 1000));
  }

  /** Subscribes to live/offline changes. */
  onLiveChange(listener: LiveListener): void {
    this.#listeners.push(listener);
  }

  /** Starts a broadcast (no-op when already live); records an archive VOD unless `archive` is false. */
  goLive(login: string, opts: GoLiveOptions = {}): LiveSession {
    const c = this.channel(login);
    if (c.live !== null) return c.live;
    const now = this.#clock.now();
    let streamId = opts.streamId ?? null;
    if (streamId === null) streamId = String(this.#nextStream++);
    let vodId: string | null = null;
    if (opts.archive ?? true) {
      vodId = this.freshVodId();
      const vod = this.addVod(c.user.login, {
        id: vodId,
        streamId,
        title: opts.title ?? defaultBroadcast.title,
        description: "",
        createdAt: now,
        durationSeconds: 0,
        viewCount: 0,
        type: "archive",
        language: opts.language ?? defaultBroadcast.language,
        mutedSegments: null,
        bitrate: null,
        restricted: false,
      });
      vod.recording = true;
    }
    c.live = {
      streamId,
      startedAt: now,
      title: opts.title ?? defaultBroadcast.title,
      gameId: opts.gameId ?? defaultBroadcast.gameId,
      gameName: opts.gameName ?? defaultBroadcast.gameName,
      viewerCount: opts.viewerCount ?? defaultBroadcast.viewerCount,
      language: opts.language ?? defaultBroadcast.language,
      tags: opts.tags ?? [],
      isMature: opts.isMature ?? defaultBroadcast.isMature,
      vodId,
    };
    for (const l of this.#listeners) l(c.user.login, c.live);
    return c.live;
  }

  /** Ends the broadcast (no-op when offline); its archive VOD keeps the length it reached. */
  goOffline(login: string): void {
    const c = this.channel(login);
    const session = c.live;
    if (session === null) return;
    if (session.vodId !== null) {
      const v = this.vodsById.get(session.vodId);
      if (v !== undefined) {
        v.durationSeconds = Math.max(1, this.vodDuration(v));
        v.recording = false;
      }
    }
    c.live = null;
    for (const l of this.#listeners) l(c.user.login, null);
  }
}
