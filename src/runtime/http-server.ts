/**
 * The process's one HTTP listener on `HTTP_ADDR`: plain `node:http` with a small
 * route table, because every endpoint here is a few lines and the hot ones
 * (`/metrics`, `/control`) want no framework between them and the socket.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Effect, Schema } from "effect";
import type { Scope } from "effect";

/** A request handler; `params` holds the named groups of a RegExp path. */
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Readonly<Record<string, string>>,
) => void | Promise<void>;

export interface Route {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "*";
  /** Exact path, or a RegExp (named groups become params); matched without the query string. */
  readonly path: string | RegExp;
  readonly handle: RouteHandler;
}

/** Takes over a socket for a WebSocket upgrade on its path. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpServerOptions {
  /** `host:port`, `:port` (all interfaces, as in the Go original) or a bare port. */
  readonly address: string;
  readonly routes: ReadonlyArray<Route>;
  readonly upgrades?: Readonly<Record<string, UpgradeHandler>>;
  /** Called for a handler that throws; the client gets a 500 either way. */
  readonly onError?: (error: unknown, req: IncomingMessage) => void;
}

export class HttpListenError extends Schema.TaggedError<HttpListenError>()("HttpListenError", {
  address: Schema.String,
  message: Schema.String,
}) {}

/** Splits `HTTP_ADDR` into host and port; `:8080` listens on every interface. */
export const parseListenAddress = (address: string): { host: string; port: number } => {
  const text = address.trim();
  const match = /^(?:\[(?<v6>[^\]]+)\]:|(?<host>[^:]*):)?(?<port>\d+)$/.exec(text);
  const port = Number(match?.groups?.["port"]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`HTTP_ADDR: expected host:port, :port or port, got "${address}"`);
  }
  const host = match.groups?.["v6"] ?? match.groups?.["host"] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
};

/** Writes a JSON body with the given status. */
export const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

/** Writes a plain-text body with the given status. */
export const sendText = (res: ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8"): void => {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
};

const matchRoute = (routes: ReadonlyArray<Route>, method: string, path: string) => {
  let pathMatched = false;
  for (const route of routes) {
    let params: Record<string, string> | undefined;
    if (typeof route.path === "string") {
      if (route.path === path) params = {};
    } else {
      const m = route.path.exec(path);
      if (m) params = { ...(m.groups ?? {}) };
    }
    if (!params) continue;
    pathMatched = true;
    if (route.method === "*" || route.method === method || (route.method === "GET" && method === "HEAD")) {
      return { route, params } as const;
    }
  }
  return pathMatched ? ("method-not-allowed" as const) : undefined;
};

const handleRequest = async (options: HttpServerOptions, req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
  const found = matchRoute(options.routes, req.method ?? "GET", path);
  if (found === undefined) return sendJson(res, 404, { error: { code: "not_found", message: `no such path: ${path}` } });
  if (found === "method-not-allowed") {
    return sendJson(res, 405, { error: { code: "method_not_allowed", message: `${req.method} is not allowed on ${path}` } });
  }
  try {
    await found.route.handle(req, res, found.params);
  } catch (error) {
    options.onError?.(error, req);
    if (!res.headersSent) sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
    else res.destroy();
  }
};

/** Starts listening; the server is closed (connections included) when the scope closes. */
export const serveHttp = (options: HttpServerOptions): Effect.Effect<{ server: Server; host: string; port: number; url: string }, HttpListenError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: Server; host: string; port: number; url: string }, HttpListenError>((resume) => {
      let host: string;
      let port: number;
      try {
        ({ host, port } = parseListenAddress(options.address));
      } catch (error) {
        resume(Effect.fail(new HttpListenError({ address: options.address, message: (error as Error).message })));
        return;
      }
      const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => void handleRequest(options, req, res));
      server.on("upgrade", (req, socket, head) => {
        const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
        const upgrade = options.upgrades?.[path];
        if (upgrade) return upgrade(req, socket, head);
        socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
      });
      server.once("error", (error: NodeJS.ErrnoException) =>
        resume(
          Effect.fail(
            new HttpListenError({
              address: options.address,
              message: error.code === "EADDRINUSE" ? `HTTP_ADDR ${options.address} is already in use` : `cannot listen on ${options.address}: ${error.message}`,
            }),
          ),
        ),
      );
      server.listen(port, host, () => {
        const bound = server.address();
        const actualPort = typeof bound === "object" && bound ? bound.port : port;
        const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
        resume(Effect.succeed({ server, host, port: actualPort, url: `http://${shownHost}:${actualPort}` }));
      });
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void));
        server.closeAllConnections();
      }),
  );
