/**
 * A Node client of `/control`: connects with the bearer token, matches replies
 * to requests by id, validates every frame it receives against the protocol's
 * schemas, and hands events to listeners. `ctl`, the benchmarks and the tests
 * use it; the browser console has its own few lines of the same.
 */
import { hostname, userInfo } from "node:os";
import { Result, Schema } from "effect";
import WebSocket from "ws";
import { CLIENT_HEADER } from "./control-auth.ts";
import { CONTROL_SUBPROTOCOL, ControlErrorCode, EventFrame, HelloFrame, ServerFrame, commands } from "./control-protocol.ts";
import type { CommandName, CommandParamsEncoded, CommandResult } from "./control-protocol.ts";
import { describeIssue } from "./control-request.ts";

/** A request failed: the server's error reply, or the connection/timeout around it. */
export class ControlRequestError extends Schema.TaggedError<ControlRequestError>()("ControlRequestError", {
  code: Schema.Union([ControlErrorCode, Schema.Literals(["disconnected", "client_timeout", "bad_reply"])]),
  message: Schema.String,
}) {}

export interface ControlClientOptions {
  /** `ws://host:port/control`. */
  readonly url: string;
  readonly token: string;
  /** How this client names itself in the audit log; defaults to `ctl user@host`. */
  readonly client?: string;
  /** How long to wait for a reply. */
  readonly timeoutMs?: number;
  /** Validate results against their command's schema (on by default). */
  readonly validate?: boolean;
}

/** A connected client. */
export interface ControlClient {
  readonly hello: HelloFrame;
  /** Sends a command and resolves with its validated result; rejects with `ControlRequestError`. */
  readonly request: <C extends CommandName>(command: C, params?: CommandParamsEncoded<C>) => Promise<CommandResult<C>>;
  /** Sends a raw text frame (tests of malformed input); resolves with the next reply carrying `id`, or any id when null. */
  readonly sendRaw: (frame: string | Buffer, expectId?: string | number | null) => Promise<unknown>;
  /** Listens to events of every subscription; returns the function that stops listening. */
  readonly onEvent: (listener: (frame: EventFrame) => void) => () => void;
  /** Resolves when the connection closes, with the close code and reason. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  readonly close: () => Promise<void>;
  /** The underlying socket (tests pause it to play a slow consumer). */
  readonly socket: WebSocket;
}

const decodeFrame = Schema.decodeUnknownResult(ServerFrame);
const decodeHello = Schema.decodeUnknownResult(HelloFrame);
const decodeEvent = Schema.decodeUnknownResult(EventFrame);
const resultDecoders = new Map<string, (input: unknown) => Result.Result<unknown, Schema.SchemaError>>();
const decodeResult = (command: CommandName, value: unknown) => {
  let decode = resultDecoders.get(command);
  if (decode === undefined) {
    decode = Schema.decodeUnknownResult(commands[command].result as unknown as Schema.Decoder<unknown>);
    resultDecoders.set(command, decode);
  }
  return decode(value);
};

const defaultClientName = (): string => {
  try {
    return `ctl ${userInfo().username}@${hostname()}`;
  } catch {
    return `ctl @${hostname()}`;
  }
};

/** Connects and waits for the server's hello; rejects with `ControlRequestError` when refused. */
export const connectControl = (options: ControlClientOptions): Promise<ControlClient> =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const validate = options.validate ?? true;
    const socket = new WebSocket(options.url, [CONTROL_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${options.token}`, [CLIENT_HEADER]: options.client ?? defaultClientName() },
      handshakeTimeout: timeoutMs,
      maxPayload: 64 * 1024 * 1024,
    });
    const pending = new Map<string | number, { resolve: (frame: unknown) => void; timer: NodeJS.Timeout }>();
    const anyId: Array<{ resolve: (frame: unknown) => void; timer: NodeJS.Timeout }> = [];
    const listeners = new Set<(frame: EventFrame) => void>();
    let nextId = 1;
    let hello: HelloFrame | undefined;
    let closedInfo: { code: number; reason: string } | undefined;
    let onClosed: (info: { code: number; reason: string }) => void = () => {};
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      onClosed = done;
    });

    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      res.on("end", () => {
        let message = `server refused the connection: HTTP ${res.statusCode}`;
        let code: ControlRequestError["code"] = "disconnected";
        try {
          const parsed = JSON.parse(body) as { error?: { message?: string } };
          if (parsed.error?.message) message = `${message}: ${parsed.error.message}`;
        } catch {
          // Not our JSON body; the status says enough.
        }
        if (res.statusCode === 401) code = "forbidden";
        reject(new ControlRequestError({ code, message }));
        socket.terminate();
      });
    });
    socket.on("error", (error) => {
      if (hello === undefined) reject(new ControlRequestError({ code: "disconnected", message: `cannot connect to ${options.url}: ${error.message}` }));
    });
    socket.on("close", (code, reason) => {
      closedInfo = { code, reason: reason.toString("utf8") };
      const failure = new ControlRequestError({ code: "disconnected", message: `connection closed (${code}${closedInfo.reason ? `: ${closedInfo.reason}` : ""})` });
      for (const [, waiter] of pending) {
        clearTimeout(waiter.timer);
        waiter.resolve(failure);
      }
      pending.clear();
      for (const waiter of anyId.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve(failure);
      }
      if (hello === undefined) reject(failure);
      onClosed(closedInfo);
    });

    const deliver = (id: string | number | null, frame: unknown) => {
      const waiter = id === null ? undefined : pending.get(id);
      if (waiter !== undefined && id !== null) {
        pending.delete(id);
        clearTimeout(waiter.timer);
        return waiter.resolve(frame);
      }
      const any = anyId.shift();
      if (any !== undefined) {
        clearTimeout(any.timer);
        any.resolve(frame);
      }
    };

    socket.on("message", (data: WebSocket.RawData) => {
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (hello === undefined) {
        const decoded = decodeHello(json);
        if (Result.isFailure(decoded)) {
          reject(new ControlRequestError({ code: "bad_reply", message: `unexpected first frame: ${describeIssue(decoded.failure.issue, "")}` }));
          socket.terminate();
          return;
        }
        hello = decoded.success;
        return resolve(client);
      }
      if (validate && Result.isFailure(decodeFrame(json))) {
        const id = (json as { id?: string | number | null }).id ?? null;
        return deliver(id, new ControlRequestError({ code: "bad_reply", message: `frame does not match the protocol: ${JSON.stringify(json).slice(0, 200)}` }));
      }
      const frame = json as { type?: string; id?: string | number | null };
      if (frame.type === "event") {
        const event = validate ? decodeEvent(json) : Result.succeed(json as EventFrame);
        if (Result.isSuccess(event)) for (const listener of listeners) listener(event.success);
        return;
      }
      if ("id" in frame) deliver(frame.id ?? null, json);
    });

    const waitFor = (id: string | number | null) =>
      new Promise<unknown>((done) => {
        const timer = setTimeout(() => {
          if (id !== null) pending.delete(id);
          done(new ControlRequestError({ code: "client_timeout", message: `no reply within ${timeoutMs} ms` }));
        }, timeoutMs);
        if (id === null) anyId.push({ resolve: done, timer });
        else pending.set(id, { resolve: done, timer });
      });

    const client: ControlClient = {
      get hello() {
        return hello as HelloFrame;
      },
      request: async (command, params) => {
        if (closedInfo !== undefined) throw new ControlRequestError({ code: "disconnected", message: `connection closed (${closedInfo.code})` });
        const id = nextId++;
        const reply = waitFor(id);
        socket.send(JSON.stringify(params === undefined ? { id, command } : { id, command, params }));
        const frame = await reply;
        if (frame instanceof ControlRequestError) throw frame;
        const body = frame as { result?: unknown; error?: { code: ControlRequestError["code"]; message: string } };
        if (body.error !== undefined) throw new ControlRequestError(body.error);
        if (!validate) return body.result as never;
        const decoded = decodeResult(command, body.result);
        if (Result.isFailure(decoded)) {
          throw new ControlRequestError({ code: "bad_reply", message: `${command} result does not match the protocol: ${describeIssue(decoded.failure.issue, "result")}` });
        }
        return decoded.success as never;
      },
      sendRaw: async (frame, expectId = null) => {
        const reply = waitFor(expectId);
        socket.send(frame);
        return reply;
      },
      onEvent: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      closed,
      close: async () => {
        if (closedInfo !== undefined) return;
        socket.close(1000, "bye");
        await closed;
      },
      socket,
    };
  });
