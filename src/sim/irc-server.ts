import type { IncomingMessage, Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { formatIrcLine, lineChannel, parseIrcLine, userPrefix, type IrcMessage } from "./irc-message.ts";
import type { LineSource, SentLines } from "./sent-lines.ts";
import type { SimClock } from "./clock.ts";
import type { TokenStore } from "./token-store.ts";
import type { World } from "./world.ts";

const HOST = "tmi.twitch.tv";
const supportedCaps = ["twitch.tv/tags", "twitch.tv/commands", "twitch.tv/membership"];
const justinfan = /^justinfan\d+$/;

/** Settings of the chat server. */
export interface IrcSettings {
  /** Twitch's JOIN limit per user; `null` for none. */
  joinRateLimit: { joins: number; windowSeconds: number } | null;
  pingIntervalSeconds: number;
  /** Unsent bytes past which a connection is cut (Twitch drops readers that fall behind). */
  slowConsumerBytes: number;
}

/** What the chat server reads. */
export interface IrcDeps {
  readonly world: World;
  readonly tokens: TokenStore;
  readonly clock: SimClock;
  readonly sent: SentLines;
  readonly settings: IrcSettings;
}

interface Transport {
  write(data: string): void;
  pending(): number;
  close(): void;
  destroy(): void;
}

/** A chat connection, over WebSocket or TCP. */
export class IrcConnection {
  readonly id: number;
  readonly transport: "ws" | "tcp";
  readonly io: Transport;
  nick = "";
  pass: string | null = null;
  /** The authenticated user, for OAuth logins (null when anonymous). */
  userId: string | null = null;
  registered = false;
  tags = false;
  commands = false;
  membership = false;
  readonly channels = new Set<string>();
  out: string[] = [];
  dirty = false;
  closed = false;
  awaitingPong = false;

  constructor(id: number, transport: "ws" | "tcp", io: Transport) {
    this.id = id;
    this.transport = transport;
    this.io = io;
  }
}

/** A summary of one connection, for the admin API and tests. */
export interface ConnectionInfo {
  readonly id: number;
  readonly transport: "ws" | "tcp";
  readonly nick: string;
  readonly anonymous: boolean;
  readonly caps: readonly string[];
  readonly channels: readonly string[];
}

const stripTags = (line: string): string => (line.charCodeAt(0) === 64 ? line.slice(line.indexOf(" ") + 1) : line);

/**
 * Twitch chat (TMI) over WebSocket (the endpoint tmi.js uses: `ws://host:port/`, subprotocol
 * `irc`) and plain TCP. Login as `justinfan<digits>` or with `PASS oauth:<user token>`,
 * `CAP REQ`, the welcome numerics, JOIN/PART with the JOIN rate limit, PING/PONG, and
 * delivery of channel lines. Output is queued per connection and written once per turn
 * of the event loop (many lines per WebSocket frame, as Twitch does), which is what makes
 * tens of thousands of messages a second cheap.
 */
export class IrcServer {
  readonly #deps: IrcDeps;
  readonly #wss: WebSocketServer;
  #tcp: TcpServer | null = null;
  readonly #conns = new Set<IrcConnection>();
  readonly #members = new Map<string, Set<IrcConnection>>();
  readonly #joins = new Map<string, number[]>();
  #dirty: IrcConnection[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #pingTimer: NodeJS.Timeout;
  /** Counters for tests and the admin API. */
  readonly stats = { connections: 0, disconnects: 0, joins: 0, droppedJoins: 0, slowConsumersCut: 0 };

  constructor(deps: IrcDeps) {
    this.#deps = deps;
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
    this.#pingTimer = setInterval(() => this.#pingAll(), deps.settings.pingIntervalSeconds * 1000);
    this.#pingTimer.unref();
  }

  /** Accepts WebSocket upgrades on `server` (any path; tmi.js asks for `/`). */
  attach(server: HttpServer): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#acceptWs(ws));
    });
  }

  /** Starts the plain-TCP listener; resolves to its port. */
  listenTcp(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createTcpServer((socket) => this.#acceptTcp(socket));
      server.once("error", reject);
      server.listen(port, host, () => {
        this.#tcp = server;
        const addr = server.address();
        resolve(typeof addr === "object" && addr !== null ? addr.port : port);
      });
    });
  }

  #acceptWs(ws: WebSocket): void {
    const conn = new IrcConnection(this.#nextId++, "ws", {
      write: (data) => ws.send(data),
      pending: () => ws.bufferedAmount,
      close: () => ws.close(),
      destroy: () => ws.terminate(),
    });
    this.#open(conn);
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      for (const line of data.toString("utf8").split("\n")) this.#onLine(conn, line);
    });
    ws.on("close", () => this.#closed(conn));
    ws.on("error", () => this.#closed(conn));
  }

  #acceptTcp(socket: Socket): void {
    socket.setNoDelay(true);
    const conn = new IrcConnection(this.#nextId++, "tcp", {
      write: (data) => void socket.write(data),
      pending: () => socket.writableLength,
      close: () => socket.end(),
      destroy: () => socket.destroy(),
    });
    this.#open(conn);
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        this.#onLine(conn, buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
      if (buffered.length > 8192) socket.destroy();
    });
    socket.on("close", () => this.#closed(conn));
    socket.on("error", () => this.#closed(conn));
  }

  #open(conn: IrcConnection): void {
    this.#conns.add(conn);
    this.stats.connections++;
  }

  #closed(conn: IrcConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.stats.disconnects++;
    this.#conns.delete(conn);
    for (const c of conn.channels) this.#members.get(c)?.delete(conn);
    conn.channels.clear();
  }

  /** Queues a line for one connection. */
  #queue(conn: IrcConnection, line: string): void {
    if (conn.closed) return;
    conn.out.push(line);
    if (!conn.dirty) {
      conn.dirty = true;
      this.#dirty.push(conn);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    const limit = this.#deps.settings.slowConsumerBytes;
    for (const conn of dirty) {
      conn.dirty = false;
      if (conn.closed) continue;
      const data = conn.out.length === 1 ? `${conn.out[0]}\r\n` : `${conn.out.join("\r\n")}\r\n`;
      conn.out = [];
      conn.io.write(data);
      if (conn.io.pending() > limit) {
        this.stats.slowConsumersCut++;
        conn.io.destroy();
        this.#closed(conn);
      }
    }
  };

  #onLine(conn: IrcConnection, raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || conn.closed) return;
    const m = parseIrcLine(line);
    if (m === undefined) return;
    switch (m.command) {
      case "CAP":
        return this.#cap(conn, m);
      case "PASS":
        conn.pass = m.params[0] ?? "";
        return;
      case "NICK":
        return this.#nick(conn, (m.params[0] ?? "").toLowerCase());
      case "PING": {
        const arg = m.params[0];
        return this.#queue(conn, arg === undefined ? `PONG :${HOST}` : `:${HOST} PONG ${HOST} :${arg}`);
      }
      case "PONG":
        conn.awaitingPong = false;
        return;
      case "QUIT":
        conn.io.close();
        return;
      case "USER":
        return;
    }
    if (!conn.registered) return;
    switch (m.command) {
      case "JOIN":
        for (const ch of (m.params[0] ?? "").split(",")) if (ch !== "") this.#join(conn, ch.replace(/^#/, "").toLowerCase());
        return;
      case "PART":
        for (const ch of (m.params[0] ?? "").split(",")) if (ch !== "") this.#part(conn, ch.replace(/^#/, "").toLowerCase());
        return;
      case "PRIVMSG":
        return this.#privmsg(conn, m);
      default:
        this.#queue(conn, `:${HOST} 421 ${conn.nick} ${m.command} :Unknown command`);
    }
  }

  #cap(conn: IrcConnection, m: IrcMessage): void {
    const sub = (m.params[0] ?? "").toUpperCase();
    if (sub === "LS") return this.#queue(conn, `:${HOST} CAP * LS :${supportedCaps.join(" ")}`);
    if (sub !== "REQ") return;
    const wanted = (m.params[1] ?? "").split(" ").filter((c) => c !== "");
    if (wanted.some((c) => !supportedCaps.includes(c))) return this.#queue(conn, `:${HOST} CAP * NAK :${wanted.join(" ")}`);
    for (const c of wanted) {
      if (c === "twitch.tv/tags") conn.tags = true;
      if (c === "twitch.tv/commands") conn.commands = true;
      if (c === "twitch.tv/membership") conn.membership = true;
    }
    this.#queue(conn, `:${HOST} CAP * ACK :${wanted.join(" ")}`);
  }

  #nick(conn: IrcConnection, nick: string): void {
    if (conn.registered) return;
    const fail = (text: string) => {
      this.#queue(conn, `:${HOST} NOTICE * :${text}`);
      setImmediate(() => conn.io.close());
    };
    if (justinfan.test(nick)) {
      conn.nick = nick;
    } else {
      if (conn.pass === null || conn.pass === "") return fail("Improperly formatted auth");
      const token = conn.pass.replace(/^oauth:/i, "");
      const t = this.#deps.tokens.valid(token, "twitch");
      if (t === undefined || t.kind !== "user" || t.login === null || !t.scopes.some((s) => s === "chat:read" || s === "chat:edit")) {
        return fail("Login authentication failed");
      }
      conn.nick = t.login;
      conn.userId = t.userId;
    }
    conn.registered = true;
    const n = conn.nick;
    this.#queue(conn, `:${HOST} 001 ${n} :Welcome, GLHF!`);
    this.#queue(conn, `:${HOST} 002 ${n} :Your host is ${HOST}`);
    this.#queue(conn, `:${HOST} 003 ${n} :This server is rather new`);
    this.#queue(conn, `:${HOST} 004 ${n} :-`);
    this.#queue(conn, `:${HOST} 375 ${n} :-`);
    this.#queue(conn, `:${HOST} 372 ${n} :You are in a maze of twisty passages, all alike.`);
    this.#queue(conn, `:${HOST} 376 ${n} :>`);
    if (conn.userId !== null && conn.tags && conn.commands) {
      const u = this.#deps.world.usersById.get(conn.userId);
      this.#queue(
        conn,
        formatIrcLine({
          tags: [["badge-info", ""], ["badges", ""], ["color", ""], ["display-name", u?.displayName ?? n], ["emote-sets", "0"], ["user-id", conn.userId], ["user-type", ""]],
          prefix: HOST,
          command: "GLOBALUSERSTATE",
        }),
      );
    }
  }

  #joinAllowed(nick: string): boolean {
    const limit = this.#deps.settings.joinRateLimit;
    if (limit === null) return true;
    const now = performance.now();
    const since = now - limit.windowSeconds * 1000;
    let times = this.#joins.get(nick);
    if (times === undefined) {
      times = [];
      this.#joins.set(nick, times);
    }
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length >= limit.joins) return false;
    times.push(now);
    return true;
  }

  #userState(conn: IrcConnection, channel: string): string {
    const u = conn.userId === null ? undefined : this.#deps.world.usersById.get(conn.userId);
    const broadcaster = u !== undefined && u.login === channel;
    return formatIrcLine({
      tags: [
        ["badge-info", ""],
        ["badges", broadcaster ? "broadcaster/1" : ""],
        ["color", ""],
        ["display-name", u?.displayName ?? conn.nick],
        ["emote-sets", "0"],
        ["mod", "0"],
        ["subscriber", "0"],
        ["user-type", ""],
      ],
      prefix: HOST,
      command: "USERSTATE",
      params: [`#${channel}`],
    });
  }

  #join(conn: IrcConnection, channel: string): void {
    // Twitch drops JOINs over the limit without a word; the client's join just times out.
    if (!this.#joinAllowed(conn.nick)) {
      this.stats.droppedJoins++;
      return;
    }
    const c = this.#deps.world.channels.get(channel);
    if (c === undefined) {
      if (conn.commands) {
        this.#queue(conn, `${conn.tags ? "@msg-id=msg_channel_suspended " : ""}:${HOST} NOTICE #${channel} :This channel has been suspended.`);
      }
      return;
    }
    this.stats.joins++;
    if (!conn.channels.has(channel)) {
      conn.channels.add(channel);
      let set = this.#members.get(channel);
      if (set === undefined) {
        set = new Set();
        this.#members.set(channel, set);
      }
      set.add(conn);
    }
    const n = conn.nick;
    this.#queue(conn, `:${userPrefix(n)} JOIN #${channel}`);
    if (conn.commands) {
      if (conn.userId !== null) this.#queue(conn, conn.tags ? this.#userState(conn, channel) : stripTags(this.#userState(conn, channel)));
      const rs = `@emote-only=0;followers-only=-1;r9k=0;rituals=0;room-id=${c.user.id};slow=0;subs-only=0 :${HOST} ROOMSTATE #${channel}`;
      this.#queue(conn, conn.tags ? rs : stripTags(rs));
    }
    this.#queue(conn, `:${n}.${HOST} 353 ${n} = #${channel} :${n}`);
    this.#queue(conn, `:${n}.${HOST} 366 ${n} #${channel} :End of /NAMES list`);
  }

  #part(conn: IrcConnection, channel: string): void {
    if (!conn.channels.delete(channel)) return;
    this.#members.get(channel)?.delete(conn);
    this.#queue(conn, `:${userPrefix(conn.nick)} PART #${channel}`);
  }

  #privmsg(conn: IrcConnection, m: IrcMessage): void {
    const channel = lineChannel(m);
    const text = m.params[1];
    // Anonymous users cannot talk; Twitch ignores them.
    if (conn.userId === null || channel === undefined || text === undefined || !conn.channels.has(channel)) return;
    const c = this.#deps.world.channels.get(channel);
    const u = this.#deps.world.usersById.get(conn.userId);
    if (c === undefined || u === undefined) return;
    const id = crypto.randomUUID();
    const broadcaster = u.id === c.user.id;
    const line = formatIrcLine({
      tags: [
        ["badge-info", ""],
        ["badges", broadcaster ? "broadcaster/1" : ""],
        ["color", ""],
        ["display-name", u.displayName],
        ["emotes", ""],
        ["first-msg", "0"],
        ["flags", ""],
        ["id", id],
        ["mod", "0"],
        ["returning-chatter", "0"],
        ["room-id", c.user.id],
        ["subscriber", "0"],
        ["tmi-sent-ts", String(this.#deps.clock.now())],
        ["turbo", "0"],
        ["user-id", u.id],
        ["user-type", ""],
      ],
      prefix: userPrefix(u.login),
      command: "PRIVMSG",
      params: [`#${channel}`, text],
      trailing: true,
    });
    this.send(channel, line, "PRIVMSG", id, "client", conn);
    if (conn.commands) this.#queue(conn, conn.tags ? this.#userState(conn, channel) : stripTags(this.#userState(conn, channel)));
  }

  /**
   * Sends one line to every connection in `channel` (except `except`) and records it.
   * Connections without `twitch.tv/tags` get it without tags; without
   * `twitch.tv/commands` they only get PRIVMSG. Returns how many received it.
   */
  send(channel: string, line: string, command: string, msgId: string | null, source: LineSource, except?: IrcConnection): number {
    const members = this.#members.get(channel);
    let receivers = 0;
    if (members !== undefined && members.size > 0) {
      const needsCommands = command !== "PRIVMSG" && command !== "JOIN" && command !== "PART";
      for (const conn of members) {
        if (conn === except) continue;
        if (needsCommands && !conn.commands) continue;
        this.#queue(conn, conn.tags ? line : stripTags(line));
        receivers++;
      }
    }
    this.#deps.sent.add(channel, line, command, msgId, this.#deps.clock.now(), receivers, source);
    return receivers;
  }

  /** Whether any connection in `channel` has more than `bytes` unsent (the generator waits for it). */
  congested(channel: string, bytes: number): boolean {
    const members = this.#members.get(channel);
    if (members === undefined) return false;
    for (const conn of members) if (conn.io.pending() > bytes) return true;
    return false;
  }

  /** Connections currently in `channel`. */
  memberCount(channel: string): number {
    return this.#members.get(channel)?.size ?? 0;
  }

  #targets(channel: string | undefined): IrcConnection[] {
    if (channel === undefined) return [...this.#conns];
    return [...(this.#members.get(channel) ?? [])];
  }

  /** Drops connections (all, or those in `channel`) without a word. Returns how many. */
  disconnect(channel?: string): number {
    const targets = this.#targets(channel);
    for (const conn of targets) {
      conn.io.destroy();
      this.#closed(conn);
    }
    return targets.length;
  }

  /** Sends `RECONNECT` to connections (all, or those in `channel`) and closes them after `graceMs`. */
  reconnect(channel: string | undefined, graceMs: number): number {
    const targets = this.#targets(channel);
    for (const conn of targets) this.#queue(conn, `:${HOST} RECONNECT`);
    const t = setTimeout(() => {
      for (const conn of targets) {
        if (!conn.closed) {
          conn.io.close();
          this.#closed(conn);
        }
      }
    }, graceMs);
    t.unref();
    return targets.length;
  }

  #pingAll(): void {
    for (const conn of this.#conns) {
      if (!conn.registered) continue;
      if (conn.awaitingPong) {
        conn.io.destroy();
        this.#closed(conn);
        continue;
      }
      conn.awaitingPong = true;
      this.#queue(conn, `PING :${HOST}`);
    }
  }

  /** Summaries of open connections. */
  connections(): ConnectionInfo[] {
    return [...this.#conns].map((c) => ({
      id: c.id,
      transport: c.transport,
      nick: c.nick,
      anonymous: c.userId === null,
      caps: supportedCaps.filter((cap) => (cap === "twitch.tv/tags" ? c.tags : cap === "twitch.tv/commands" ? c.commands : c.membership)),
      channels: [...c.channels],
    }));
  }

  /** Closes every connection and the listeners. */
  async close(): Promise<void> {
    clearInterval(this.#pingTimer);
    for (const conn of [...this.#conns]) {
      conn.io.destroy();
      this.#closed(conn);
    }
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    const tcp = this.#tcp;
    if (tcp !== null) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
