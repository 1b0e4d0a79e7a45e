import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/sim/clock.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { appToken, helixGet, request } from "./sim-client.ts";

const post = (url: string, body: unknown) => request(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

const waitFor = async (pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("admin API", () => {
  let sim: Simulator;
  let token: string;
  const clock = new ManualClock();

  beforeAll(async () => {
    sim = await startSimulator({
      clock,
      scenario: {
        channels: [
          { login: "alpha", id: "1001", chat: { rate: 50 } },
          { login: "late", id: "1003", live: { at: 30, for: 60, title: "scheduled" } },
        ],
        faults: [{ at: 45, kind: "helix-error", status: 502, endpoint: "users", count: 1 }],
      },
    });
    token = await appToken(sim);
  });
  afterAll(() => sim.stop());

  it("reports state", async () => {
    const r = await request(sim.urls.admin);
    expect(r.status).toBe(200);
    expect((r.json as { channels: { login: string; live: unknown }[] }).channels.map((c) => [c.login, c.live])).toEqual([
      ["alpha", null],
      ["late", null],
    ]);
  });

  it("flips a channel live and offline, with chat only while live", async () => {
    const r = await post(`${sim.urls.admin}/channels/alpha/live`, { live: true, title: "from admin", viewerCount: 7 });
    expect(r.status).toBe(200);
    const streams = await helixGet(sim, "streams?user_login=alpha", token);
    expect((streams.json as { data: unknown[] }).data).toEqual([expect.objectContaining({ title: "from admin", viewer_count: 7 })]);
    await waitFor(async () => ((await request(`${sim.urls.admin}/chat/sent?channel=alpha`)).json as unknown[]).length >= 5);
    await post(`${sim.urls.admin}/channels/alpha/live`, { live: false });
    const count = sim.sentLines("alpha").length;
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.sentLines("alpha").length).toBe(count);
    expect((await helixGet(sim, "streams?user_login=alpha", token)).text).toBe('{"data":[],"pagination":{}}');
  });

  it("changes the chat rate and turns on offline chat", async () => {
    const before = sim.sentLines("alpha").length;
    const r = await post(`${sim.urls.admin}/channels/alpha/chat`, { rate: 0, offline: true, offlineRate: 100, mix: { message: 1, emote: 0, action: 0, reply: 0, bits: 0, firstMsg: 0, sub: 0, resub: 0, subgift: 0, raid: 0, announcement: 0, timeout: 0, ban: 0, delete: 0, clear: 0, roomstate: 0, notice: 0 } });
    expect(r.status).toBe(200);
    await waitFor(() => sim.sentLines("alpha").length >= before + 10);
    expect(sim.sentLines("alpha").slice(before).every((l) => l.command === "PRIVMSG")).toBe(true);
    await post(`${sim.urls.admin}/channels/alpha/chat`, { offline: false });
  });

  it("adds channels and VODs that Helix then serves", async () => {
    const c = await post(`${sim.urls.admin}/channels`, { login: "newbie", displayName: "Newbie", vods: [{ duration: 12 }] });
    expect(c.status).toBe(201);
    const id = (c.json as { id: string }).id;
    const v = await post(`${sim.urls.admin}/channels/newbie/vods`, { title: "fresh", duration: "1m" });
    expect(v.status).toBe(201);
    expect(v.json).toMatchObject({ duration: "1m0s", url: expect.stringMatching(/\/vods\/\d+\/index\.m3u8$/) });
    const videos = (await helixGet(sim, `videos?user_id=${id}`, token)).json as { data: { title: string }[] };
    expect(videos.data.map((x) => x.title)).toEqual(["fresh", expect.any(String)]);
    const bad = await post(`${sim.urls.admin}/channels/newbie/vods`, { duration: "forever" });
    expect(bad.status).toBe(400);
    expect((bad.json as { issues: { path: string }[] }).issues[0]!.path).toBe("duration");
    expect((await post(`${sim.urls.admin}/channels/nobody/vods`, { duration: 5 })).status).toBe(400);
  });

  it("injects, lists and clears faults", async () => {
    const f = await post(`${sim.urls.admin}/faults`, { kind: "helix-error", status: 503, persistent: true });
    expect(f.status).toBe(201);
    expect((await helixGet(sim, "users?id=1001", token)).status).toBe(503);
    expect((await helixGet(sim, "users?id=1001", token)).status).toBe(503);
    expect(((await request(`${sim.urls.admin}/faults`)).json as unknown[]).length).toBe(1);
    const del = await request(`${sim.urls.admin}/faults/${(f.json as { id: string }).id}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect((await helixGet(sim, "users?id=1001", token)).status).toBe(200);
    const bad = await post(`${sim.urls.admin}/faults`, { kind: "helix-error", status: 42 });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("status: must be at least 400");
  });

  it("runs the scenario's schedule and scheduled faults on the sim clock", async () => {
    expect(sim.state().channels.find((c) => c.login === "late")!.live).toBeNull();
    clock.advance(31_000);
    await waitFor(() => sim.state().channels.find((c) => c.login === "late")!.live !== null);
    clock.advance(15_000);
    await waitFor(async () => (await helixGet(sim, "users?id=1003", token)).status === 502);
    expect((await helixGet(sim, "users?id=1003", token)).status).toBe(200);
    clock.advance(60_000);
    await waitFor(() => sim.state().channels.find((c) => c.login === "late")!.live === null);
  });

  it("issues user tokens and sends raw lines", async () => {
    const t = await post(`${sim.urls.admin}/tokens`, { login: "alpha", scopes: ["chat:read"] });
    expect(t.status).toBe(201);
    const v = await request(`${sim.urls.oauth}/validate`, { headers: { Authorization: `OAuth ${(t.json as { accessToken: string }).accessToken}` } });
    expect(v.json).toMatchObject({ login: "alpha", user_id: "1001" });
    const raw = await post(`${sim.urls.admin}/channels/alpha/chat/raw`, { line: ":a!a@a.tmi.twitch.tv PRIVMSG #alpha :hi" });
    expect(raw.json).toEqual({ receivers: 0 });
    expect(sim.sentLines("alpha").at(-1)).toMatchObject({ line: ":a!a@a.tmi.twitch.tv PRIVMSG #alpha :hi", source: "injected", receivers: 0 });
    expect((await request(`${sim.urls.admin}/nothing`)).status).toBe(404);
  });
});
