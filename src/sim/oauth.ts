import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken, readForm, sendJson, type Route } from "./http-io.ts";
import type { TokenStore } from "./token-store.ts";

/** What the Twitch OAuth endpoints need to know. */
export interface TwitchOAuthDeps {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly ttlSeconds: () => number;
  readonly tokens: TokenStore;
}

const fail = (res: ServerResponse, status: number, message: string) => sendJson(res, status, { status, message });

/**
 * Twitch's `id.twitch.tv/oauth2`: `POST /token` (client_credentials and refresh_token
 * grants, parameters in the query or a form body), `GET /validate`, `POST /revoke`.
 * Error bodies are Twitch's `{"status":…,"message":…}`; a wrong secret is 403 as Twitch
 * answers it, an unknown client 400.
 */
export const twitchOAuthRoute = (deps: TwitchOAuthDeps): Route => async (req, res, url) => {
  const path = url.pathname;
  if (!path.startsWith("/oauth2/")) return false;
  if (path === "/oauth2/token") {
    if (req.method !== "POST") return fail(res, 405, "method not allowed"), true;
    await token(deps, req, res, url);
    return true;
  }
  if (path === "/oauth2/validate") {
    validate(deps, req, res);
    return true;
  }
  if (path === "/oauth2/revoke") {
    if (req.method !== "POST") return fail(res, 405, "method not allowed"), true;
    const form = await readForm(req, url);
    if (form.get("client_id") !== deps.clientId) return fail(res, 404, "client does not exist"), true;
    const t = form.get("token") ?? "";
    if (!deps.tokens.revoke(t)) return fail(res, 400, "Invalid token"), true;
    res.writeHead(200).end();
    return true;
  }
  fail(res, 404, "Not Found");
  return true;
};

const token = async (deps: TwitchOAuthDeps, req: IncomingMessage, res: ServerResponse, url: URL) => {
  const form = await readForm(req, url);
  const clientId = form.get("client_id") ?? "";
  const grantType = form.get("grant_type") ?? "";
  if (clientId === "") return fail(res, 400, "missing client id");
  if (clientId !== deps.clientId) return fail(res, 400, "invalid client");
  if ((form.get("client_secret") ?? "") !== deps.clientSecret) return fail(res, 403, "invalid client secret");
  if (grantType === "client_credentials") {
    const t = deps.tokens.issue({ provider: "twitch", clientId, kind: "app", userId: null, login: null, scopes: [] }, deps.ttlSeconds());
    return sendJson(res, 200, { access_token: t.token, expires_in: deps.tokens.secondsLeft(t), token_type: "bearer" });
  }
  if (grantType === "refresh_token") {
    const refresh = form.get("refresh_token") ?? "";
    const grant = deps.tokens.refreshGrant(refresh);
    if (grant === undefined || grant.provider !== "twitch" || grant.clientId !== clientId) return fail(res, 400, "Invalid refresh token");
    const t = deps.tokens.issue({ ...grant, kind: grant.userId === null ? "app" : "user" }, deps.ttlSeconds());
    return sendJson(res, 200, {
      access_token: t.token,
      expires_in: deps.tokens.secondsLeft(t),
      refresh_token: refresh,
      scope: t.scopes,
      token_type: "bearer",
    });
  }
  if (grantType === "") return fail(res, 400, "missing grant type");
  return fail(res, 400, "unsupported grant type");
};

const validate = (deps: TwitchOAuthDeps, req: IncomingMessage, res: ServerResponse) => {
  const raw = bearerToken(req);
  if (raw === undefined) return fail(res, 401, "missing authorization token");
  const t = deps.tokens.valid(raw, "twitch");
  if (t === undefined) return fail(res, 401, "invalid access token");
  const body: Record<string, unknown> = { client_id: t.clientId };
  if (t.kind === "user") {
    body["login"] = t.login;
    body["scopes"] = t.scopes;
    body["user_id"] = t.userId;
  } else {
    body["scopes"] = t.scopes;
  }
  body["expires_in"] = deps.tokens.secondsLeft(t);
  sendJson(res, 200, body);
};
