/**
 * `vod-tender ctl`: the `/control` commands from a terminal. Human-readable
 * output by default, `--json` for scripts (one JSON document per result, one
 * line per event with `watch`). The token comes from `CONTROL_TOKEN` or the file
 * the server wrote in `$DATA_DIR`; the address from `--url` or `HTTP_ADDR`.
 *
 * Exit codes: 0 done, 1 the server refused the command, 2 usage error,
 * 3 cannot connect or authenticate.
 */
import { writeFile } from "node:fs/promises";
import { Effect, Redacted } from "effect";
import { connectControl, ControlRequestError } from "./control-client.ts";
import type { ControlClient } from "./control-client.ts";
import { eventTopics } from "./control-protocol.ts";
import type { ChannelStatus, ChatHit, ChatPage, CommandName, ControlEvent, EventTopic, ReloadReport, VodSummary } from "./control-protocol.ts";
import { readClientToken } from "./control-token.ts";
import { parseListenAddress } from "./http-server.ts";

/** Where ctl reads its environment and writes its output (tests pass their own). */
export interface CtlIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Ends `watch`; defaults to SIGINT/SIGTERM. */
  readonly stop?: AbortSignal;
}

const usage = `Usage: vod-tender ctl [--url ws://HOST:PORT/control] [--json] [--timeout MS] COMMAND

Channels
  channels list                         every channel with its state
  channels status [NAME]                one channel (or all) in detail
  channels add NAME [--paused] [--set KEY=VALUE]...
  channels remove NAME
  channels pause NAME | channels resume NAME
  channels update NAME --set KEY=VALUE...   e.g. --set chat=always --set catalog.interval=6h
VODs
  vods list [--channel NAME] [--limit N] [--offset N]
  vods scan [CHANNEL]                   wake the processors now
  vods catalog CHANNEL                  scan the channel's Twitch VODs now
  vods reprocess ID | vods cancel ID | vods prioritize ID PRIORITY
Other
  breaker reset CHANNEL
  chat search WORDS... [--channel NAME] [--vod ID] [--limit N]
  chat vod ID [--from T] [--to T] [--limit N]
                                        a VOD's chat in order, with its gaps (T: seconds or h:mm:ss)
  chat export ID [--out FILE]          the VOD's chat as a TwitchDownloader file (over HTTP: needs ADMIN_TOKEN)
  config reload                         re-read the channels file now
  watch [--topic TOPIC]... [--channel NAME]... [--count N]
                                        stream events (topics: ${eventTopics.join(", ")})
  send COMMAND [PARAMS-JSON]            any protocol command, raw

The token is CONTROL_TOKEN, else $DATA_DIR/control-token (DATA_DIR defaults to ./data).
The address is --url, else HTTP_ADDR (default 127.0.0.1:8080).`;

class UsageError extends Error {}

interface Parsed {
  readonly positionals: Array<string>;
  readonly flags: Map<string, Array<string>>;
}

const booleanFlags = new Set(["json", "paused", "help"]);

const parseArgs = (argv: ReadonlyArray<string>): Parsed => {
  const positionals: Array<string> = [];
  const flags = new Map<string, Array<string>>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h") {
      flags.set("help", ["true"]);
      continue;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (booleanFlags.has(name)) value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags };
};

const flag = (parsed: Parsed, name: string): string | undefined => parsed.flags.get(name)?.at(-1);
const flagInt = (parsed: Parsed, name: string): number | undefined => {
  const value = flag(parsed, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} expects an integer, got "${value}"`);
  return n;
};
/** An offset into a VOD: seconds (`754.5`) or a clock time (`12:34`, `1:02:03`). */
const flagOffset = (parsed: Parsed, name: string): number | undefined => {
  const value = flag(parsed, name);
  if (value === undefined) return undefined;
  const clock = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  const seconds = clock === null ? Number(value) : Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--${name} expects seconds or h:mm:ss into the VOD, got "${value}"`);
  }
  return seconds;
};
const positionalInt = (value: string | undefined, what: string): number => {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n)) throw new UsageError(`expected ${what} (an integer)${value === undefined ? "" : `, got "${value}"`}`);
  return n;
};
const required = (value: string | undefined, what: string): string => {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
};

/** `--set a.b=value` pairs as a nested settings patch; the server validates the values. */
export const settingsFromFlags = (pairs: ReadonlyArray<string>): Record<string, unknown> => {
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, got "${pair}"`);
    const path = pair.slice(0, eq).split(".");
    const raw = pair.slice(eq + 1);
    const value: unknown = raw === "true" ? true : raw === "false" ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
    let node = patch;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = (typeof child === "object" && child !== null ? child : (node[key] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return patch;
};

/** The command and params a command line means. */
export const requestFromArgs = (parsed: Parsed): { command: CommandName | "watch" | "chat.export"; params: Record<string, unknown> } => {
  const [group, verb, ...rest] = parsed.positionals;
  const settings = parsed.flags.has("set") ? { settings: settingsFromFlags(parsed.flags.get("set") ?? []) } : {};
  const opt = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
  switch (group) {
    case "channels":
      switch (verb) {
        case "list":
          return { command: "channels.list", params: {} };
        case "status":
          return { command: "channels.status", params: opt("name", rest[0]) };
        case "add":
          return { command: "channels.add", params: { name: required(rest[0], "channel name"), ...(parsed.flags.has("paused") ? { paused: true } : {}), ...settings } };
        case "remove":
        case "pause":
        case "resume":
          return { command: `channels.${verb}`, params: { name: required(rest[0], "channel name") } };
        case "update":
          if (!parsed.flags.has("set")) throw new UsageError("channels update needs at least one --set KEY=VALUE");
          return { command: "channels.update", params: { name: required(rest[0], "channel name"), ...settings } };
      }
      break;
    case "vods":
      switch (verb) {
        case "list":
          return {
            command: "vods.list",
            params: { ...opt("channel", flag(parsed, "channel")), ...opt("limit", flagInt(parsed, "limit")), ...opt("offset", flagInt(parsed, "offset")) },
          };
        case "scan":
          return { command: "vods.scan", params: opt("channel", rest[0]) };
        case "catalog":
          return { command: "vods.catalog", params: { channel: required(rest[0], "channel name") } };
        case "reprocess":
        case "cancel":
          return { command: `vods.${verb}`, params: { id: positionalInt(rest[0], "a VOD id") } };
        case "prioritize":
          return { command: "vods.prioritize", params: { id: positionalInt(rest[0], "a VOD id"), priority: positionalInt(rest[1], "a priority") } };
      }
      break;
    case "breaker":
      if (verb === "reset") return { command: "breaker.reset", params: { channel: required(rest[0], "channel name") } };
      break;
    case "chat":
      if (verb === "search") {
        const query = rest.join(" ").trim();
        if (query === "") throw new UsageError("chat search needs words to find");
        return { command: "chat.search", params: { query, ...opt("channel", flag(parsed, "channel")), ...opt("vodId", flagInt(parsed, "vod")), ...opt("limit", flagInt(parsed, "limit")) } };
      }
      if (verb === "export") return { command: "chat.export", params: { id: positionalInt(rest[0], "a VOD id"), ...opt("out", flag(parsed, "out")) } };
      if (verb === "vod") {
        return {
          command: "chat.vod",
          params: { id: positionalInt(rest[0], "a VOD id"), ...opt("from", flagOffset(parsed, "from")), ...opt("to", flagOffset(parsed, "to")), ...opt("limit", flagInt(parsed, "limit")) },
        };
      }
      break;
    case "config":
      if (verb === "reload") return { command: "config.reload", params: {} };
      break;
    case "watch":
      return { command: "watch", params: {} };
    case "send": {
      const command = required(verb, "command");
      let params: unknown = {};
      if (rest[0] !== undefined) {
        try {
          params = JSON.parse(rest[0]);
        } catch {
          throw new UsageError(`PARAMS-JSON is not valid JSON: ${rest[0]}`);
        }
      }
      return { command: command as CommandName, params: params as Record<string, unknown> };
    }
  }
  throw new UsageError(group === undefined ? "missing command" : `unknown command "${[group, verb].filter(Boolean).join(" ")}"`);
};

// ---------------------------------------------------------------------------
// Output

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
};

const channelRows = (channels: ReadonlyArray<ChannelStatus>) =>
  table(
    ["NAME", "SOURCE", "STATE", "BREAKER", "CHILDREN", "DOWNLOAD", "CHAT/MIN", "RESTARTS"],
    channels.map((c) => [
      c.name,
      c.source,
      c.state,
      c.breaker ?? "-",
      Object.entries(c.children)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ") || "-",
      c.download === null ? "-" : `${c.download.vodId}:${c.download.percent === null ? "?" : c.download.percent.toFixed(1)}%`,
      c.chatRate === null ? "-" : String(Math.round(c.chatRate)),
      String(c.restarts),
    ]),
  );

const vodRows = (vods: ReadonlyArray<VodSummary>) =>
  table(
    ["ID", "CHANNEL", "DATE", "PRI", "DONE", "STATE", "TITLE"],
    vods.map((v) => [String(v.id), v.channel, v.date?.slice(0, 16) ?? "-", String(v.priority), v.processed ? "yes" : "no", v.downloadState ?? "-", v.title ?? ""]),
  );

const reloadText = (r: ReloadReport) => {
  if (!r.ok) return `channels file rejected; the running configuration is kept:\n${r.errors.map((e) => `  ${e.message}`).join("\n")}`;
  const list = (label: string, names: ReadonlyArray<string>) => (names.length === 0 ? [] : [`${label}: ${names.join(", ")}`]);
  const lines = [...list("added", r.added), ...list("removed", r.removed), ...list("updated", r.updated), ...r.failed.map((f) => `failed ${f.channel}: ${f.message}`)];
  return lines.length === 0 ? "no changes" : lines.join("\n");
};

const humanResult = (command: CommandName, result: unknown, params: Record<string, unknown>): string => {
  const r = result as Record<string, unknown>;
  switch (command) {
    case "channels.list":
    case "channels.status":
      return channelRows(r["channels"] as ReadonlyArray<ChannelStatus>);
    case "channels.add":
    case "channels.pause":
    case "channels.resume":
    case "channels.update": {
      const c = r["channel"] as ChannelStatus;
      return `${c.name}: ${c.state} (source ${c.source}${c.paused ? ", paused" : ""})`;
    }
    case "channels.remove":
      return `removed ${String(r["removed"])}`;
    case "vods.list": {
      const vods = r["vods"] as ReadonlyArray<VodSummary>;
      return `${vodRows(vods)}\n(${vods.length} of ${String(r["total"])})`;
    }
    case "vods.reprocess":
    case "vods.prioritize":
      return vodRows([r["vod"] as VodSummary]);
    case "vods.scan":
      return `woke ${(r["channels"] as ReadonlyArray<string>).length} channel(s)`;
    case "vods.catalog":
      return `${String(r["channel"])}: catalog scan started`;
    case "vods.cancel":
      return r["cancelled"] ? "download cancelled" : "nothing was downloading";
    case "chat.search":
      // Where each hit is in its VOD, as `chat vod` takes it.
      return (r["messages"] as ReadonlyArray<ChatHit>)
        .map(
          (m) =>
            `${m.at.slice(0, 19).replace("T", " ")} #${m.channel} ${m.username ?? "?"}: ${m.message}` +
            (m.vodId === null ? "" : `  [vod ${m.vodId}${m.offsetSeconds === null ? "" : ` at ${clockTime(m.offsetSeconds)}`}]`),
        )
        .join("\n");
    case "chat.vod":
      return vodChatText(result as ChatPage, typeof params["to"] === "number" ? params["to"] : undefined);
    case "config.reload":
      return reloadText(result as ReloadReport);
    default:
      return JSON.stringify(result, null, 2);
  }
};

/** `1:02:03.4` style, for offsets into a VOD. */
export const clockTime = (seconds: number): string => {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const tenths = Math.floor((seconds - whole) * 10);
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}${tenths > 0 ? `.${tenths}` : ""}`;
};

/** A VOD's chat page: its lines in order with the gaps that fall among them, then the command for the next page (within `to`). */
export const vodChatText = (page: ChatPage, to?: number): string => {
  const lines: Array<{ readonly at: number; readonly text: string }> = page.messages.map((m) => ({
    at: m.offsetSeconds ?? 0,
    text: `[${m.offsetSeconds === null ? "?" : clockTime(m.offsetSeconds)}] ${m.username ?? "?"}: ${m.message}${m.deletedAt === null ? "" : "  (deleted)"}`,
  }));
  const first = page.messages[0]?.offsetSeconds ?? null;
  const last = page.messages.at(-1)?.offsetSeconds ?? null;
  for (const g of page.gaps) {
    // The gaps that overlap this page's span; all of them when the page is empty.
    const inPage = first === null || last === null || ((g.toSeconds ?? Number.POSITIVE_INFINITY) >= first && (g.fromSeconds ?? 0) <= last);
    if (!inPage) continue;
    const span = `${g.fromSeconds === null ? "?" : clockTime(g.fromSeconds)}–${g.toSeconds === null ? "now" : clockTime(g.toSeconds)}`;
    lines.push({ at: g.fromSeconds ?? 0, text: `-- not recorded ${span} (${g.reason}) --` });
  }
  lines.sort((a, b) => a.at - b.at);
  if (lines.length === 0) lines.push({ at: 0, text: `no chat in this window of VOD ${page.vodId}` });
  if (page.nextFrom !== null) {
    lines.push({ at: Number.POSITIVE_INFINITY, text: `-- more: vod-tender ctl chat vod ${page.vodId} --from ${page.nextFrom}${to === undefined ? "" : ` --to ${to}`} --` });
  }
  return lines.map((l) => l.text).join("\n");
};

/**
 * `chat export`: the file comes from the HTTP route `GET /vods/{id}/chat/export`
 * (a busy VOD's chat is tens of megabytes, more than a control reply may hold),
 * which takes `ADMIN_TOKEN`, on the same address as `/control`.
 */
const exportChat = async (controlUrl: string, params: Record<string, unknown>, out: CtlIo): Promise<number> => {
  const adminToken = out.env["ADMIN_TOKEN"]?.trim();
  if (adminToken === undefined || adminToken === "") {
    out.stderr("ctl: chat export reads GET /vods/{id}/chat/export, which needs ADMIN_TOKEN; set it as the archiver has it\n");
    return 2;
  }
  const url = new URL(`/vods/${String(params["id"])}/chat/export`, controlUrl.replace(/^ws/, "http"));
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } });
  } catch (error) {
    out.stderr(`ctl: cannot reach ${url.origin}: ${(error as Error).message}\n`);
    return 3;
  }
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
      if (parsed.error?.message !== undefined) message = `${parsed.error.code ?? response.status}: ${parsed.error.message}`;
    } catch {
      // Not the API's error shape: the body as it came.
    }
    out.stderr(`error: ${message}\n`);
    return response.status === 401 || response.status === 403 ? 3 : 1;
  }
  const file = params["out"];
  if (typeof file !== "string") {
    out.stdout(body.endsWith("\n") ? body : `${body}\n`);
    return 0;
  }
  try {
    await writeFile(file, body);
  } catch (error) {
    out.stderr(`ctl: cannot write ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  const comments = (JSON.parse(body) as { comments?: ReadonlyArray<unknown> }).comments?.length ?? 0;
  out.stdout(`${comments} messages written to ${file}\n`);
  return 0;
};

/** One event as a terminal line. */
export const eventLine = (event: ControlEvent): string => {
  const at = event.at.slice(11, 23);
  const where = event.channel ?? "-";
  switch (event.topic) {
    case "transition":
      return `${at} transition ${where} ${event.actor}: ${event.from ?? "-"} -> ${event.to}`;
    case "restart":
      return `${at} restart    ${where} ${event.actor} attempt ${event.attempt}: ${event.reason}`;
    case "progress":
      return `${at} progress   ${where} vod ${event.vodId} ${event.percent === null ? "?" : event.percent.toFixed(1)}% ${event.bytes} bytes`;
    case "chat_rate":
      return `${at} chat_rate  ${where} ${event.perMinute}/min`;
    case "error":
      return `${at} error      ${where} ${event.actor ?? ""} ${event.message}`;
    case "channel":
      return `${at} channel    ${where} ${event.change}${event.source === undefined ? "" : ` (${event.source})`}`;
    case "config":
      return `${at} config     ${event.trigger}: ${reloadText(event.report).replace(/\n/g, "; ")}`;
  }
};

// ---------------------------------------------------------------------------
// Running

const controlUrl = (parsed: Parsed, env: CtlIo["env"]): string => {
  const given = flag(parsed, "url");
  if (given !== undefined) return given;
  const { host, port } = parseListenAddress(env["HTTP_ADDR"] ?? "127.0.0.1:8080");
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `ws://${shown}:${port}/control`;
};

const watch = async (client: ControlClient, parsed: Parsed, json: boolean, io: CtlIo): Promise<number> => {
  const topics = parsed.flags.get("topic");
  for (const topic of topics ?? []) {
    if (!eventTopics.includes(topic as EventTopic)) throw new UsageError(`unknown topic "${topic}"; topics: ${eventTopics.join(", ")}`);
  }
  const channels = parsed.flags.get("channel");
  const count = flagInt(parsed, "count");
  let seen = 0;
  return new Promise<number>((resolve, reject) => {
    const stop = () => {
      void client.close().then(() => resolve(0));
    };
    client.onEvent((frame) => {
      if (count !== undefined && seen >= count) return;
      io.stdout(`${json ? JSON.stringify(frame.event) : eventLine(frame.event)}\n`);
      seen += 1;
      if (count !== undefined && seen >= count) stop();
    });
    io.stop?.addEventListener("abort", stop, { once: true });
    void client.closed.then((info) => {
      if (info.code !== 1000) {
        io.stderr(`connection closed (${info.code}${info.reason ? `: ${info.reason}` : ""})\n`);
        resolve(3);
      }
    });
    client
      .request("subscribe", { ...(topics === undefined ? {} : { topics: topics as Array<EventTopic> }), ...(channels === undefined ? {} : { channels }) })
      .catch(reject);
  });
};

/** Runs `ctl` with its arguments; resolves with the exit code. */
export const runCtl = async (argv: ReadonlyArray<string>, io?: CtlIo): Promise<number> => {
  const controller = new AbortController();
  const out: CtlIo = io ?? {
    env: process.env,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stop: controller.signal,
  };
  const onSignal = () => controller.abort();
  if (io === undefined) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    let parsed: Parsed;
    let request: ReturnType<typeof requestFromArgs>;
    try {
      parsed = parseArgs(argv);
      if (parsed.flags.has("help") || parsed.positionals[0] === "help") {
        out.stdout(`${usage}\n`);
        return 0;
      }
      request = requestFromArgs(parsed);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      out.stderr(`ctl: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    const json = parsed.flags.has("json");
    const timeoutMs = flagInt(parsed, "timeout") ?? 30_000;
    let url: string;
    try {
      url = controlUrl(parsed, out.env);
    } catch (error) {
      out.stderr(`ctl: ${(error as Error).message}\n`);
      return 2;
    }
    if (request.command === "chat.export") return await exportChat(url, request.params, out);
    const token = await Effect.runPromise(
      Effect.result(readClientToken({ env: out.env["CONTROL_TOKEN"], dataDir: out.env["DATA_DIR"] ?? "./data" })),
    );
    if (token._tag === "Failure") {
      out.stderr(`ctl: ${token.failure.message}\n`);
      return 3;
    }
    let client: ControlClient;
    try {
      client = await connectControl({ url, token: Redacted.value(token.success), timeoutMs });
    } catch (error) {
      out.stderr(`ctl: ${(error as Error).message}\n`);
      return 3;
    }
    try {
      if (request.command === "watch") return await watch(client, parsed, json, out);
      const result = await client.request(request.command, request.params as never);
      out.stdout(`${json ? JSON.stringify(result) : humanResult(request.command, result, request.params)}\n`);
      // A reload that was refused is a failed command for scripts too.
      return request.command === "config.reload" && !(result as ReloadReport).ok ? 1 : 0;
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`ctl: ${error.message}\n`);
        return 2;
      }
      if (error instanceof ControlRequestError) {
        if (json) out.stdout(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
        out.stderr(`error: ${error.code}: ${error.message}\n`);
        return error.code === "disconnected" || error.code === "client_timeout" ? 3 : 1;
      }
      throw error;
    } finally {
      await client.close();
    }
  } finally {
    if (io === undefined) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
};
