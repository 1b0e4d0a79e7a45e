/**
 * The admin API of the Go original, for the route table of `http-server.ts`:
 *
 * | Route | Does |
 * |---|---|
 * | `POST /admin/vod/scan?channel=` | asks the channel's catalog to scan now |
 * | `POST /admin/vod/catalog?channel=&max=&max_age_days=` | a catalog scan with its own limits |
 * | `POST\|PUT /admin/vod/priority` `{vod_id, priority}` | sets a VOD's priority |
 * | `GET /vods?channel=&limit=&offset=` | VODs, newest first (limit 1–200, default 50) |
 * | `GET /vods/{id}` | one VOD |
 * | `POST /vods/{id}/reprocess` | puts a VOD back in its queue |
 * | `POST /vods/{id}/cancel` | stops its download: 202 when one was running, else 204 |
 *
 * `{id}` is a Twitch VOD id, as in the Go original, or a row id (placeholders
 * have no Twitch id). Every route needs `ADMIN_TOKEN`, as `Authorization:
 * Bearer <token>` or Go's `X-Admin-Token` header. Without a configured token
 * every request is refused (403): the API is never open. Changes are written
 * to the audit log.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Effect, Redacted } from "effect";
import type { AuditStore } from "../services/repositories/audit.ts";
import type { VodRecord, VodStore } from "../services/repositories/vods.ts";
import type { Route, RouteHandler } from "./http-server.ts";
import { sendJson } from "./http-server.ts";

/** Limits of an on-demand catalog scan; absent fields take the channel's settings. */
export interface CatalogRequest {
  readonly max?: number | undefined;
  readonly maxAgeDays?: number | undefined;
}

/**
 * What the admin API needs from the running channels; the supervisor binds it.
 * `scan`/`catalog` answer false for a channel that is not running; `cancel`
 * answers whether a download of that VOD (row id) was running and is stopping.
 */
export interface VodControl {
  readonly scan: (channel: string) => Effect.Effect<boolean>;
  readonly catalog: (channel: string, request: CatalogRequest) => Effect.Effect<boolean>;
  readonly cancel: (vodId: number) => Effect.Effect<boolean>;
}

/** What the routes are built from. */
export interface AdminApiOptions {
  /** `ADMIN_TOKEN`; undefined refuses every request. */
  readonly adminToken: Redacted.Redacted<string> | undefined;
  readonly vods: VodStore;
  readonly control: VodControl;
  /** Where changes are recorded; nothing is recorded without it. */
  readonly audit?: AuditStore | undefined;
}

/** A VOD as the API shows it: the table's column names, as the Go original's JSON. */
export const vodJson = (vod: VodRecord) => ({
  id: vod.id,
  channel: vod.channel,
  twitch_vod_id: vod.twitchVodId,
  twitch_user_id: vod.twitchUserId,
  stream_id: vod.streamId,
  title: vod.title,
  description: vod.description,
  date: vod.date?.toISOString() ?? null,
  duration_seconds: vod.durationSeconds,
  url: vod.url,
  view_count: vod.viewCount,
  priority: vod.priority,
  processed: vod.processed,
  processing_error: vod.processingError,
  failed_permanently: vod.failedPermanently,
  skip_upload: vod.skipUpload,
  download_state: vod.downloadState,
  download_retries: vod.downloadRetries,
  download_bytes: vod.downloadBytes,
  download_total: vod.downloadTotal,
  progress: vod.progress,
  download_speed: vod.downloadSpeed,
  download_eta: vod.downloadEta,
  progress_updated_at: vod.progressUpdatedAt?.toISOString() ?? null,
  file_path: vod.filePath,
  file_size: vod.fileSize,
  sha256: vod.sha256,
  checksum_at: vod.checksumAt?.toISOString() ?? null,
  upload_retries: vod.uploadRetries,
  youtube_url: vod.youtubeUrl,
  uploaded_at: vod.uploadedAt?.toISOString() ?? null,
  last_error_at: vod.lastErrorAt?.toISOString() ?? null,
  next_attempt_at: vod.nextAttemptAt?.toISOString() ?? null,
  is_placeholder: vod.isPlaceholder,
  claimed_by: vod.claimedBy,
  created_at: vod.createdAt.toISOString(),
  updated_at: vod.updatedAt.toISOString(),
});

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** The token a request presents: `Authorization: Bearer`, else `X-Admin-Token`. */
export const presentedAdminToken = (req: IncomingMessage): string | undefined => {
  const header = req.headers.authorization;
  if (header !== undefined && /^bearer\s+/i.test(header)) {
    const token = header.replace(/^bearer\s+/i, "").trim();
    if (token !== "") return token;
  }
  const go = req.headers["x-admin-token"];
  const value = Array.isArray(go) ? go[0] : go;
  return value === undefined || value.trim() === "" ? undefined : value.trim();
};

/** Answers with the API's error shape, `{"error": {"code", "message"}}`. */
export const fail = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) => {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, status, { error: { code, message } });
};

/** Checks the request's token; answers 403/401 itself and returns false when it is not allowed. */
const authorized = (adminToken: Redacted.Redacted<string> | undefined, req: IncomingMessage, res: ServerResponse): boolean => {
  if (adminToken === undefined) {
    fail(res, 403, "admin_disabled", "the admin API is disabled: ADMIN_TOKEN is not set");
    return false;
  }
  const presented = presentedAdminToken(req);
  // Digests compare in constant time whatever the lengths.
  if (presented === undefined || !timingSafeEqual(digest(presented), digest(Redacted.value(adminToken)))) {
    fail(res, 401, "unauthorized", "a valid admin token is required (Authorization: Bearer or X-Admin-Token)", {
      "www-authenticate": 'Bearer realm="vod-tender admin"',
    });
    return false;
  }
  return true;
};

/** Wraps a handler so that it runs only for a request carrying `ADMIN_TOKEN`; the others get 403 or 401. */
export const adminGuard =
  (adminToken: Redacted.Redacted<string> | undefined) =>
  (handle: RouteHandler): RouteHandler =>
  async (req, res, params) => {
    if (!authorized(adminToken, req, res)) {
      req.resume();
      return;
    }
    await handle(req, res, params);
  };

/** The VOD a route names (`vods.find`: Twitch VOD id, else row id); answers 404 itself when there is none. */
export const findVodOr404 = async (vods: VodStore, res: ServerResponse, ref: string | undefined): Promise<VodRecord | undefined> => {
  const vod = ref === undefined || ref === "" ? undefined : await Effect.runPromise(vods.find(ref));
  if (vod === undefined) fail(res, 404, "not_found", `no VOD ${ref ?? ""}`);
  return vod;
};

const MAX_BODY = 64 * 1024;

const readJson = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolvePromise, reject) => {
    let size = 0;
    const chunks: Array<Buffer> = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (text === "") return resolvePromise(undefined);
      try {
        resolvePromise(JSON.parse(text));
      } catch {
        reject(new Error("body is not JSON"));
      }
    });
    req.on("error", reject);
  });

const queryOf = (req: IncomingMessage) => new URL(req.url ?? "/", "http://admin").searchParams;

/** A non-negative integer parameter, undefined when absent, or an error text. */
const intParam = (value: string | null | undefined, name: string): number | undefined | string => {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  return /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : `${name} must be a non-negative integer`;
};

const describeCaller = (req: IncomingMessage): string => `admin from ${req.socket.remoteAddress ?? "unknown address"}`;

/** The admin routes; see the module comment. */
export const adminRoutes = (options: AdminApiOptions): ReadonlyArray<Route> => {
  const { vods, control } = options;
  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect);

  const audit = (req: IncomingMessage, action: string, fields: { channel?: string; target?: string; params?: Record<string, string | number>; result: string; error?: string }) =>
    options.audit === undefined
      ? Promise.resolve()
      : run(
          options.audit.record({ actor: describeCaller(req), action, ...fields }).pipe(
            Effect.asVoid,
            Effect.catch((error) => Effect.logWarning(`cannot write the audit log: ${error.message}`)),
          ),
        );

  const guarded = adminGuard(options.adminToken);

  const findVod = (res: ServerResponse, ref: string | undefined) => findVodOr404(vods, res, ref);

  const channelParam = (req: IncomingMessage, res: ServerResponse): string | undefined => {
    const channel = queryOf(req).get("channel")?.trim().toLowerCase();
    if (channel === undefined || channel === "") {
      fail(res, 400, "bad_request", "channel is required");
      return undefined;
    }
    return channel;
  };

  const scan: Route["handle"] = async (req, res) => {
    const channel = channelParam(req, res);
    if (channel === undefined) return;
    const accepted = await run(control.scan(channel));
    await audit(req, "vod.scan", { channel, result: accepted ? "ok" : "rejected", ...(accepted ? {} : { error: "channel not running" }) });
    if (!accepted) return fail(res, 404, "not_found", `channel ${channel} is not running`);
    sendJson(res, 202, { status: "scan requested", channel });
  };

  const catalog: Route["handle"] = async (req, res) => {
    const channel = channelParam(req, res);
    if (channel === undefined) return;
    const query = queryOf(req);
    const max = intParam(query.get("max"), "max");
    const maxAgeDays = intParam(query.get("max_age_days"), "max_age_days");
    if (typeof max === "string") return fail(res, 400, "bad_request", max);
    if (typeof maxAgeDays === "string") return fail(res, 400, "bad_request", maxAgeDays);
    const accepted = await run(control.catalog(channel, { max, maxAgeDays }));
    const params = { ...(max === undefined ? {} : { max }), ...(maxAgeDays === undefined ? {} : { max_age_days: maxAgeDays }) };
    await audit(req, "vod.catalog", { channel, params, result: accepted ? "ok" : "rejected", ...(accepted ? {} : { error: "channel not running" }) });
    if (!accepted) return fail(res, 404, "not_found", `channel ${channel} is not running`);
    sendJson(res, 202, { status: "catalog scan requested", channel, ...params });
  };

  const priority: Route["handle"] = async (req, res) => {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (error) {
      return fail(res, 400, "bad_request", (error as Error).message);
    }
    const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const ref = typeof fields["vod_id"] === "string" || typeof fields["vod_id"] === "number" ? String(fields["vod_id"]) : undefined;
    const value = fields["priority"];
    if (ref === undefined) return fail(res, 400, "bad_request", "vod_id is required");
    if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > 1_000_000) {
      return fail(res, 400, "bad_request", "priority must be an integer between -1000000 and 1000000");
    }
    const vod = await findVod(res, ref);
    if (vod === undefined) return;
    const updated = await run(vods.setPriority(vod.id, value));
    await audit(req, "vod.priority", { channel: vod.channel, target: String(vod.id), params: { priority: value }, result: "ok" });
    sendJson(res, 200, updated === undefined ? vodJson(vod) : vodJson(updated));
  };

  const list: Route["handle"] = async (req, res) => {
    const query = queryOf(req);
    const limit = intParam(query.get("limit"), "limit");
    const offset = intParam(query.get("offset"), "offset");
    if (typeof limit === "string") return fail(res, 400, "bad_request", limit);
    if (typeof offset === "string") return fail(res, 400, "bad_request", offset);
    const channel = query.get("channel")?.trim().toLowerCase() || undefined;
    const page = await run(vods.list({ channel, limit, offset }));
    const shownLimit = Math.min(200, Math.max(1, limit ?? 50));
    sendJson(res, 200, { items: page.items.map(vodJson), total: page.total, limit: shownLimit, offset: offset ?? 0 });
  };

  const detail: Route["handle"] = async (_req, res, params) => {
    const vod = await findVod(res, params["id"]);
    if (vod !== undefined) sendJson(res, 200, vodJson(vod));
  };

  const reprocess: Route["handle"] = async (req, res, params) => {
    const vod = await findVod(res, params["id"]);
    if (vod === undefined) return;
    if (vod.isPlaceholder) return fail(res, 409, "conflict", "a placeholder of a live stream has nothing to process yet");
    const updated = await run(vods.reprocess(vod.id));
    await audit(req, "vod.reprocess", { channel: vod.channel, target: String(vod.id), result: "ok" });
    // The processor picks it up on its next look; a scan wakes it now.
    await run(control.scan(vod.channel));
    sendJson(res, 202, vodJson(updated ?? vod));
  };

  const cancel: Route["handle"] = async (req, res, params) => {
    const vod = await findVod(res, params["id"]);
    if (vod === undefined) return;
    const stopping = await run(control.cancel(vod.id));
    await audit(req, "vod.cancel", { channel: vod.channel, target: String(vod.id), result: stopping ? "ok" : "not-running" });
    if (!stopping) {
      res.writeHead(204).end();
      return;
    }
    sendJson(res, 202, { status: "canceling", id: vod.id, twitch_vod_id: vod.twitchVodId });
  };

  const vodPath = /^\/vods\/(?<id>[^/]+)$/;
  return [
    { method: "POST", path: "/admin/vod/scan", handle: guarded(scan) },
    { method: "POST", path: "/admin/vod/catalog", handle: guarded(catalog) },
    { method: "POST", path: "/admin/vod/priority", handle: guarded(priority) },
    { method: "PUT", path: "/admin/vod/priority", handle: guarded(priority) },
    { method: "GET", path: "/vods", handle: guarded(list) },
    { method: "GET", path: vodPath, handle: guarded(detail) },
    { method: "POST", path: /^\/vods\/(?<id>[^/]+)\/reprocess$/, handle: guarded(reprocess) },
    { method: "POST", path: /^\/vods\/(?<id>[^/]+)\/cancel$/, handle: guarded(cancel) },
  ];
};
