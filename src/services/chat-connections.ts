/**
 * ChatConnections: a pool of tmi.js connections to Twitch chat shared by every
 * channel. Each connection carries up to `channelsPerConnection` channels;
 * JOINs go out through one limiter so Twitch's JOIN rate limit holds across the
 * pool; connections reconnect with backoff (tmi.js's), honour `RECONNECT`, and
 * rejoin their channels through the limiter. One channel's join or leave only
 * sends that channel's JOIN or PART; the others on the connection see nothing.
 *
 * tmi.js owns the socket, login, PING and reconnection. Chat lines
 * (PRIVMSG, USERNOTICE, CLEARCHAT, CLEARMSG) are taken off the socket before
 * tmi.js sees them and mapped by `chat-message.ts`; everything else goes to
 * tmi.js unchanged.
 */
import { Context, Effect, Layer, Option, Schema } from "effect";
import type { Scope } from "effect";
import tmi from "tmi.js";
import WebSocket from "ws";
import { type ChatMessage, ircCommandOf, isChatCommand, parseChatLine } from "./chat-message.ts";
import { type ChatFlowControl, ChatSink } from "./chat-sink.ts";

/** Why a channel stopped receiving chat. */
export type ChatLeaveReason = "disconnect" | "reconnect" | "part" | "shutdown";

/** Receives one channel's chat and membership changes; called synchronously from the socket, must not throw. */
export interface ChatChannelListener {
  readonly onMessage: (message: ChatMessage) => void;
  /** The channel is joined (again): chat flows from `at`. */
  readonly onJoined: (at: number) => void;
  /** The channel stopped receiving chat at `at` (its connection dropped or was asked to reconnect). */
  readonly onLeft: (at: number, reason: ChatLeaveReason) => void;
  /** A NOTICE for the channel, e.g. `msg_channel_suspended` when it cannot be joined. */
  readonly onNotice?: (msgId: string, text: string) => void;
}

/** Options of the pool. */
export interface ChatConnectionsOptions {
  /** Chat WebSocket, `wss://irc-ws.chat.twitch.tv:443` for Twitch, the simulator's `ws://127.0.0.1:P/` in tests. */
  readonly url: string;
  /** Channels per connection; default 50. */
  readonly channelsPerConnection?: number;
  /** At most `joins` JOINs in any `windowMs`, across the pool; Twitch allows 20 per 10 s (verified bots 2000). */
  readonly joinRateLimit?: { readonly joins: number; readonly windowMs: number };
  /** A JOIN not confirmed within this is sent again. Default 10 s. */
  readonly joinTimeoutMs?: number;
  /** Bot login; anonymous (`justinfan…`) when absent. The password is read at every (re)connect. */
  readonly identity?: { readonly username: string; readonly password: () => string | Promise<string> };
  /** Reconnect backoff: first wait, factor, longest wait. Defaults 1 s, 1.5, 30 s. */
  readonly reconnect?: { readonly initialMs?: number; readonly factor?: number; readonly maxMs?: number };
  /** A connection left with no channels is closed after this. Default 30 s. */
  readonly idleCloseMs?: number;
  /** When given, sockets stop being read while it is saturated (backpressure down to Twitch's TCP window). */
  readonly flowControl?: ChatFlowControl;
  /**
   * Longest a socket stays paused; it is then read for as long again even if
   * the sink is still saturated (the sink then holds more in memory, or sends it
   * to its journal). Twitch's
   * PONG waits behind the unread chat, and tmi.js drops the connection when it
   * is 10 s late. Default 2 s.
   */
  readonly maxPauseMs?: number;
  /** Where tmi.js's own log lines go; dropped when absent. */
  readonly log?: (level: "info" | "warn" | "error", message: string) => void;
}

/** A channel that is already joined by another subscriber. */
export class ChatChannelBusyError extends Schema.TaggedError<ChatChannelBusyError>()("ChatChannelBusyError", {
  channel: Schema.String,
  message: Schema.String,
}) {}

/** One connection as `snapshot` reports it. */
export interface ChatConnectionInfo {
  readonly id: number;
  readonly connected: boolean;
  readonly channels: ReadonlyArray<string>;
  readonly joined: ReadonlyArray<string>;
  readonly reconnects: number;
}

/** The pool's state, for status pages and tests. */
export interface ChatConnectionsSnapshot {
  readonly connections: ReadonlyArray<ChatConnectionInfo>;
  readonly pendingJoins: number;
  readonly joinsSent: number;
  /** Times of the JOINs sent, oldest first (at least the last thousand). */
  readonly recentJoinTimes: ReadonlyArray<number>;
  /** Chat lines for channels nobody listens to (just left). */
  readonly unrouted: number;
}

/** The pool's interface. */
export interface ChatConnectionsService {
  /**
   * Joins `channel` (login) and sends its chat to `listener` until the scope
   * closes, which leaves it. Fails when the channel is already joined.
   */
  readonly join: (channel: string, listener: ChatChannelListener) => Effect.Effect<void, ChatChannelBusyError, Scope.Scope>;
  readonly snapshot: () => ChatConnectionsSnapshot;
}

/** The process's chat connection pool. */
export class ChatConnections extends Context.Service<ChatConnections, ChatConnectionsService>()("vod-tender/services/ChatConnections") {
  /**
   * A pool; every connection is closed when the layer is released. Without
   * `flowControl` it follows the `ChatSink` in context, if there is one.
   */
  static readonly layer = (options: ChatConnectionsOptions): Layer.Layer<ChatConnections> =>
    Layer.effect(
      ChatConnections,
      Effect.acquireRelease(
        Effect.map(Effect.serviceOption(ChatSink), (sink) =>
          makeChatPool(options.flowControl !== undefined || Option.isNone(sink) ? options : { ...options, flowControl: sink.value }),
        ),
        (pool) => Effect.promise(() => pool.close()),
      ).pipe(
        Effect.map((pool) =>
          ChatConnections.of({
            join: (channel, listener) =>
              Effect.acquireRelease(
                Effect.suspend(() => {
                  const result = pool.join(channel, listener);
                  return result === undefined ? Effect.void : Effect.fail(result);
                }),
                () => Effect.sync(() => pool.leave(channel)),
              ),
            snapshot: () => pool.snapshot(),
          }),
        ),
      ),
    );
}

// The parts of a tmi.js client used beyond its typings: the message hook the
// socket calls, the socket itself, and the channel list tmi.js would rejoin.
interface TmiInternals {
  _onMessage: (event: { readonly data: string }) => void;
  _onError: () => void;
  _onClose: () => void;
  _onOpen: () => void;
  _openConnection: () => void;
  ws: WebSocket | null;
  secure: boolean;
  server: string;
  port: number;
  channels: string[];
  opts: { channels: string[] };
  reconnect: boolean;
}

interface Connection {
  readonly id: number;
  readonly client: tmi.Client;
  readonly internals: TmiInternals;
  /** Channels assigned to this connection (joined or waiting to be). */
  readonly channels: Set<string>;
  readonly joined: Set<string>;
  connected: boolean;
  closing: boolean;
  reconnectRequested: boolean;
  reconnects: number;
  paused: boolean;
  /** Read on although the sink is saturated: it was paused for `maxPauseMs` already. */
  overrun: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface PendingJoin {
  readonly conn: Connection;
  readonly channel: string;
}

const parseUrl = (url: string): { server: string; port: number; secure: boolean } => {
  const u = new URL(url);
  const secure = u.protocol === "wss:";
  return { server: u.hostname, port: u.port === "" ? (secure ? 443 : 80) : Number(u.port), secure };
};

const bare = (channel: string) => channel.replace(/^#/, "").toLowerCase();

/** The pool itself, outside Effect: everything here runs in socket callbacks. */
const makeChatPool = (options: ChatConnectionsOptions) => {
  const perConnection = Math.max(1, options.channelsPerConnection ?? 50);
  const rate = options.joinRateLimit ?? { joins: 20, windowMs: 10_000 };
  // Twitch counts JOINs when they arrive; a burst delayed on the way must not
  // land in the next window, so the window is kept a quarter longer than the limit's.
  const windowMs = rate.windowMs + Math.max(250, rate.windowMs / 4);
  const joinTimeoutMs = options.joinTimeoutMs ?? 10_000;
  const idleCloseMs = options.idleCloseMs ?? 30_000;
  const { server, port, secure } = parseUrl(options.url);
  const log = options.log ?? (() => {});
  const flow = options.flowControl;
  const maxPauseMs = options.maxPauseMs ?? 2_000;

  const listeners = new Map<string, ChatChannelListener>();
  const owner = new Map<string, Connection>();
  const connections: Connection[] = [];
  const queue: PendingJoin[] = [];
  const sentAt: number[] = [];
  const joinLog: number[] = [];
  const joinTimers = new Map<string, NodeJS.Timeout>();
  let joinsSent = 0;
  let unrouted = 0;
  let nextId = 1;
  let pumpTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const pump = (): void => {
    pumpTimer = undefined;
    for (;;) {
      const next = queue[0];
      if (next === undefined) return;
      const { conn, channel } = next;
      if (!conn.connected || conn.channels.has(channel) === false || conn.joined.has(channel) || owner.get(channel) !== conn) {
        queue.shift();
        continue;
      }
      const now = Date.now();
      while (sentAt.length > 0 && (sentAt[0] as number) <= now - windowMs) sentAt.shift();
      if (sentAt.length >= rate.joins) {
        pumpTimer = setTimeout(pump, (sentAt[0] as number) + windowMs - now + 1);
        return;
      }
      queue.shift();
      const ws = conn.internals.ws;
      if (ws === null || ws.readyState !== 1) continue;
      ws.send(`JOIN #${channel}`);
      sentAt.push(now);
      joinLog.push(now);
      if (joinLog.length > 2_000) joinLog.splice(0, joinLog.length - 1_000);
      joinsSent++;
      // Twitch drops JOINs over its limit silently: an unconfirmed JOIN is retried.
      clearTimeout(joinTimers.get(channel));
      joinTimers.set(
        channel,
        setTimeout(() => {
          joinTimers.delete(channel);
          if (conn.connected && owner.get(channel) === conn && !conn.joined.has(channel)) enqueue(conn, channel);
        }, joinTimeoutMs),
      );
    }
  };

  const enqueue = (conn: Connection, channel: string) => {
    queue.push({ conn, channel });
    if (pumpTimer === undefined) pump();
  };

  const route = (line: string, receivedAt: number) => {
    const message = parseChatLine(line, receivedAt);
    if (message === undefined) return;
    const listener = listeners.get(message.channel);
    if (listener === undefined) {
      unrouted++;
      return;
    }
    listener.onMessage(message);
  };

  const maybePause = (conn: Connection) => {
    if (flow === undefined || conn.paused || conn.overrun || !flow.saturated()) return;
    const ws = conn.internals.ws;
    if (ws === null) return;
    conn.paused = true;
    ws.pause();
    const resume = () => {
      if (!conn.paused) return;
      conn.paused = false;
      conn.internals.ws?.resume();
    };
    // Paused too long: read on (into the sink's memory or journal) for as
    // long again, which brings Twitch's PING or our PONG through, then let the
    // sink hold the socket back once more if it still has no room. Reading on
    // until the sink had room took in whatever had piled up at the sender at
    // once, past any bound on memory.
    let overrunEnd: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      conn.overrun = true;
      resume();
      overrunEnd = setTimeout(() => {
        conn.overrun = false;
      }, maxPauseMs);
    }, maxPauseMs);
    void flow.whenWritable().then(() => {
      clearTimeout(timer);
      if (overrunEnd !== undefined) clearTimeout(overrunEnd);
      conn.overrun = false;
      resume();
    });
  };

  const channelsLeft = (conn: Connection, reason: ChatLeaveReason) => {
    const at = Date.now();
    const joined = [...conn.joined];
    conn.joined.clear();
    for (const channel of joined) listeners.get(channel)?.onLeft(at, reason);
  };

  const open = (): Connection => {
    const reconnect = options.reconnect ?? {};
    const client = new tmi.Client({
      options: { skipMembership: true, skipUpdatingEmotesets: true, joinInterval: 300 },
      connection: {
        server,
        port,
        secure,
        reconnect: true,
        reconnectInterval: reconnect.initialMs ?? 1_000,
        reconnectDecay: reconnect.factor ?? 1.5,
        maxReconnectInterval: reconnect.maxMs ?? 30_000,
      },
      ...(options.identity === undefined
        ? {}
        : { identity: { username: options.identity.username, password: options.identity.password } }),
      channels: [],
      logger: {
        info: (m: string) => log("info", m),
        warn: (m: string) => log("warn", m),
        error: (m: string) => log("error", m),
      },
    });
    const internals = client as unknown as TmiInternals;
    const conn: Connection = {
      id: nextId++,
      client,
      internals,
      channels: new Set(),
      joined: new Set(),
      connected: false,
      closing: false,
      reconnectRequested: false,
      reconnects: 0,
      paused: false,
      overrun: false,
      idleTimer: undefined,
    };
    // tmi.js picks the runtime's global WebSocket, which cannot pause reading;
    // the `ws` package can, so the socket is opened the way tmi.js would with it.
    internals._openConnection = () => {
      const socket = new WebSocket(`${internals.secure ? "wss" : "ws"}://${internals.server}:${internals.port}/`, "irc", {
        perMessageDeflate: false,
      });
      internals.ws = socket;
      socket.onmessage = (event) => internals._onMessage({ data: String(event.data) });
      socket.onerror = () => internals._onError();
      socket.onclose = () => internals._onClose();
      socket.onopen = () => internals._onOpen();
    };
    const original = internals._onMessage;
    internals._onMessage = (event) => {
      const receivedAt = Date.now();
      const data = event.data;
      let others: string[] | undefined;
      let start = 0;
      while (start < data.length) {
        let end = data.indexOf("\r\n", start);
        if (end === -1) end = data.length;
        const line = data.slice(start, end);
        start = end + 2;
        if (line === "") continue;
        const command = ircCommandOf(line);
        if (isChatCommand(command)) route(line, receivedAt);
        else {
          if (command === "RECONNECT") conn.reconnectRequested = true;
          (others ??= []).push(line);
        }
      }
      if (others !== undefined) original.call(client, { data: others.join("\r\n") });
      maybePause(conn);
    };
    client.on("connected", () => {
      if (conn.closing) {
        conn.client.disconnect().catch(() => undefined);
        return;
      }
      conn.connected = true;
      conn.reconnectRequested = false;
      for (const channel of conn.channels) enqueue(conn, channel);
    });
    client.on("disconnected", () => {
      const wasConnected = conn.connected;
      conn.connected = false;
      conn.paused = false;
      // tmi.js would rejoin what it remembers, outside our limiter; we rejoin ourselves.
      internals.channels = [];
      internals.opts.channels = [];
      if (conn.closing) return;
      if (wasConnected) conn.reconnects++;
      channelsLeft(conn, conn.reconnectRequested ? "reconnect" : "disconnect");
    });
    client.on("join", (channel: string, _user: string, self: boolean) => {
      if (!self) return;
      const name = bare(channel);
      if (owner.get(name) !== conn || conn.joined.has(name)) return;
      conn.joined.add(name);
      clearTimeout(joinTimers.get(name));
      joinTimers.delete(name);
      listeners.get(name)?.onJoined(Date.now());
    });
    client.on("part", (channel: string, _user: string, self: boolean) => {
      if (self) conn.joined.delete(bare(channel));
    });
    client.on("notice", (channel: string, msgId: string, text: string) => {
      listeners.get(bare(channel))?.onNotice?.(String(msgId), text);
    });
    connections.push(conn);
    client.connect().catch((e: unknown) => log("warn", `chat connection ${conn.id}: ${String(e)}`));
    return conn;
  };

  const close = (conn: Connection): Promise<void> => {
    conn.closing = true;
    clearTimeout(conn.idleTimer);
    const i = connections.indexOf(conn);
    if (i !== -1) connections.splice(i, 1);
    // Stop tmi.js from reconnecting a connection we are done with.
    conn.internals.reconnect = false;
    return conn.client.disconnect().then(
      () => undefined,
      () => undefined,
    );
  };

  const join = (name: string, listener: ChatChannelListener): ChatChannelBusyError | undefined => {
    const channel = bare(name);
    if (listeners.has(channel)) {
      return new ChatChannelBusyError({ channel, message: `chat channel ${channel} is already being recorded` });
    }
    listeners.set(channel, listener);
    let conn = connections.find((c) => !c.closing && c.channels.size < perConnection);
    if (conn === undefined) conn = open();
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    conn.channels.add(channel);
    owner.set(channel, conn);
    if (conn.connected) enqueue(conn, channel);
    return undefined;
  };

  const leave = (name: string): void => {
    const channel = bare(name);
    listeners.delete(channel);
    const conn = owner.get(channel);
    owner.delete(channel);
    clearTimeout(joinTimers.get(channel));
    joinTimers.delete(channel);
    if (conn === undefined) return;
    conn.channels.delete(channel);
    if (conn.joined.delete(channel)) {
      const ws = conn.internals.ws;
      if (ws !== null && ws.readyState === 1) ws.send(`PART #${channel}`);
    }
    if (conn.channels.size === 0 && !closed) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = setTimeout(() => {
        if (conn.channels.size === 0) void close(conn);
      }, idleCloseMs);
    }
  };

  return {
    join,
    leave,
    snapshot: (): ChatConnectionsSnapshot => ({
      connections: connections.map((c) => ({
        id: c.id,
        connected: c.connected,
        channels: [...c.channels],
        joined: [...c.joined],
        reconnects: c.reconnects,
      })),
      pendingJoins: queue.length,
      joinsSent,
      recentJoinTimes: [...joinLog],
      unrouted,
    }),
    close: async () => {
      closed = true;
      clearTimeout(pumpTimer);
      for (const t of joinTimers.values()) clearTimeout(t);
      joinTimers.clear();
      queue.length = 0;
      for (const conn of [...connections]) channelsLeft(conn, "shutdown");
      await Promise.all([...connections].map(close));
    },
  };
};
