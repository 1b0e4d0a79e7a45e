/**
 * The `/control` WebSocket server: authenticates the upgrade, then serves the
 * JSON protocol of control-protocol.ts on each connection and fans runtime
 * events out to subscriptions. It mounts on the process's HTTP listener through
 * an `UpgradeHandler`, so it shares the port with `/metrics` and the console.
 *
 * Each connection is held to the limits of control-limits.ts; a bad frame is
 * answered with an error reply and never ends the connection unless the client
 * keeps abusing it.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { Cause, Effect, Exit } from "effect";
import type { Redacted, Scope } from "effect";
import { WebSocketServer } from "ws";
import type { RawData, WebSocket } from "ws";
import type { ControlEventListener } from "./control-backend.ts";
import { describeCaller, readUpgradeCredentials } from "./control-auth.ts";
import { runCommand } from "./control-commands.ts";
import type { BackendCommand, CommandContext } from "./control-commands.ts";
import { defaultControlLimits } from "./control-limits.ts";
import type { ControlLimits } from "./control-limits.ts";
import { CONTROL_PROTOCOL_VERSION, CONTROL_SUBPROTOCOL, ControlCloseCode, commandNames, eventTopics } from "./control-protocol.ts";
import type { ControlErrorCode, ControlEvent, HelloFrame, RequestId } from "./control-protocol.ts";
import { makeRateLimiter } from "./control-rate-limit.ts";
import { decodeRequest, peekRequestId } from "./control-request.ts";
import type { DecodedRequest } from "./control-request.ts";
import { makeSubscriptionSet } from "./control-subscriptions.ts";
import { tokenMatches } from "./control-token.ts";
import type { UpgradeHandler } from "./http-server.ts";

export interface ControlServerOptions {
  readonly token: Redacted.Redacted<string>;
  readonly commands: CommandContext;
  /** Source of the events subscribers receive (the control plane's hub). */
  readonly events: (listener: ControlEventListener) => () => void;
  readonly limits?: Partial<ControlLimits>;
  /** Shown in the hello frame, e.g. `vod-tender 0.1.0`. */
  readonly serverName?: string;
  /** Open connections, for the `vodtender_control_connections` gauge. */
  readonly connectionsGauge?: { readonly inc: () => void; readonly dec: () => void };
}

/** A running control server. */
export interface ControlServer {
  /** Mount on the HTTP listener: `upgrades: { "/control": server.upgrade }`. */
  readonly upgrade: UpgradeHandler;
  /** Open connections. */
  readonly connections: () => number;
  /** Event subscriptions across all connections. */
  readonly subscriptions: () => number;
}

const refuse = (socket: Duplex, status: number, reason: string, code: string, message: string, extra = "") => {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
  // An end() that the peer never reads must not hold the socket open.
  setTimeout(() => socket.destroy(), 1_000).unref();
};

const errorFrame = (id: RequestId | null, code: ControlErrorCode, message: string) => JSON.stringify({ id, error: { code, message } });

/** Starts the server; open connections are closed (1001) when the scope closes. */
export const makeControlServer = Effect.fnUntraced(function* (options: ControlServerOptions) {
  const limits: ControlLimits = { ...defaultControlLimits, ...options.limits };
  const context = yield* Effect.context<never>();
  const runFork = Effect.runForkWith(context);
  const log = (level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>) => {
    const effect = level === "info" ? Effect.logInfo(message) : level === "warn" ? Effect.logWarning(message) : Effect.logError(message);
    runFork(effect.pipe(Effect.annotateLogs({ component: "control", ...fields })));
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.hardFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(CONTROL_SUBPROTOCOL) ? CONTROL_SUBPROTOCOL : false),
  });

  const hello = JSON.stringify({
    type: "hello",
    protocol: CONTROL_PROTOCOL_VERSION,
    server: options.serverName ?? "vod-tender",
    commands: [...commandNames],
    topics: [...eventTopics],
    limits: {
      maxFrameBytes: limits.maxFrameBytes,
      requestsPerSecond: limits.requestsPerSecond,
      burst: limits.burst,
      heartbeatMs: limits.heartbeatMs,
    },
  } satisfies HelloFrame);

  interface Connection {
    readonly ws: WebSocket;
    readonly actor: string;
    readonly subscriptions: ReturnType<typeof makeSubscriptionSet>;
    alive: boolean;
    dropped: boolean;
  }
  const open = new Set<Connection>();

  /** Queues a frame, dropping the client instead when it has stopped reading. */
  const send = (connection: Connection, frame: string) => {
    const { ws } = connection;
    if (connection.dropped || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount + frame.length > limits.maxBufferedBytes) {
      connection.dropped = true;
      log("warn", "control client dropped: it does not read its events fast enough", { actor: connection.actor, buffered: ws.bufferedAmount });
      ws.close(ControlCloseCode.slowConsumer, "slow consumer: outgoing buffer over the limit");
      // The close frame sits behind the unread data; do not wait for it for long.
      setTimeout(() => ws.terminate(), 1_000).unref();
      return;
    }
    ws.send(frame);
  };

  const serve = (connection: Connection, request: DecodedRequest) => {
    const { id } = request;
    if (request.command === "subscribe") {
      const subscription = connection.subscriptions.add(request.params);
      if (subscription === undefined) {
        return send(connection, errorFrame(id, "conflict", `a connection may hold at most ${limits.maxSubscriptions} subscriptions; unsubscribe first`));
      }
      return send(
        connection,
        JSON.stringify({
          id,
          result: { subscription: subscription.id, topics: [...subscription.topics], channels: subscription.channels === null ? null : [...subscription.channels] },
        }),
      );
    }
    if (request.command === "unsubscribe") {
      return connection.subscriptions.remove(request.params.subscription)
        ? send(connection, JSON.stringify({ id, result: { ok: true } }))
        : send(connection, errorFrame(id, "not_found", `no subscription "${request.params.subscription}" on this connection`));
    }
    const started = performance.now();
    let replied = false;
    const reply = (frame: string) => {
      if (replied) return;
      replied = true;
      clearTimeout(timer);
      send(connection, frame);
    };
    // The reply times out, not the command: interrupting a half-done mutation would leave it half done.
    const timer = setTimeout(
      () => reply(errorFrame(id, "timeout", `${request.command} did not finish within ${limits.commandTimeoutMs} ms; it may still complete`)),
      limits.commandTimeoutMs,
    );
    const fiber = runFork(runCommand(options.commands, request.command as BackendCommand, request.params as never, connection.actor));
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) return reply(JSON.stringify({ id, result: exit.value }));
      if (Cause.hasInterruptsOnly(exit.cause)) return clearTimeout(timer);
      const error = Cause.findErrorOption(exit.cause);
      if (error._tag === "Some") return reply(errorFrame(id, error.value.code, error.value.message));
      log("error", "control command failed unexpectedly", { command: request.command, ms: performance.now() - started, cause: Cause.pretty(exit.cause) });
      reply(errorFrame(id, "internal", `${request.command} failed unexpectedly; the server log has the details`));
    });
  };

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    const connection: Connection = {
      ws,
      actor: describeCaller(req),
      subscriptions: makeSubscriptionSet(limits.maxSubscriptions),
      alive: true,
      dropped: false,
    };
    open.add(connection);
    options.connectionsGauge?.inc();
    const limiter = makeRateLimiter({ perSecond: limits.requestsPerSecond, burst: limits.burst });
    let limitedInARow = 0;

    ws.on("pong", () => {
      connection.alive = true;
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      connection.alive = true;
      if (connection.dropped) return;
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) return send(connection, errorFrame(null, "bad_request", "send requests as text frames holding JSON"));
      const text = buffer.toString("utf8");
      if (!limiter.take()) {
        limitedInARow += 1;
        if (limitedInARow >= limits.floodCloseAfter) {
          connection.dropped = true;
          log("warn", "control client closed for flooding", { actor: connection.actor });
          ws.close(ControlCloseCode.flood, "request flood");
          return;
        }
        return send(
          connection,
          errorFrame(
            peekRequestId(text, buffer.byteLength, limits.maxFrameBytes),
            "rate_limited",
            `over ${limits.requestsPerSecond} requests/s (burst ${limits.burst}); retry in ${limiter.retryAfterMs()} ms`,
          ),
        );
      }
      limitedInARow = 0;
      const decoded = decodeRequest(text, buffer.byteLength, limits.maxFrameBytes);
      if (!decoded.ok) return send(connection, errorFrame(decoded.id, decoded.code, decoded.message));
      serve(connection, decoded);
    });
    ws.on("error", (error) => {
      // ws closes the socket itself (1009 for a frame over the hard limit); this only records why.
      log("warn", "control connection error", { actor: connection.actor, error: error.message });
    });
    ws.on("close", () => {
      open.delete(connection);
      options.connectionsGauge?.dec();
      // Commands in flight finish anyway (their replies are dropped): a mutation is not cut in half.
    });
    ws.send(hello);
  };

  const upgrade: UpgradeHandler = (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const credentials = readUpgradeCredentials(req);
    if (!tokenMatches(options.token, credentials.token)) {
      log("warn", "control connection refused: missing or wrong token", { address: req.socket.remoteAddress });
      return refuse(socket, 401, "Unauthorized", "unauthenticated", "a valid bearer token is required", 'www-authenticate: Bearer realm="vod-tender control"\r\n');
    }
    if (credentials.protocols.length > 0 && !credentials.protocols.includes(CONTROL_SUBPROTOCOL)) {
      return refuse(socket, 400, "Bad Request", "unsupported_protocol", `this server speaks ${CONTROL_SUBPROTOCOL}; offered: ${credentials.protocols.join(", ")}`);
    }
    if (open.size >= limits.maxConnections) {
      return refuse(socket, 503, "Service Unavailable", "unavailable", `too many control connections (limit ${limits.maxConnections})`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };

  const onEvent = (event: ControlEvent) => {
    if (open.size === 0) return;
    let json: string | undefined;
    for (const connection of open) {
      const ids = connection.subscriptions.matching(event);
      if (ids.length === 0) continue;
      json ??= JSON.stringify(event);
      for (const id of ids) send(connection, `{"type":"event","subscription":${JSON.stringify(id)},"event":${json}}`);
    }
  };
  const unsubscribe = options.events(onEvent);

  const heartbeat = setInterval(() => {
    for (const connection of open) {
      if (!connection.alive) {
        log("info", "control peer did not answer a ping; closing it", { actor: connection.actor });
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }, limits.heartbeatMs);
  heartbeat.unref();

  yield* Effect.addFinalizer(() =>
    Effect.callback<void>((resume) => {
      clearInterval(heartbeat);
      unsubscribe();
      if (open.size === 0) {
        wss.close();
        return resume(Effect.void);
      }
      let left = open.size;
      const done = () => {
        left -= 1;
        if (left === 0) {
          clearTimeout(force);
          wss.close();
          resume(Effect.void);
        }
      };
      const force = setTimeout(() => {
        for (const connection of open) connection.ws.terminate();
      }, 1_000);
      for (const connection of open) {
        connection.ws.once("close", done);
        connection.ws.close(ControlCloseCode.goingAway, "server shutting down");
      }
    }),
  );

  const subscriptions = () => {
    let total = 0;
    for (const connection of open) total += connection.subscriptions.size();
    return total;
  };
  return { upgrade, connections: () => open.size, subscriptions } satisfies ControlServer;
}) as (options: ControlServerOptions) => Effect.Effect<ControlServer, never, Scope.Scope>;

