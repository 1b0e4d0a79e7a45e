import { emoteCorpus, emotesTag, plainCorpus, type CorpusLine } from "./chat-corpus.ts";
import { makeChatters, type Chatter } from "./chatters.ts";
import { escapeTagValue } from "./irc-message.ts";
import { hashString, nonceFrom, Rng, uuidFrom } from "./rng.ts";
import { chatKinds, type ChatKind, type ChatMix } from "./scenario.ts";
import type { SimClock } from "./clock.ts";
import type { LineSource } from "./sent-lines.ts";
import type { ChannelState, World } from "./world.ts";

/** Where generated lines go (the chat server). */
export interface ChatSink {
  send(channel: string, line: string, command: string, msgId: string | null, source: LineSource): number;
  congested(channel: string, bytes: number): boolean;
}

interface Recent {
  id: string;
  chatter: Chatter;
  /** The message text as sent (with `\x01ACTION` wrapping for actions). */
  text: string;
}

interface ChannelGen {
  readonly login: string;
  readonly roomId: string;
  readonly rng: Rng;
  /** Escaped `msg-param-sub-plan-name`. */
  readonly planName: string;
  /** Message ids are this random UUID prefix plus a counter: unique, UUID-shaped and cheap. */
  readonly idPrefix: string;
  idCounter: number;
  /** A pool of client nonces (clients make them up; they need not be unique). */
  readonly nonces: readonly string[];
  chatters: Chatter[];
  chattersFor: number;
  acc: number;
  recent: Recent[];
  recentNext: number;
  slow: boolean;
  emoteOnly: boolean;
  mix: ChatMix | null;
  cumulative: Float64Array;
}

const TICK_MS = 20;
/** The generator holds back a channel while one of its readers has this much unsent. */
const CONGESTION_BYTES = 256 * 1024;
const RECENT = 64;
const bitsAmounts = [1, 10, 50, 100, 500, 1000];
const announceColors = ["PRIMARY", "BLUE", "GREEN", "ORANGE", "PURPLE"];
const timeouts = [1, 10, 60, 600, 3600];

/**
 * Generates chat in every channel that is live (or offline with offline chat on) at its
 * configured rate and mix: PRIVMSG (plain, emotes, /me, replies, cheers, first messages),
 * USERNOTICE (sub, resub, subgift, raid, announcement), CLEARCHAT (timeout, ban, clear),
 * CLEARMSG, ROOMSTATE and NOTICE, with Twitch's tags in Twitch's order. Paced by real
 * elapsed time; a channel whose readers fall behind is held back rather than buffered.
 */
export class ChatGenerator {
  readonly #world: World;
  readonly #sink: ChatSink;
  readonly #clock: SimClock;
  readonly #seed: number;
  readonly #gens = new Map<string, ChannelGen>();
  #timer: NodeJS.Timeout | null = null;
  #last = 0;

  constructor(world: World, sink: ChatSink, clock: SimClock, seed: number) {
    this.#world = world;
    this.#sink = sink;
    this.#clock = clock;
    this.#seed = seed;
  }

  /** Starts the pacing timer. */
  start(): void {
    if (this.#timer !== null) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops generating. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #gen(c: ChannelState): ChannelGen {
    let g = this.#gens.get(c.user.login);
    if (g === undefined) {
      const rng = new Rng(this.#seed ^ hashString(c.user.login));
      g = {
        login: c.user.login,
        roomId: c.user.id,
        rng,
        planName: escapeTagValue(`Channel Subscription (${c.user.displayName})`),
        idPrefix: uuidFrom(rng).slice(0, 24),
        idCounter: 0,
        nonces: Array.from({ length: 64 }, () => nonceFrom(rng)),
        chatters: [],
        chattersFor: -1,
        acc: 0,
        recent: [],
        recentNext: 0,
        slow: false,
        emoteOnly: false,
        mix: null,
        cumulative: new Float64Array(chatKinds.length),
      };
      this.#gens.set(c.user.login, g);
    }
    if (g.chattersFor !== c.chat.chatters) {
      g.chatters = makeChatters(g.rng, c.chat.chatters, 200_000_000 + (hashString(c.user.login) % 1_000_000) * 1000);
      g.chattersFor = c.chat.chatters;
      g.recent = [];
    }
    if (g.mix !== c.chat.mix) {
      let sum = 0;
      chatKinds.forEach((k, i) => {
        sum += c.chat.mix[k];
        g!.cumulative[i] = sum;
      });
      g.mix = c.chat.mix;
    }
    return g;
  }

  #tick(): void {
    const now = performance.now();
    const ts = this.#clock.now();
    const dt = Math.min(1000, now - this.#last) / 1000;
    this.#last = now;
    for (const c of this.#world.channels.values()) {
      const rate = c.live !== null ? c.chat.rate : c.chat.offline ? c.chat.offlineRate : 0;
      if (rate <= 0) continue;
      const g = this.#gen(c);
      g.acc = Math.min(g.acc + rate * dt, Math.max(1, rate * 0.25));
      let n = Math.floor(g.acc);
      if (n === 0) continue;
      if (this.#sink.congested(g.login, CONGESTION_BYTES)) {
        g.acc = 0;
        continue;
      }
      g.acc -= n;
      while (n-- > 0) this.#emit(g, this.#pickKind(g), ts);
    }
  }

  #pickKind(g: ChannelGen): ChatKind {
    const total = g.cumulative[g.cumulative.length - 1]!;
    const r = g.rng.float() * total;
    for (let i = 0; i < g.cumulative.length; i++) if (r < g.cumulative[i]!) return chatKinds[i]!;
    return "message";
  }

  /** Sends one generated event of `kind` (random by mix when omitted) into a channel now. */
  emit(login: string, kind?: ChatKind): void {
    const c = this.#world.channel(login);
    const g = this.#gen(c);
    this.#emit(g, kind ?? this.#pickKind(g), this.#clock.now());
  }

  #remember(g: ChannelGen, id: string, chatter: Chatter, text: string): void {
    if (g.recent.length < RECENT) g.recent.push({ id, chatter, text });
    else {
      // Entries are reused so a busy channel allocates nothing here.
      const r = g.recent[g.recentNext]!;
      r.id = id;
      r.chatter = chatter;
      r.text = text;
    }
    g.recentNext = (g.recentNext + 1) % RECENT;
  }

  #id(g: ChannelGen): string {
    return g.idPrefix + (g.idCounter++).toString(16).padStart(12, "0");
  }

  #privmsg(g: ChannelGen, ts: number, ch: Chatter, line: CorpusLine, opts: { action?: boolean; bits?: number; firstMsg?: boolean; reply?: Recent }): void {
    const id = this.#id(g);
    const text = opts.action === true ? `\u0001ACTION ${line.text}\u0001` : line.text;
    const bits = opts.bits === undefined ? "" : `;bits=${opts.bits}`;
    let reply = "";
    if (opts.reply !== undefined) {
      const p = opts.reply;
      const body = escapeTagValue(p.text.startsWith("\u0001ACTION ") ? p.text.slice(8, -1) : p.text);
      reply =
        `;reply-parent-display-name=${p.chatter.displayNameTag};reply-parent-msg-body=${body};reply-parent-msg-id=${p.id}` +
        `;reply-parent-user-id=${p.chatter.userId};reply-parent-user-login=${p.chatter.login}` +
        `;reply-thread-parent-display-name=${p.chatter.displayNameTag};reply-thread-parent-msg-id=${p.id}` +
        `;reply-thread-parent-user-id=${p.chatter.userId};reply-thread-parent-user-login=${p.chatter.login}`;
    }
    const out =
      `@badge-info=${ch.badgeInfo};badges=${ch.badges}${bits};client-nonce=${g.nonces[g.idCounter & 63]};color=${ch.color}` +
      `;display-name=${ch.displayNameTag};emotes=${line.emotes};first-msg=${opts.firstMsg === true ? 1 : 0};flags=;id=${id}` +
      `;mod=${ch.mod}${reply};returning-chatter=0;room-id=${g.roomId};subscriber=${ch.subscriber};tmi-sent-ts=${ts}` +
      `;turbo=0;user-id=${ch.userId};user-type=${ch.userType} ${ch.prefix} PRIVMSG #${g.login} :${text}`;
    this.#sink.send(g.login, out, "PRIVMSG", id, "generated");
    this.#remember(g, id, ch, text);
  }

  #usernotice(g: ChannelGen, ts: number, ch: Chatter, msgId: string, params: string, systemMsg: string, text: CorpusLine | null, badges?: { info: string; badges: string }): void {
    const id = this.#id(g);
    const out =
      `@badge-info=${badges?.info ?? ch.badgeInfo};badges=${badges?.badges ?? ch.badges};color=${ch.color};display-name=${ch.displayNameTag}` +
      `;emotes=${text?.emotes ?? ""};flags=;id=${id};login=${ch.login};mod=${ch.mod};msg-id=${msgId}${params}` +
      `;room-id=${g.roomId};subscriber=${badges !== undefined ? 1 : ch.subscriber};system-msg=${escapeTagValue(systemMsg)}` +
      `;tmi-sent-ts=${ts};user-id=${ch.userId};user-type=${ch.userType} :tmi.twitch.tv USERNOTICE #${g.login}` +
      (text === null ? "" : ` :${text.text}`);
    this.#sink.send(g.login, out, "USERNOTICE", id, "generated");
  }

  #emit(g: ChannelGen, kind: ChatKind, ts: number): void {
    const rng = g.rng;
    const ch = rng.pick(g.chatters);
    const chan = g.login;
    const planName = g.planName;
    switch (kind) {
      case "message":
        return this.#privmsg(g, ts, ch, rng.pick(plainCorpus), {});
      case "emote":
        return this.#privmsg(g, ts, ch, rng.pick(emoteCorpus), {});
      case "action":
        return this.#privmsg(g, ts, ch, rng.pick(rng.float() < 0.5 ? plainCorpus : emoteCorpus), { action: true });
      case "firstMsg":
        return this.#privmsg(g, ts, ch, rng.pick(plainCorpus), { firstMsg: true });
      case "bits": {
        const amount = rng.pick(bitsAmounts);
        const line = rng.pick(plainCorpus);
        const text = `Cheer${amount} ${line.text}`;
        // Plain lines rarely hold emotes; only then are ranges worth recomputing.
        return this.#privmsg(g, ts, ch, { text, emotes: line.emotes === "" ? "" : emotesTag(text) }, { bits: amount });
      }
      case "reply": {
        if (g.recent.length === 0) return this.#privmsg(g, ts, ch, rng.pick(plainCorpus), {});
        const parent = rng.pick(g.recent);
        const line = rng.pick(plainCorpus);
        const text = `@${parent.chatter.displayName} ${line.text}`;
        return this.#privmsg(g, ts, ch, { text, emotes: line.emotes === "" ? "" : emotesTag(text) }, { reply: parent });
      }
      case "sub": {
        const prime = rng.float() < 0.3;
        const plan = prime ? "Prime" : rng.pick(["1000", "1000", "2000", "3000"]);
        const system = prime ? `${ch.displayName} subscribed with Prime.` : `${ch.displayName} subscribed at Tier ${Number(plan) / 1000}.`;
        return this.#usernotice(
          g,
          ts,
          ch,
          "sub",
          `;msg-param-cumulative-months=1;msg-param-months=0;msg-param-multimonth-duration=1;msg-param-multimonth-tenure=0` +
            `;msg-param-should-share-streak=0;msg-param-sub-plan-name=${planName};msg-param-sub-plan=${plan};msg-param-was-gifted=false`,
          system,
          null,
          { info: "subscriber/0", badges: prime ? "subscriber/0,premium/1" : "subscriber/0" },
        );
      }
      case "resub": {
        const months = 2 + rng.int(48);
        const streak = 1 + rng.int(months);
        const share = rng.float() < 0.5;
        const system =
          `${ch.displayName} subscribed at Tier 1. They've subscribed for ${months} months` + (share ? `, currently on a ${streak} month streak!` : "!");
        return this.#usernotice(
          g,
          ts,
          ch,
          "resub",
          `;msg-param-cumulative-months=${months};msg-param-months=0;msg-param-multimonth-duration=0;msg-param-multimonth-tenure=0` +
            `;msg-param-should-share-streak=${share ? 1 : 0}${share ? `;msg-param-streak-months=${streak}` : ""}` +
            `;msg-param-sub-plan-name=${planName};msg-param-sub-plan=1000;msg-param-was-gifted=false`,
          system,
          rng.float() < 0.7 ? rng.pick(rng.float() < 0.5 ? plainCorpus : emoteCorpus) : null,
          { info: `subscriber/${months}`, badges: `subscriber/${months >= 12 ? 12 : months >= 6 ? 6 : 3}` },
        );
      }
      case "subgift": {
        const to = rng.pick(g.chatters);
        const count = 1 + rng.int(50);
        return this.#usernotice(
          g,
          ts,
          ch,
          "subgift",
          `;msg-param-gift-months=1;msg-param-months=${1 + rng.int(24)};msg-param-origin-id=${nonceFrom(rng)}` +
            `;msg-param-recipient-display-name=${to.displayNameTag};msg-param-recipient-id=${to.userId};msg-param-recipient-user-name=${to.login}` +
            `;msg-param-sender-count=${count};msg-param-sub-plan-name=${planName};msg-param-sub-plan=1000`,
          `${ch.displayName} gifted a Tier 1 sub to ${to.displayName}! They have given ${count} Gift Subs in the channel!`,
          null,
        );
      }
      case "raid": {
        const viewers = 1 + rng.int(2000);
        return this.#usernotice(
          g,
          ts,
          ch,
          "raid",
          `;msg-param-displayName=${ch.displayNameTag};msg-param-login=${ch.login}` +
            `;msg-param-profileImageURL=https://static-cdn.jtvnw.net/jtv_user_pictures/${ch.login}-profile_image-70x70.png;msg-param-viewerCount=${viewers}`,
          `${viewers} raiders from ${ch.displayName} have joined!`,
          null,
        );
      }
      case "announcement":
        return this.#usernotice(g, ts, ch, "announcement", `;msg-param-color=${rng.pick(announceColors)}`, "", rng.pick(plainCorpus));
      case "timeout":
        return void this.#sink.send(
          chan,
          `@ban-duration=${rng.pick(timeouts)};room-id=${g.roomId};target-user-id=${ch.userId};tmi-sent-ts=${ts} :tmi.twitch.tv CLEARCHAT #${chan} :${ch.login}`,
          "CLEARCHAT",
          null,
          "generated",
        );
      case "ban":
        return void this.#sink.send(
          chan,
          `@room-id=${g.roomId};target-user-id=${ch.userId};tmi-sent-ts=${ts} :tmi.twitch.tv CLEARCHAT #${chan} :${ch.login}`,
          "CLEARCHAT",
          null,
          "generated",
        );
      case "clear":
        return void this.#sink.send(chan, `@room-id=${g.roomId};tmi-sent-ts=${ts} :tmi.twitch.tv CLEARCHAT #${chan}`, "CLEARCHAT", null, "generated");
      case "delete": {
        if (g.recent.length === 0) return this.#privmsg(g, ts, ch, rng.pick(plainCorpus), {});
        const target = rng.pick(g.recent);
        return void this.#sink.send(
          chan,
          `@login=${target.chatter.login};room-id=${g.roomId};target-msg-id=${target.id};tmi-sent-ts=${ts} :tmi.twitch.tv CLEARMSG #${chan} :${target.text}`,
          "CLEARMSG",
          null,
          "generated",
        );
      }
      case "roomstate":
        g.slow = !g.slow;
        return void this.#sink.send(chan, `@room-id=${g.roomId};slow=${g.slow ? 30 : 0} :tmi.twitch.tv ROOMSTATE #${chan}`, "ROOMSTATE", null, "generated");
      case "notice":
        g.emoteOnly = !g.emoteOnly;
        return void this.#sink.send(
          chan,
          g.emoteOnly
            ? `@msg-id=emote_only_on :tmi.twitch.tv NOTICE #${chan} :This room is now in emote-only mode.`
            : `@msg-id=emote_only_off :tmi.twitch.tv NOTICE #${chan} :This room is no longer in emote-only mode.`,
          "NOTICE",
          null,
          "generated",
        );
    }
  }
}
