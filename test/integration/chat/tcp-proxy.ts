/**
 * A TCP proxy in front of the test PostgreSQL that a test can cut and restore:
 * cutting destroys every open connection and refuses new ones, which is what a
 * client sees when the database goes away. `slow` delays what clients send,
 * which is what a client sees of a database that keeps up only slowly.
 */
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Rewrites a postgres:// URL to go through the proxy. */
  readonly via: (url: string) => string;
  readonly cut: () => void;
  readonly restore: () => void;
  /** Holds every chunk a client sends this long before passing it on (0: not at all). */
  readonly slow: (delayMs: number) => void;
  readonly close: () => Promise<void>;
}

export const startTcpProxy = async (targetHost: string, targetPort: number): Promise<TcpProxy> => {
  let open = true;
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    // Chunks keep their order: each waits for the one before it.
    let previous = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      const delay = delayMs;
      if (delay === 0) {
        previous = previous.then(() => void upstream.write(chunk));
        return;
      }
      previous = previous.then(() => new Promise<void>((resolve) => setTimeout(() => (upstream.write(chunk), resolve()), delay)));
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    via: (url) => {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: () => {
      open = true;
    },
    slow: (delay) => {
      delayMs = delay;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};
