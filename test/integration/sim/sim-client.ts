import type { Simulator } from "../../../src/sim/simulator.ts";

/** A response read once: status, headers and body text. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

const answer = async (r: Response): Promise<Answer> => {
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
};

/** Gets an app access token with the client-credentials grant. */
export const appToken = async (sim: Simulator): Promise<string> => {
  const r = await answer(
    await fetch(`${sim.urls.oauth}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: sim.clientId, client_secret: sim.clientSecret, grant_type: "client_credentials" }),
    }),
  );
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return (r.json as { access_token: string }).access_token;
};

/** GET on Helix with the client id and a bearer token. */
export const helixGet = async (sim: Simulator, pathAndQuery: string, token: string | undefined, clientId: string | undefined = sim.clientId): Promise<Answer> => {
  const headers: Record<string, string> = {};
  if (clientId !== undefined) headers["Client-Id"] = clientId;
  if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
  return answer(await fetch(`${sim.urls.helix}/${pathAndQuery}`, { headers }));
};

/** Any request, read once. */
export const request = async (url: string, init?: RequestInit): Promise<Answer> => answer(await fetch(url, init));

/** The type skeleton of a JSON value: same keys in the same order, same kinds of values. */
export const shapeOf = (v: unknown): unknown => {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length === 0 ? ["empty"] : [shapeOf(v[0])];
  if (typeof v === "object") return Object.entries(v as object).map(([k, x]) => [k, shapeOf(x)]);
  return typeof v;
};
