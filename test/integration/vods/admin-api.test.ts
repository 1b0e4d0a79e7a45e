import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRoutes, type CatalogRequest, type VodControl } from "../../../src/runtime/admin-api.ts";
import { serveHttp } from "../../../src/runtime/http-server.ts";
import { AuditRepository } from "../../../src/services/repositories/audit.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";
import { clientLayer, insertVod } from "./vod-fixtures.ts";

const TOKEN = "s3cret-admin-token";

/** The running channels as the admin API sees them: two channels, one download of VOD `running` in progress. */
interface ControlCalls {
  readonly scans: Array<string>;
  readonly catalogs: Array<[string, CatalogRequest]>;
  readonly cancels: Array<number>;
}

let database: TestDatabase;
let scope: Scope.Closeable;
let sql: SqlClient;
let url = "";
let openUrl = "";
const calls: ControlCalls = { scans: [], catalogs: [], cancels: [] };
const ids: Record<string, number> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  scope = Effect.runSync(Scope.make());
  const context = await Effect.runPromise(
    Layer.buildWithScope(Layer.mergeAll(VodsRepository.layer, AuditRepository.layer).pipe(Layer.provideMerge(clientLayer(database.url, true))), scope),
  );
  sql = Context.get(context, SqlClient);
  const vods = Context.get(context, VodsRepository);
  const audit = Context.get(context, AuditRepository);
  const running = new Set(["alpha", "bravo"]);
  const control: VodControl = {
    scan: (channel) => Effect.sync(() => (calls.scans.push(channel), running.has(channel))),
    catalog: (channel, request) => Effect.sync(() => (calls.catalogs.push([channel, request]), running.has(channel))),
    cancel: (vodId) => Effect.sync(() => (calls.cancels.push(vodId), vodId === ids["running"])),
  };
  const provide = Effect.provideService(SqlClient, sql);
  for (let i = 0; i < 5; i++) ids[`alpha${i}`] = await Effect.runPromise(insertVod({ channel: "alpha", twitch_vod_id: `55${i}`, date: new Date(Date.UTC(2024, 0, 1 + i)) }).pipe(provide));
  ids["bravo"] = await Effect.runPromise(insertVod({ channel: "bravo", twitch_vod_id: "660", failed_permanently: true, download_state: "failed" }).pipe(provide));
  ids["running"] = await Effect.runPromise(insertVod({ channel: "bravo", twitch_vod_id: "661", download_state: "downloading" }).pipe(provide));
  ids["placeholder"] = await Effect.runPromise(insertVod({ channel: "bravo", twitch_vod_id: null, is_placeholder: true, stream_id: "s9" }).pipe(provide));
  const routes = adminRoutes({ adminToken: Redacted.make(TOKEN), vods, control, audit });
  url = (await Effect.runPromise(Scope.provide(scope)(serveHttp({ address: "127.0.0.1:0", routes })))).url;
  const closed = adminRoutes({ adminToken: undefined, vods, control, audit });
  openUrl = (await Effect.runPromise(Scope.provide(scope)(serveHttp({ address: "127.0.0.1:0", routes: closed })))).url;
});
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void));
  await database?.drop();
});

const call = async (path: string, init: RequestInit & { readonly token?: string | null; readonly base?: string } = {}) => {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TOKEN}`);
  const response = await fetch(`${init.base ?? url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>) };
};

describe("admin API", () => {
  it("refuses every route with 403 while ADMIN_TOKEN is unset, whatever is presented", async () => {
    for (const [method, path] of [
      ["GET", "/vods"],
      ["GET", "/vods/550"],
      ["POST", "/vods/550/reprocess"],
      ["POST", "/vods/550/cancel"],
      ["POST", "/admin/vod/scan?channel=alpha"],
      ["POST", "/admin/vod/catalog?channel=alpha"],
      ["POST", "/admin/vod/priority"],
    ] as const) {
      const response = await call(path, { method, base: openUrl, token: TOKEN });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body).toMatchObject({ error: { code: "admin_disabled" } });
    }
    expect(calls.scans).toEqual([]);
  });

  it("wants the token as Bearer or X-Admin-Token; anything else is 401", async () => {
    expect((await call("/vods", { token: null })).status).toBe(401);
    const wrong = await call("/vods", { token: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await call("/vods", { token: `${TOKEN}x` })).status).toBe(401);
    expect((await call("/vods", { token: null, headers: { "x-admin-token": TOKEN } })).status).toBe(200);
    expect((await call("/vods")).status).toBe(200);
  });

  it("lists VODs newest first with paging and a channel filter", async () => {
    const page = await call("/vods?channel=alpha&limit=2&offset=1");
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 5, limit: 2, offset: 1 });
    expect((page.body?.["items"] as Array<{ twitch_vod_id: string }>).map((v) => v.twitch_vod_id)).toEqual(["553", "552"]);
    const all = await call("/vods?limit=500");
    expect(all.body).toMatchObject({ total: 8, limit: 200 });
    expect((await call("/vods?limit=ten")).status).toBe(400);
  });

  it("shows one VOD by Twitch id or by row id, 404 for neither", async () => {
    const byTwitch = await call("/vods/551");
    expect(byTwitch.body).toMatchObject({ id: ids["alpha1"], channel: "alpha", twitch_vod_id: "551", processed: false });
    const byRow = await call(`/vods/${ids["placeholder"]}`);
    expect(byRow.body).toMatchObject({ is_placeholder: true, stream_id: "s9", twitch_vod_id: null });
    expect((await call("/vods/does-not-exist")).status).toBe(404);
  });

  it("sets a priority from Go's {vod_id, priority} body", async () => {
    const set = await call("/admin/vod/priority", { method: "POST", body: JSON.stringify({ vod_id: "552", priority: 9 }) });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ twitch_vod_id: "552", priority: 9 });
    expect((await call("/admin/vod/priority", { method: "PUT", body: JSON.stringify({ vod_id: 552, priority: 1 }) })).body).toMatchObject({ priority: 1 });
    expect((await call("/admin/vod/priority", { method: "POST", body: JSON.stringify({ vod_id: "552", priority: "high" }) })).status).toBe(400);
    expect((await call("/admin/vod/priority", { method: "POST", body: "{" })).status).toBe(400);
    expect((await call("/admin/vod/priority", { method: "POST", body: JSON.stringify({ vod_id: "0", priority: 1 }) })).status).toBe(404);
  });

  it("reprocess puts a failed VOD back in its queue and wakes its channel", async () => {
    const response = await call("/vods/660/reprocess", { method: "POST" });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ failed_permanently: false, download_state: null, processed: false, processing_error: null });
    expect(calls.scans).toContain("bravo");
    expect((await call(`/vods/${ids["placeholder"]}/reprocess`, { method: "POST" })).status).toBe(409);
  });

  it("cancel answers 202 for a running download and 204 otherwise", async () => {
    const running = await call("/vods/661/cancel", { method: "POST" });
    expect(running.status).toBe(202);
    expect(running.body).toMatchObject({ status: "canceling", id: ids["running"] });
    const idle = await call("/vods/550/cancel", { method: "POST" });
    expect(idle.status).toBe(204);
    expect(calls.cancels).toEqual([ids["running"], ids["alpha0"]]);
  });

  it("scan and catalog reach the channel's actors with their limits", async () => {
    expect((await call("/admin/vod/scan?channel=Alpha", { method: "POST" })).status).toBe(202);
    expect((await call("/admin/vod/scan", { method: "POST" })).status).toBe(400);
    expect((await call("/admin/vod/scan?channel=nobody", { method: "POST" })).status).toBe(404);
    const catalog = await call("/admin/vod/catalog?channel=alpha&max=20&max_age_days=3", { method: "POST" });
    expect(catalog.status).toBe(202);
    expect(calls.catalogs).toEqual([["alpha", { max: 20, maxAgeDays: 3 }]]);
    expect((await call("/admin/vod/catalog?channel=alpha&max=-1", { method: "POST" })).status).toBe(400);
  });

  it("records every change in the audit log", async () => {
    const rows = await Effect.runPromise(sql<{ readonly action: string; readonly channel: string; readonly result: string }>`
      SELECT action, channel, result FROM audit_log ORDER BY id`);
    const actions = rows.map((row) => `${row.action}:${row.channel}:${row.result}`);
    expect(actions).toContain("vod.priority:alpha:ok");
    expect(actions).toContain("vod.reprocess:bravo:ok");
    expect(actions).toContain("vod.cancel:bravo:ok");
    expect(actions).toContain("vod.cancel:alpha:not-running");
    expect(actions).toContain("vod.scan:nobody:rejected");
    expect(actions).toContain("vod.catalog:alpha:ok");
  });
});
