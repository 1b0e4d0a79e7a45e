import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { Effect, Stream } from "effect";
import { type HelixOptions, type HelixRequestInfo, makeHelix } from "../../../src/services/helix.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { freePort } from "../../support/postgres-server.ts";

/** A request as the client reported it, with its start time. */
interface Seen extends HelixRequestInfo {
  readonly startedAt: number;
}

const VIEWERS = 150;
const ALPHA_VODS = 120;

const scenario = (pointsPerMinute = 800) => ({
  helixPointsPerMinute: pointsPerMinute,
  users: Array.from({ length: VIEWERS }, (_, i) => ({ login: `viewer${i}` })),
  channels: [
    {
      login: "alpha",
      vods: Array.from({ length: ALPHA_VODS }, (_, i) => ({
        title: `Alpha broadcast ${i}`,
        duration: "1h2m3s",
        createdAt: new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString(),
      })),
    },
    { login: "beta", live: true },
    { login: "gamma" },
  ],
});

const startSim = (pointsPerMinute?: number) =>
  startSimulator({ scenario: scenario(pointsPerMinute), chat: false, uploadDir: null });

/** A client of `sim` recording every request it reports. */
const clientOf = (sim: Simulator, overrides: Partial<HelixOptions> = {}) =>
  Effect.gen(function* () {
    const seen: Array<Seen> = [];
    const client = yield* makeHelix({
      helixUrl: sim.urls.helix,
      oauthUrl: sim.urls.oauth,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      retryBaseMs: 20,
      retryMaxDelayMs: 100,
      onRequest: (info) => seen.push({ ...info, startedAt: Date.now() - info.durationMs }),
      ...overrides,
    });
    return { client, seen };
  });

describe("Helix client against the simulator", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it.live("mints one app token for many concurrent calls", () =>
    Effect.gen(function* () {
      let mints = 0;
      const { client } = yield* clientOf(sim, { onTokenMint: () => mints++ });
      yield* Effect.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 2 === 0 ? client.getVideos({ userId: "1", first: 1 }) : client.getStreams({ logins: ["beta"] }),
        ),
        { concurrency: "unbounded" },
      );
      expect(mints).toBe(1);
      expect(yield* client.tokenMints).toBe(1);
    }),
  );

  it.live("refreshes the token once when Helix answers 401, then carries on", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      yield* client.getStreams({ logins: ["beta"] });
      sim.injectFault({ kind: "expire-tokens", provider: "twitch" });
      const streams = yield* client.getStreams({ logins: ["beta"] });
      expect(streams.map((s) => s.userLogin)).toEqual(["beta"]);
      expect(seen.map((r) => r.status)).toEqual([200, 401, 200]);
      expect(yield* client.tokenMints).toBe(2);
    }),
  );

  it.live("waits for the reported reset after a 429 before sending again", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      yield* client.getStreams({ logins: ["beta"] });
      sim.injectFault({ kind: "helix-error", status: 429, count: 1 });
      const streams = yield* client.getStreams({ logins: ["beta"] });
      expect(streams).toHaveLength(1);
      expect(seen.map((r) => r.status)).toEqual([200, 429, 200]);
      // The simulator resets a burst 429 one second after it (rounded up to whole seconds).
      const [, limited, after] = seen;
      expect(after!.startedAt).toBeGreaterThanOrEqual(limited!.startedAt + 1000);
    }),
  );

  it.live("retries 5xx answers with backoff", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      sim.injectFault({ kind: "helix-error", status: 503, count: 2, endpoint: "streams" });
      const streams = yield* client.getStreams({ userIds: [] , logins: ["beta", "gamma"] });
      expect(streams.map((s) => s.userLogin)).toEqual(["beta"]);
      expect(seen.map((r) => r.status)).toEqual([503, 503, 200]);
    }),
  );

  it.live("gives up on a persistent 5xx with HelixHttpError after its retries", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim, { retries: 2 });
      const fault = sim.injectFault({ kind: "helix-error", status: 500, endpoint: "videos", persistent: true });
      const error = yield* Effect.flip(client.getVideos({ userId: "1" }));
      sim.clearFault(fault);
      expect(error._tag).toBe("HelixHttpError");
      expect(error._tag === "HelixHttpError" && error.status).toBe(500);
      expect(seen.map((r) => r.status)).toEqual([500, 500, 500]);
    }),
  );

  it.live("reports a refused client secret as HelixAuthError without retrying", () =>
    Effect.gen(function* () {
      const { client } = yield* clientOf(sim, { clientSecret: "wrong-secret" });
      const error = yield* Effect.flip(client.getStreams({ logins: ["beta"] }));
      expect(error._tag).toBe("HelixAuthError");
      expect(error._tag === "HelixAuthError" && error.status).toBe(403);
    }),
  );

  it.live("reports an unreachable Helix as HelixNetworkError after its retries", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort());
      const { client } = yield* clientOf(sim, { helixUrl: `http://127.0.0.1:${port}/helix`, retries: 2 });
      const error = yield* Effect.flip(client.getStreams({ logins: ["beta"] }));
      expect(error._tag).toBe("HelixNetworkError");
    }),
  );

  it.live("looks users up 100 at a time and serves repeats from its cache", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      const logins = Array.from({ length: VIEWERS }, (_, i) => `Viewer${i}`);
      const users = yield* client.getUsers({ logins: [...logins, "nobody-here"] });
      expect(users.map((u) => u.login).sort()).toEqual(logins.map((l) => l.toLowerCase()).sort());
      expect(seen.filter((r) => r.endpoint === "users")).toHaveLength(2);
      const again = yield* client.getUsers({ logins: ["viewer7"], ids: [users[3]!.id] });
      expect(again.map((u) => u.login).sort()).toEqual(["viewer7", users[3]!.login].sort());
      expect(seen.filter((r) => r.endpoint === "users")).toHaveLength(2);
    }),
  );

  it.live("finds live streams among many users, 100 per request", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      const everyone = yield* client.getUsers({ logins: ["alpha", "beta", "gamma", ...Array.from({ length: VIEWERS }, (_, i) => `viewer${i}`)] });
      const streams = yield* client.getStreams({ userIds: everyone.map((u) => u.id) });
      expect(streams.map((s) => s.userLogin)).toEqual(["beta"]);
      expect(streams[0]!.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(seen.filter((r) => r.endpoint === "streams")).toHaveLength(2);
    }),
  );

  it.live("pages through a channel's archives with cursors", () =>
    Effect.gen(function* () {
      const { client } = yield* clientOf(sim);
      const [alpha] = yield* client.getUsers({ logins: ["alpha"] });
      const first = yield* client.getVideos({ userId: alpha!.id, first: 50 });
      expect(first.data).toHaveLength(50);
      expect(first.cursor).toBeTypeOf("string");
      const second = yield* client.getVideos({ userId: alpha!.id, first: 50, after: first.cursor });
      expect(second.data[0]!.id).not.toBe(first.data[0]!.id);

      const pages = yield* Stream.runCollect(client.videoPages({ userId: alpha!.id, first: 100 }));
      expect(pages.map((p) => p.data.length)).toEqual([100, ALPHA_VODS - 100]);
      expect(pages.at(-1)!.cursor).toBeUndefined();

      const all = yield* Stream.runCollect(client.videos({ userId: alpha!.id, first: 30 }));
      expect(all).toHaveLength(ALPHA_VODS);
      expect(new Set(all.map((v) => v.id)).size).toBe(ALPHA_VODS);
      expect(all.every((v) => v.type === "archive" && v.durationSeconds === 3723)).toBe(true);
      // Newest first, as Helix orders them.
      expect(all[0]!.createdAt > all.at(-1)!.createdAt).toBe(true);
      const resumed = yield* Stream.runCollect(client.videos({ userId: alpha!.id, first: 30, after: first.cursor }));
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed.length).toBeLessThan(ALPHA_VODS);
    }),
  );

  it.live("fetches one video by id, and undefined for one Twitch does not know", () =>
    Effect.gen(function* () {
      const { client } = yield* clientOf(sim);
      const [alpha] = yield* client.getUsers({ logins: ["alpha"] });
      const page = yield* client.getVideos({ userId: alpha!.id, first: 1 });
      const video = yield* client.getVideoById(page.data[0]!.id);
      expect(video).toMatchObject({ id: page.data[0]!.id, userId: alpha!.id, title: page.data[0]!.title });
      expect(video!.url).toContain(`/vods/${video!.id}/`);
      expect(yield* client.getVideoById("999999999999")).toBeUndefined();
    }),
  );
});

describe("Helix rate budget shared by concurrent callers", () => {
  let sim: Simulator;
  // 300 points a minute: 5 a second once the bucket is empty.
  const POINTS = 300;
  const CALLS = POINTS + 15;
  beforeAll(async () => {
    sim = await startSim(POINTS);
  });
  afterAll(() => sim.stop());

  it.live("never overdraws the bucket, so Helix never answers 429", () =>
    Effect.gen(function* () {
      const { client, seen } = yield* clientOf(sim);
      const [alpha] = yield* client.getUsers({ logins: ["alpha"] });
      const results = yield* Effect.all(
        Array.from({ length: CALLS }, () => client.getVideos({ userId: alpha!.id, first: 1 })),
        { concurrency: "unbounded" },
      );
      expect(results).toHaveLength(CALLS);
      expect(seen.filter((r) => r.status === 429)).toEqual([]);
      expect(seen.filter((r) => r.status === 200)).toHaveLength(CALLS + 1);
      const lowest = Math.min(...seen.map((r) => r.ratelimitRemaining ?? Infinity));
      expect(lowest).toBe(0);
      const budget = yield* client.rateLimit;
      expect(budget.inFlight).toBe(0);
    }),
  );
});
