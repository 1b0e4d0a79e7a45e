import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/sim/clock.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { helixFixture } from "../../support/wire-data.ts";
import { appToken, helixGet, request, shapeOf } from "./sim-client.ts";

const first = <T>(body: unknown): T => (body as { data: T[] }).data[0]!;

describe("Helix and Twitch OAuth", () => {
  let sim: Simulator;
  let token: string;

  beforeAll(async () => {
    sim = await startSimulator({
      chat: false,
      scenario: {
        channels: [
          {
            login: "alpha",
            id: "1001",
            displayName: "Alpha",
            broadcasterType: "partner",
            vods: [
              { id: "501", streamId: "9001", title: "nyc biking - ☀️ inwood hill park", duration: "4h27m50s", viewCount: 2276, createdAt: "2021-05-15T19:06:13Z" },
              { id: "502", duration: 201, type: "upload", mutedSegments: [{ offset: 120, duration: 30 }], createdAt: "2021-05-14T10:00:00Z" },
            ],
            clips: [{ id: "AwkwardHelplessSalamanderSwiftRage", title: "babymetal", duration: 60, videoId: "501", vodOffset: 480, viewCount: 10 }],
            live: { title: "hablamos", gameId: "494131", gameName: "Little Nightmares", viewerCount: 78365, language: "es", tags: ["Español"] },
          },
          { login: "beta", id: "1002" },
        ],
        users: [{ login: "viewer", id: "12345", displayName: "Viewer" }],
      },
    });
    token = await appToken(sim);
  });
  afterAll(() => sim.stop());

  it("issues app tokens shaped like Twitch's and validates them", async () => {
    const t = await request(`${sim.urls.oauth}/token?client_id=${sim.clientId}&client_secret=${sim.clientSecret}&grant_type=client_credentials`, { method: "POST" });
    expect(t.status).toBe(200);
    expect(shapeOf(t.json)).toEqual(shapeOf(helixFixture("oauth2_token_client_credentials_docs.json")));
    const v = await request(`${sim.urls.oauth}/validate`, { headers: { Authorization: `OAuth ${(t.json as { access_token: string }).access_token}` } });
    expect(v.status).toBe(200);
    expect(v.json).toMatchObject({ client_id: sim.clientId, scopes: [] });
  });

  it("validates user tokens with Twitch's fields and refreshes them", async () => {
    const user = sim.issueUserToken("viewer", ["user:read:email"]);
    const v = await request(`${sim.urls.oauth}/validate`, { headers: { Authorization: `OAuth ${user.accessToken}` } });
    expect(shapeOf(v.json)).toEqual(shapeOf(helixFixture("oauth2_validate_200.json")));
    expect(v.json).toMatchObject({ login: "viewer", user_id: "12345", scopes: ["user:read:email"] });
    const r = await request(`${sim.urls.oauth}/token`, {
      method: "POST",
      body: new URLSearchParams({ client_id: sim.clientId, client_secret: sim.clientSecret, grant_type: "refresh_token", refresh_token: user.refreshToken }),
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ refresh_token: user.refreshToken, scope: ["user:read:email"], token_type: "bearer" });
    const bad = await request(`${sim.urls.oauth}/token`, {
      method: "POST",
      body: new URLSearchParams({ client_id: sim.clientId, client_secret: sim.clientSecret, grant_type: "refresh_token", refresh_token: "nope" }),
    });
    expect([bad.status, bad.json]).toEqual([400, { status: 400, message: "Invalid refresh token" }]);
  });

  it("answers bad credentials with Twitch's bodies", async () => {
    const wrongClient = await request(`${sim.urls.oauth}/token?client_id=nope&client_secret=x&grant_type=client_credentials`, { method: "POST" });
    expect([wrongClient.status, wrongClient.json]).toEqual([400, helixFixture("oauth2_token_400_invalid_client.json")]);
    const wrongSecret = await request(`${sim.urls.oauth}/token?client_id=${sim.clientId}&client_secret=x&grant_type=client_credentials`, { method: "POST" });
    expect([wrongSecret.status, wrongSecret.json]).toEqual([403, helixFixture("oauth2_token_403_invalid_client_secret.json")]);
    const badValidate = await request(`${sim.urls.oauth}/validate`, { headers: { Authorization: "OAuth nope" } });
    expect([badValidate.status, badValidate.json]).toEqual([401, helixFixture("oauth2_validate_401_invalid_access_token.json")]);
  });

  it("requires a bearer token issued to the Client-Id", async () => {
    const missing = await helixGet(sim, "users?login=alpha", undefined);
    expect([missing.status, missing.json]).toEqual([401, helixFixture("error_401_oauth_token_missing.json")]);
    const invalid = await helixGet(sim, "users?login=alpha", "not-a-token");
    expect([invalid.status, invalid.json]).toEqual([401, helixFixture("error_401_invalid_oauth_token.json")]);
    const otherClient = await helixGet(sim, "users?login=alpha", token, "someone-else");
    expect(otherClient.status).toBe(401);
    expect(otherClient.headers.get("ratelimit-limit")).toBeNull();
  });

  it("serves users in Twitch's shape, by login and id, repeated", async () => {
    const r = await helixGet(sim, "users?login=alpha&id=1002&login=nobody&id=1001", token);
    expect(r.status).toBe(200);
    expect(r.headers.get("ratelimit-limit")).toBe("800");
    const data = (r.json as { data: { login: string }[] }).data;
    expect(data.map((u) => u.login)).toEqual(["beta", "alpha"]);
    expect(shapeOf(r.json)).toEqual(shapeOf({ data: [(helixFixture("users_by_login.json") as { data: unknown[] }).data[0]] }));
    expect(data[1]).toMatchObject({ id: "1001", display_name: "Alpha", broadcaster_type: "partner" });
    const none = await helixGet(sim, "users", token);
    expect([none.status, none.json]).toEqual([400, helixFixture("users_400_no_params.json")]);
    const many = await helixGet(sim, `users?${Array.from({ length: 101 }, (_, i) => `id=${i}`).join("&")}`, token);
    expect(many.status).toBe(400);
  });

  it("serves live streams in Twitch's shape, and Twitch's exact empty body for offline ones", async () => {
    const live = await helixGet(sim, "streams?user_login=alpha&user_login=beta", token);
    expect(shapeOf(live.json)).toEqual(shapeOf({ ...(helixFixture("streams_live_docs_example.json") as object), pagination: {} }));
    expect(first<Record<string, unknown>>(live.json)).toMatchObject({ user_id: "1001", type: "live", game_name: "Little Nightmares", viewer_count: 78365, tags: ["Español"] });
    const offline = await helixGet(sim, "streams?user_id=1002", token);
    expect(offline.text).toBe(JSON.stringify(helixFixture("streams_empty_offline.json")));
  });

  it("serves videos in Twitch's shape, with Twitch's duration text and muted segments", async () => {
    const archive = await helixGet(sim, "videos?id=501", token);
    expect(shapeOf(archive.json)).toEqual(shapeOf(helixFixture("videos_archive_real_capture_by_id.json")));
    expect(first<Record<string, unknown>>(archive.json)).toMatchObject({
      id: "501",
      stream_id: "9001",
      user_login: "alpha",
      type: "archive",
      duration: "4h27m50s",
      view_count: 2276,
      created_at: "2021-05-15T19:06:13Z",
      muted_segments: null,
      url: `${sim.urls.base}/vods/501/index.m3u8`,
    });
    const upload = first<{ muted_segments: unknown; duration: string; stream_id: unknown }>((await helixGet(sim, "videos?id=502", token)).json);
    expect(upload.duration).toBe("3m21s");
    expect(upload.stream_id).toBeNull();
    expect(upload.muted_segments).toEqual((helixFixture("videos_docs_example_upload.json") as { data: { muted_segments: unknown }[] }).data[0]!.muted_segments);
    const both = await helixGet(sim, "videos?id=501&user_id=1001", token);
    expect([both.status, both.json]).toEqual([400, helixFixture("videos_400_conflicting_params.json")]);
    const archives = await helixGet(sim, "videos?user_id=1001&type=archive", token);
    // The live broadcast is being recorded as an archive too, newest first.
    expect((archives.json as { data: { id: string; stream_id: string }[] }).data.map((v) => v.id)).toEqual([expect.any(String), "501"]);
    expect(await helixGet(sim, "videos?user_id=1001&first=101", token)).toMatchObject({ status: 400 });
  });

  it("serves clips in Twitch's shape", async () => {
    const r = await helixGet(sim, "clips?broadcaster_id=1001", token);
    expect(shapeOf(r.json)).toEqual(shapeOf({ ...(helixFixture("clips_docs_example.json") as object), pagination: {} }));
    expect(first<Record<string, unknown>>(r.json)).toMatchObject({ id: "AwkwardHelplessSalamanderSwiftRage", video_id: "501", vod_offset: 480, duration: 60 });
    const empty = await helixGet(sim, "clips?broadcaster_id=1002", token);
    expect(empty.text).toBe(JSON.stringify(helixFixture("clips_empty.json")));
  });

  it("fails with injected 5xx bursts, then recovers", async () => {
    sim.injectFault({ kind: "helix-error", status: 500, endpoint: "streams", count: 2 });
    const a = await helixGet(sim, "streams?user_id=1001", token);
    const u = await helixGet(sim, "users?id=1001", token);
    const b = await helixGet(sim, "streams?user_id=1001", token);
    const c = await helixGet(sim, "streams?user_id=1001", token);
    expect([a.status, a.json]).toEqual([500, helixFixture("error_500_real_twitch.json")]);
    expect([u.status, b.status, c.status]).toEqual([200, 500, 200]);
  });

  it("answers an injected 429 with Twitch's body and empty-bucket headers", async () => {
    sim.injectFault({ kind: "helix-error", status: 429 });
    const r = await helixGet(sim, "users?id=1001", token);
    expect([r.status, r.json]).toEqual([429, helixFixture("error_429_real_twitch.json")]);
    expect(r.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(r.headers.get("ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  });

  it("answers late when told to be slow, and fails OAuth on demand", async () => {
    sim.injectFault({ kind: "slow", path: "/helix/users", delayMs: 300 });
    const started = performance.now();
    expect((await helixGet(sim, "users?id=1001", token)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    sim.injectFault({ kind: "http-error", path: "/oauth2/token", status: 503 });
    const r = await request(`${sim.urls.oauth}/token?client_id=${sim.clientId}&client_secret=${sim.clientSecret}&grant_type=client_credentials`, { method: "POST" });
    expect([r.status, r.json]).toEqual([503, { status: 503, message: "Service Unavailable" }]);
  });

  it("invalidates every token when told they expired", async () => {
    const t = await appToken(sim);
    sim.injectFault({ kind: "expire-tokens", provider: "twitch" });
    const r = await helixGet(sim, "users?id=1001", t);
    expect([r.status, r.json]).toEqual([401, helixFixture("error_401_invalid_oauth_token.json")]);
    token = await appToken(sim);
    expect((await helixGet(sim, "users?id=1001", token)).status).toBe(200);
  });

  it("expires tokens by the clock", async () => {
    const clock = new ManualClock();
    const s = await startSimulator({ chat: false, clock, scenario: { accessTokenTtlSeconds: 60, channels: [{ login: "a" }] } });
    try {
      const t = await appToken(s);
      expect((await helixGet(s, "users?login=a", t)).status).toBe(200);
      clock.advance(61_000);
      expect((await helixGet(s, "users?login=a", t)).status).toBe(401);
    } finally {
      await s.stop();
    }
  });
});

describe("Helix pagination and rate limit", () => {
  it("walks every VOD exactly once with after cursors, even when VODs appear mid-walk", async () => {
    const vods = Array.from({ length: 250 }, (_, i) => ({ id: String(7000 + i), duration: 60, createdAt: new Date(Date.UTC(2024, 0, 1) + (i % 97) * 3_600_000).toISOString() }));
    const sim = await startSimulator({ chat: false, scenario: { channels: [{ login: "many", id: "77", vods }] } });
    try {
      const token = await appToken(sim);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await helixGet(sim, `videos?user_id=77&type=archive&first=100${cursor === undefined ? "" : `&after=${encodeURIComponent(cursor)}`}`, token);
        expect(r.status).toBe(200);
        const body = r.json as { data: { id: string; created_at: string }[]; pagination: { cursor?: string } };
        seen.push(...body.data.map((v) => v.id));
        cursor = body.pagination.cursor;
        if (++pages === 1) sim.addVod("many", { duration: 30 });
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(250);
      expect(new Set(seen)).toEqual(new Set(vods.map((v) => v.id)));
    } finally {
      await sim.stop();
    }
  });

  it("refuses the 801st request in a minute with 429 and the reset time", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const sim = await startSimulator({ chat: false, clock, scenario: { channels: [{ login: "a", id: "1" }] } });
    try {
      const token = await appToken(sim);
      const remaining: number[] = [];
      for (let batch = 0; batch < 80; batch++) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => helixGet(sim, "users?id=1", token)));
        for (const a of answers) {
          expect(a.status).toBe(200);
          remaining.push(Number(a.headers.get("ratelimit-remaining")));
        }
      }
      expect(remaining.sort((x, y) => y - x)).toEqual(Array.from({ length: 800 }, (_, i) => 799 - i));
      const refused = await helixGet(sim, "users?id=1", token);
      expect(refused.status).toBe(429);
      expect(refused.json).toEqual(helixFixture("error_429_real_twitch.json"));
      expect(refused.headers.get("ratelimit-remaining")).toBe("0");
      expect(refused.headers.get("ratelimit-reset")).toBe("1800000060");
      clock.advance(60_000);
      expect((await helixGet(sim, "users?id=1", token)).status).toBe(200);
    } finally {
      await sim.stop();
    }
  });
});
