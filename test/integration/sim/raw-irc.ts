import { connect as tcpConnect, type Socket } from "node:net";
import WebSocket from "ws";

/**
 * A bare IRC client over WebSocket or TCP that keeps every line it receives, exactly,
 * for byte-level comparisons the real client libraries would hide.
 */
export class RawIrc {
  readonly lines: string[] = [];
  closed = false;
  #send: (line: string) => void;
  #close: () => void;
  #waiters: (() => void)[] = [];

  private constructor(send: (line: string) => void, close: () => void) {
    this.#send = send;
    this.#close = close;
  }

  #push(chunk: string, buffer: { rest: string }): void {
    buffer.rest += chunk;
    const parts = buffer.rest.split("\r\n");
    buffer.rest = parts.pop()!;
    this.lines.push(...parts);
    for (const w of this.#waiters.splice(0)) w();
  }

  #ended(): void {
    this.closed = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Connects over WebSocket with the `irc` subprotocol, as tmi.js does. */
  static ws(url: string): Promise<RawIrc> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, "irc");
      const client = new RawIrc((l) => ws.send(l), () => ws.close());
      const buffer = { rest: "" };
      ws.on("message", (data: Buffer) => client.#push(data.toString("utf8"), buffer));
      ws.on("close", () => client.#ended());
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** Connects over plain TCP to `host:port`. */
  static tcp(address: string): Promise<RawIrc> {
    const i = address.lastIndexOf(":");
    return new Promise((resolve, reject) => {
      const socket: Socket = tcpConnect(Number(address.slice(i + 1)), address.slice(0, i));
      const client = new RawIrc((l) => socket.write(`${l}\r\n`), () => socket.end());
      const buffer = { rest: "" };
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => client.#push(d, buffer));
      socket.on("close", () => client.#ended());
      socket.once("connect", () => resolve(client));
      socket.once("error", reject);
    });
  }

  send(...lines: string[]): void {
    for (const l of lines) this.#send(l);
  }

  close(): void {
    this.#close();
  }

  /** Resolves once `pred` holds for the lines received (or the connection closed), failing after `ms`. */
  async until(pred: (lines: string[]) => boolean, ms = 10_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    while (!pred(this.lines)) {
      if (this.closed) throw new Error(`connection closed; got:\n${this.lines.join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got:\n${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.lines;
  }

  /** Resolves when the server closes the connection. */
  async untilClosed(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("still open");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** Logs in anonymously and waits for the end of the welcome. */
export const anonymous = async (client: RawIrc, nick = "justinfan12345", caps = "twitch.tv/commands twitch.tv/tags twitch.tv/membership"): Promise<void> => {
  if (caps !== "") client.send(`CAP REQ :${caps}`);
  client.send("PASS SCHMOOPIIE", `NICK ${nick}`);
  await client.until((ls) => ls.some((l) => l.includes(" 376 ")));
};
