/**
 * Routes serving the web console: `/` and the static files of `src/console/`.
 * The files are read once when the routes are made (they are a few kilobytes
 * and never change while the process runs). Everything the console shows comes
 * over `/control`, so these routes carry no data and need no token.
 */
import { readFileSync } from "node:fs";
import type { Route } from "./http-server.ts";

const consoleDir = new URL("../console/", import.meta.url);

const files: ReadonlyArray<{ readonly path: string; readonly file: string; readonly type: string }> = [
  { path: "/", file: "index.html", type: "text/html; charset=utf-8" },
  { path: "/console/app.js", file: "app.js", type: "text/javascript; charset=utf-8" },
  { path: "/console/style.css", file: "style.css", type: "text/css; charset=utf-8" },
];

// The page loads only its own files and talks only to its own origin.
const securityHeaders = {
  "content-security-policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** The console's routes, ready for `serveHttp`'s route table. */
export const consoleRoutes = (): ReadonlyArray<Route> =>
  files.map(({ path, file, type }) => {
    const body = readFileSync(new URL(file, consoleDir));
    return {
      method: "GET",
      path,
      handle: (req, res) => {
        res.writeHead(200, { "content-type": type, "content-length": body.byteLength, ...securityHeaders });
        res.end(req.method === "HEAD" ? undefined : body);
      },
    } satisfies Route;
  });
