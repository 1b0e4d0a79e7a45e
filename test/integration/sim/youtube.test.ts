import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { request } from "./sim-client.ts";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("YouTube uploads", () => {
  let sim: Simulator;
  let token: string;

  const open = async (size: number, title: string) => {
    const r = await request(`${sim.urls.youtubeUpload}/videos?uploadType=resumable&part=snippet,status`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json; charset=UTF-8",
        "X-Upload-Content-Length": String(size),
        "X-Upload-Content-Type": "video/mp4",
      },
      body: JSON.stringify({ snippet: { title, description: "from the simulator", tags: ["vod"] }, status: { privacyStatus: "unlisted" } }),
    });
    expect(r.status).toBe(200);
    return r.headers.get("location")!;
  };

  beforeAll(async () => {
    sim = await startSimulator({ chat: false, scenario: { channels: [{ login: "alpha" }] } });
    const t = await request(sim.urls.googleToken, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: sim.google.clientId, client_secret: sim.google.clientSecret, refresh_token: sim.google.refreshToken }),
    });
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ token_type: "Bearer", scope: "https://www.googleapis.com/auth/youtube.upload", expires_in: expect.any(Number) });
    token = (t.json as { access_token: string }).access_token;
  });
  afterAll(() => sim.stop());

  it("answers bad Google credentials as Google does", async () => {
    const form = (o: Record<string, string>) => ({ method: "POST", body: new URLSearchParams(o) });
    const g = sim.google;
    expect((await request(sim.urls.googleToken, form({ grant_type: "refresh_token", client_id: g.clientId, client_secret: g.clientSecret, refresh_token: "x" }))).json).toEqual({
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    });
    expect((await request(sim.urls.googleToken, form({ grant_type: "refresh_token", client_id: g.clientId, client_secret: "x", refresh_token: g.refreshToken }))).status).toBe(401);
    const noAuth = await request(`${sim.urls.youtubeUpload}/videos?uploadType=resumable&part=snippet`, { method: "POST", body: "{}" });
    expect(noAuth.status).toBe(401);
    expect(noAuth.json).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED", errors: [{ reason: "authError" }] } });
  });

  it("completes an upload interrupted halfway, with the right checksum", async () => {
    const data = randomBytes(1024 * 1024 + 123);
    const location = await open(data.length, "interrupted");
    expect(location).toMatch(new RegExp(`^${sim.urls.youtubeUpload}/videos\\?uploadType=resumable&.*upload_id=`));
    const half = Math.floor(data.length / 2);
    sim.injectFault({ kind: "upload-interrupt", afterBytes: half });
    await expect(fetch(location, { method: "PUT", headers: { "Content-Type": "video/mp4" }, body: data })).rejects.toThrow();

    const status = await request(location, { method: "PUT", headers: { "Content-Range": `bytes */${data.length}` } });
    expect(status.status).toBe(308);
    expect(status.headers.get("range")).toBe(`bytes=0-${half - 1}`);

    const rest = await request(location, {
      method: "PUT",
      headers: { "Content-Range": `bytes ${half}-${data.length - 1}/${data.length}` },
      body: data.subarray(half),
    });
    expect(rest.status).toBe(200);
    const video = rest.json as { kind: string; id: string; snippet: { title: string; tags: string[] }; status: { uploadStatus: string; privacyStatus: string } };
    expect(video).toMatchObject({ kind: "youtube#video", snippet: { title: "interrupted", tags: ["vod"] }, status: { uploadStatus: "uploaded", privacyStatus: "unlisted" } });
    expect(video.id).toMatch(/^[A-Za-z0-9_-]{11}$/);

    const record = sim.uploads().find((u) => u.videoId === video.id)!;
    expect(record).toMatchObject({ complete: true, received: data.length, declaredLength: data.length, interruptions: 1, puts: 3, contentType: "video/mp4" });
    expect(record.sha256).toBe(sha256(data));
    expect((await readFile(record.path!)).equals(data)).toBe(true);

    const list = await request(`${sim.urls.youtubeApi}/videos?part=snippet,status&id=${video.id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((list.json as { items: { id: string }[] }).items.map((i) => i.id)).toEqual([video.id]);
  });

  it("takes an upload in chunks, answering 308 with Range after each, and tolerates a resent overlap", async () => {
    const data = randomBytes(3 * 256 * 1024);
    const location = await open(data.length, "chunked");
    const chunk = 256 * 1024;
    const put = (start: number, end: number) =>
      request(location, { method: "PUT", headers: { "Content-Range": `bytes ${start}-${end - 1}/${data.length}` }, body: data.subarray(start, end) });
    const a = await put(0, chunk);
    expect([a.status, a.headers.get("range")]).toEqual([308, `bytes=0-${chunk - 1}`]);
    const b = await put(chunk - 100, 2 * chunk);
    expect([b.status, b.headers.get("range")]).toEqual([308, `bytes=0-${2 * chunk - 1}`]);
    const gap = await put(2 * chunk + 10, 3 * chunk);
    expect(gap.status).toBe(400);
    const c = await put(2 * chunk, 3 * chunk);
    expect(c.status).toBe(200);
    const record = sim.uploads().find((u) => u.videoId === (c.json as { id: string }).id)!;
    expect(record.sha256).toBe(sha256(data));
    const again = await request(location, { method: "PUT", headers: { "Content-Range": `bytes */${data.length}` } });
    expect([again.status, (again.json as { id: string }).id]).toEqual([200, record.videoId]);
  });

  it("fails with an injected server error", async () => {
    sim.injectFault({ kind: "http-error", path: "/upload/youtube", status: 503 });
    const r = await request(`${sim.urls.youtubeUpload}/videos?uploadType=resumable&part=snippet`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: "{}" });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ error: { code: 503, errors: [{ reason: "backendError" }] } });
  });
});
