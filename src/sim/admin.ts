import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, sendJson, type Route } from "./http-io.ts";
import { InputError } from "./input-reader.ts";
import { chatKinds, type ChatKind } from "./scenario.ts";
import type { FaultInput, Simulator } from "./simulator.ts";

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const json = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  const text = (await readBody(req)).toString("utf8");
  if (text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new HttpError(400, "body must be a JSON object");
  return v as Record<string, unknown>;
};

const str = (body: Record<string, unknown>, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new HttpError(400, `${key} must be text`);
  return v;
};

const num = (body: Record<string, unknown>, key: string): number | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new HttpError(400, `${key} must be a non-negative number`);
  return v;
};

/**
 * The control API under `/admin` (JSON in, JSON out), the same operations tests call on
 * the `Simulator` object, for the CLI, the demo and scripts:
 *
 * - `GET /admin` state; `GET /admin/irc/connections`; `GET /admin/uploads`
 * - `POST /admin/channels` add a channel (scenario shape)
 * - `POST /admin/channels/:login/live` `{"live":true,"title":…}`
 * - `POST /admin/channels/:login/vods` add a VOD (scenario shape)
 * - `POST /admin/channels/:login/chat` `{"rate":…,"offline":…,"offlineRate":…,"mix":{…},"chatters":…}`
 * - `POST /admin/channels/:login/chat/emit` `{"kind":"sub"}`; `POST /admin/channels/:login/chat/raw` `{"line":"…"}`
 * - `GET /admin/chat/sent?channel=&after=`; `DELETE /admin/chat/sent`
 * - `POST /admin/replay` `{"file":…,"channel":…,"rate":…,"loop":…}`
 * - `GET|POST|DELETE /admin/faults`, `DELETE /admin/faults/:id`
 * - `POST /admin/tokens` `{"login":…,"scopes":[…]}` issues a Twitch user token
 */
export const adminRoute = (sim: () => Simulator): Route => async (req, res, url) => {
  if (url.pathname !== "/admin" && !url.pathname.startsWith("/admin/")) return false;
  try {
    await dispatch(sim(), req, res, url);
  } catch (e) {
    if (e instanceof HttpError) sendJson(res, e.status, { error: e.message });
    else if (e instanceof InputError) sendJson(res, 400, { error: e.message, issues: e.issues });
    else sendJson(res, 400, { error: (e as Error).message });
  }
  return true;
};

const dispatch = async (sim: Simulator, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
  const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
  const method = req.method ?? "GET";
  const route = `${method} ${parts.map((p, i) => (parts[0] === "channels" && i === 1 ? ":login" : parts[0] === "faults" && i === 1 ? ":id" : p)).join("/")}`;
  switch (route) {
    case "GET ":
      return sendJson(res, 200, sim.state());
    case "GET irc/connections":
      return sendJson(res, 200, sim.ircConnections());
    case "GET uploads":
      return sendJson(res, 200, sim.uploads());
    case "POST channels":
      return sendJson(res, 201, sim.addChannel(await json(req)));
    case "POST channels/:login/live": {
      const body = await json(req);
      const live = body["live"];
      if (typeof live !== "boolean") throw new HttpError(400, "live must be true or false");
      const { live: _l, ...opts } = body;
      sim.setLive(parts[1]!, live, opts);
      return sendJson(res, 200, sim.state().channels.find((c) => c.login === parts[1]!.toLowerCase()));
    }
    case "POST channels/:login/vods":
      return sendJson(res, 201, sim.addVod(parts[1]!, await json(req)));
    case "POST channels/:login/chat": {
      const body = await json(req);
      const rate = num(body, "rate");
      const offline = body["offline"];
      if (offline !== undefined && typeof offline !== "boolean") throw new HttpError(400, "offline must be true or false");
      const offlineRate = num(body, "offlineRate");
      const chatters = num(body, "chatters");
      sim.setChatRate(parts[1]!, rate, {
        ...(offline !== undefined ? { offline } : {}),
        ...(offlineRate !== undefined ? { offlineRate } : {}),
        ...(body["mix"] !== undefined ? { mix: body["mix"] } : {}),
        ...(chatters !== undefined ? { chatters } : {}),
      });
      return sendJson(res, 200, sim.state().channels.find((c) => c.login === parts[1]!.toLowerCase()));
    }
    case "POST channels/:login/chat/emit": {
      const kind = str(await json(req), "kind");
      if (kind !== undefined && !(chatKinds as readonly string[]).includes(kind)) throw new HttpError(400, `kind must be one of ${chatKinds.join(", ")}`);
      sim.emitChat(parts[1]!, kind as ChatKind | undefined);
      return sendJson(res, 200, { ok: true });
    }
    case "POST channels/:login/chat/raw": {
      const line = str(await json(req), "line");
      if (line === undefined || line.includes("\n") || line.includes("\r")) throw new HttpError(400, "line must be one IRC line without CR/LF");
      return sendJson(res, 200, { receivers: sim.sendRaw(parts[1]!, line) });
    }
    case "GET chat/sent": {
      const channel = url.searchParams.get("channel") ?? undefined;
      const after = Number(url.searchParams.get("after") ?? "0");
      return sendJson(res, 200, sim.sentLines(channel, Number.isFinite(after) ? after : 0));
    }
    case "DELETE chat/sent":
      sim.clearSentLines();
      return sendJson(res, 200, { ok: true });
    case "POST replay": {
      const body = await json(req);
      const file = str(body, "file");
      if (file === undefined) throw new HttpError(400, "file is required");
      const channel = str(body, "channel");
      const rate = num(body, "rate");
      const loop = body["loop"] === true;
      const replay = await sim.startReplayFile(file, { ...(channel !== undefined ? { channel } : {}), ...(rate !== undefined ? { rate } : {}), loop });
      return sendJson(res, 202, { lines: replay.lines });
    }
    case "GET faults":
      return sendJson(res, 200, sim.faults());
    case "POST faults": {
      const body = await json(req);
      if (typeof body["kind"] !== "string") throw new HttpError(400, "kind is required");
      return sendJson(res, 201, { id: sim.injectFault(body as FaultInput) });
    }
    case "DELETE faults":
      sim.clearFaults();
      return sendJson(res, 200, { ok: true });
    case "DELETE faults/:id":
      if (!sim.clearFault(parts[1]!)) throw new HttpError(404, `no armed fault ${parts[1]}`);
      return sendJson(res, 200, { ok: true });
    case "POST tokens": {
      const body = await json(req);
      const login = str(body, "login");
      if (login === undefined) throw new HttpError(400, "login is required");
      const scopes = body["scopes"];
      if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string"))) throw new HttpError(400, "scopes must be a list of text");
      return sendJson(res, 201, sim.issueUserToken(login, scopes as string[] | undefined));
    }
    default:
      throw new HttpError(404, `no admin route ${method} ${url.pathname}`);
  }
};
