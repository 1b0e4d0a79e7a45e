import { readForm, sendJson, type Route } from "./http-io.ts";
import type { TokenStore } from "./token-store.ts";

/** What the Google token endpoint needs to know. */
export interface GoogleOAuthDeps {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly ttlSeconds: () => number;
  readonly tokens: TokenStore;
}

/** Scope granted to Google tokens: uploading to YouTube. */
export const youtubeUploadScope = "https://www.googleapis.com/auth/youtube.upload";

/**
 * Google's `oauth2.googleapis.com/token`, served at `/google/token`: the
 * `refresh_token` grant a stored YouTube credential uses, with Google's
 * `{"error":…,"error_description":…}` bodies.
 */
export const googleOAuthRoute = (deps: GoogleOAuthDeps): Route => async (req, res, url) => {
  if (url.pathname !== "/google/token") return false;
  if (req.method !== "POST") {
    sendJson(res, 405, { error: "invalid_request", error_description: "Method not allowed" });
    return true;
  }
  const form = await readForm(req, url);
  const clientId = form.get("client_id") ?? "";
  if (clientId !== deps.clientId) {
    sendJson(res, 401, { error: "invalid_client", error_description: "The OAuth client was not found." });
    return true;
  }
  if ((form.get("client_secret") ?? "") !== deps.clientSecret) {
    sendJson(res, 401, { error: "invalid_client", error_description: "Unauthorized" });
    return true;
  }
  if (form.get("grant_type") !== "refresh_token") {
    sendJson(res, 400, { error: "unsupported_grant_type", error_description: "Invalid grant_type: " + (form.get("grant_type") ?? "") });
    return true;
  }
  const grant = deps.tokens.refreshGrant(form.get("refresh_token") ?? "");
  if (grant === undefined || grant.provider !== "google") {
    sendJson(res, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." });
    return true;
  }
  const t = deps.tokens.issue({ ...grant, kind: "user" }, deps.ttlSeconds());
  sendJson(res, 200, {
    access_token: t.token,
    expires_in: deps.tokens.secondsLeft(t),
    scope: t.scopes.join(" "),
    token_type: "Bearer",
  });
  return true;
};
