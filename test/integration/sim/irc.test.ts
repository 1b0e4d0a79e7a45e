import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tmi from "tmi.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseIrcLine } from "../../../src/sim/irc-message.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { wireLine, wireLines } from "../../support/wire-data.ts";
import { anonymous, RawIrc } from "./raw-irc.ts";

const waitFor = async (pred: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("IRC server", () => {
  let sim: Simulator;
  const clients: { close(): void }[] = [];
  const track = <T extends { close(): void }>(c: T): T => (clients.push(c), c);

  beforeAll(async () => {
    sim = await startSimulator({
      chat: false,
      scenario: {
        channels: [
          { login: "pajlada", id: "11148817", live: true },
          { login: "randers", id: "40286300", live: true },
          ...Array.from({ length: 25 }, (_, i) => ({ login: `room${i}` })),
        ],
        users: [{ login: "randers811", id: "553170741" }],
      },
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(() => sim.stop());

  it("greets an anonymous login with Twitch's exact lines", async () => {
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(c, "justinfan12345", "twitch.tv/commands twitch.tv/tags twitch.tv/membership");
    const motd = ["001", "002", "003", "004", "375", "372", "376"].map((n) => wireLine(n).replace("twitch_username", "justinfan12345"));
    motd[0] = wireLine("001 welcome (anonymous justinfan login)");
    expect(c.lines).toEqual([wireLine("CAP ACK all three"), ...motd]);
  });

  it("joins like Twitch: JOIN, ROOMSTATE with the room id, NAMES", async () => {
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(c);
    c.lines.length = 0;
    c.send("JOIN #pajlada");
    await c.until((ls) => ls.length >= 4);
    expect(c.lines[0]).toBe(wireLine("JOIN (own)"));
    const roomstate = parseIrcLine(c.lines[1]!)!;
    const real = parseIrcLine(wireLine("ROOMSTATE sent right after JOIN"))!;
    expect([...roomstate.tags.keys()]).toEqual([...real.tags.keys()]);
    expect(roomstate.tags.get("room-id")).toBe("11148817");
    expect([roomstate.prefix, roomstate.command, roomstate.params]).toEqual([real.prefix, real.command, real.params]);
    expect(c.lines.slice(2)).toEqual([wireLine("353 NAMES"), wireLine("366 end of NAMES")]);
  });

  it("parts like Twitch and stops delivering the channel", async () => {
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(c, "justinfan77");
    c.send("JOIN #randers");
    await c.until((ls) => ls.some((l) => l.includes(" 366 ")));
    c.send("PART #randers");
    await c.until((ls) => ls.some((l) => l.includes(" PART ")));
    expect(c.lines.at(-1)).toBe(":justinfan77!justinfan77@justinfan77.tmi.twitch.tv PART #randers");
    expect(sim.sendRaw("randers", wireLine("PRIVMSG real capture"))).toBe(0);
  });

  it("answers PING in both forms and NAKs unknown capabilities", async () => {
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    c.send("CAP REQ :twitch.tv/tags twitch.tv/invalid", "PING", "PING :test");
    await c.until((ls) => ls.length >= 3);
    expect(c.lines).toEqual([":tmi.twitch.tv CAP * NAK :twitch.tv/tags twitch.tv/invalid", wireLine("PONG"), ":tmi.twitch.tv PONG tmi.twitch.tv :test"]);
  });

  it("refuses logins without valid credentials the way Twitch does", async () => {
    const noPass = track(await RawIrc.ws(sim.urls.ircWs));
    noPass.send("NICK randers811");
    await noPass.untilClosed();
    expect(noPass.lines).toEqual([wireLine("NOTICE before login")]);
    const badPass = track(await RawIrc.tcp(sim.urls.ircTcp));
    badPass.send("PASS oauth:nope", "NICK randers811");
    await badPass.untilClosed();
    expect(badPass.lines).toEqual([":tmi.twitch.tv NOTICE * :Login authentication failed"]);
  });

  it("logs in with a user token and sends GLOBALUSERSTATE and USERSTATE", async () => {
    const { accessToken } = sim.issueUserToken("randers811");
    const c = track(await RawIrc.tcp(sim.urls.ircTcp));
    c.send("CAP REQ :twitch.tv/tags twitch.tv/commands", `PASS oauth:${accessToken}`, "NICK randers811");
    await c.until((ls) => ls.some((l) => l.includes("GLOBALUSERSTATE")));
    const gus = parseIrcLine(c.lines.find((l) => l.includes("GLOBALUSERSTATE"))!)!;
    const real = parseIrcLine(wireLine("GLOBALUSERSTATE fresh account"))!;
    expect([...gus.tags.keys()]).toEqual([...real.tags.keys()]);
    expect(gus.tags.get("user-id")).toBe("553170741");
    c.send("JOIN #randers");
    await c.until((ls) => ls.some((l) => l.includes(" 366 ")));
    const us = parseIrcLine(c.lines.find((l) => l.includes(" USERSTATE "))!)!;
    expect([...us.tags.keys()]).toEqual([...parseIrcLine(wireLine("USERSTATE"))!.tags.keys()]);
  });

  it("strips tags and commands from connections that did not ask for them", async () => {
    const plain = track(await RawIrc.tcp(sim.urls.ircTcp));
    await anonymous(plain, "justinfan7", "");
    plain.send("JOIN #randers");
    await plain.until((ls) => ls.some((l) => l.includes(" 366 ")));
    plain.lines.length = 0;
    sim.sendRaw("randers", wireLine("USERNOTICE announcement"));
    sim.sendRaw("randers", wireLine("PRIVMSG real capture"));
    await plain.until((ls) => ls.length >= 1);
    expect(plain.lines).toEqual([":randers!randers@randers.tmi.twitch.tv PRIVMSG #randers :test"]);
  });

  it("drops JOINs over Twitch's limit of 20 per 10 seconds", async () => {
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(c, "justinfan555");
    const before = sim.state().irc.droppedJoins;
    c.send(`JOIN ${Array.from({ length: 25 }, (_, i) => `#room${i}`).join(",")}`);
    await c.until((ls) => ls.filter((l) => l.includes(" 366 ")).length >= 20);
    await waitFor(() => sim.state().irc.droppedJoins - before === 5);
    expect(c.lines.filter((l) => l.includes(" JOIN ")).map((l) => l.split(" ").pop())).toEqual(Array.from({ length: 20 }, (_, i) => `#room${i}`));
  });

  it("sends RECONNECT and closes, and drops connections on demand", async () => {
    const a = track(await RawIrc.ws(sim.urls.ircWs));
    const b = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(a, "justinfan100");
    await anonymous(b, "justinfan101");
    a.send("JOIN #pajlada");
    b.send("JOIN #randers");
    await a.until((ls) => ls.some((l) => l.includes(" 366 ")));
    await b.until((ls) => ls.some((l) => l.includes(" 366 ")));
    sim.injectFault({ kind: "irc-reconnect", channel: "pajlada", graceMs: 50 });
    await a.untilClosed();
    expect(a.lines.at(-1)).toBe(wireLine("RECONNECT"));
    expect(b.closed).toBe(false);
    sim.injectFault({ kind: "irc-disconnect", channel: "randers" });
    await b.untilClosed();
    expect(b.lines.at(-1)).toContain(" 366 ");
  });

  it("replays a file of raw lines byte for byte and records their ids", async () => {
    const lines = wireLines()
      .map((l) => l.line)
      .filter((l) => parseIrcLine(l)?.params[0] === "#pajlada");
    expect(lines.length).toBeGreaterThan(20);
    const dir = await mkdtemp(join(tmpdir(), "replay-"));
    const file = join(dir, "channel.txt");
    await writeFile(file, `${lines.join("\n")}\n`);
    const c = track(await RawIrc.ws(sim.urls.ircWs));
    await anonymous(c, "justinfan4242");
    c.send("JOIN #pajlada");
    await c.until((ls) => ls.some((l) => l.includes(" 366 ")));
    c.lines.length = 0;
    const seq = sim.sentLines().at(-1)?.seq ?? 0;
    const result = await sim.replayFile(file, { rate: 0 });
    expect(result).toEqual({ sent: lines.length, skipped: 0 });
    await c.until((ls) => ls.length >= lines.length);
    expect(c.lines).toEqual(lines);
    const recorded = sim.sentLines("pajlada", seq);
    expect(recorded.map((r) => r.line)).toEqual(lines);
    expect(recorded.map((r) => r.msgId)).toEqual(lines.map((l) => parseIrcLine(l)!.tags.get("id") ?? null));
    expect(recorded.every((r) => r.source === "replay" && r.receivers === 1)).toBe(true);
  });

  it("replays at a chosen rate", async () => {
    const lines = Array.from({ length: 6 }, (_, i) => `:a!a@a.tmi.twitch.tv PRIVMSG #room3 :line ${i}`);
    const started = performance.now();
    const r = sim.replayLines(lines, { rate: 20 });
    expect(await r.done).toEqual({ sent: 6, skipped: 0 });
    // Six lines at 20 a second take at least a quarter of a second (the first goes at once).
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });
});

describe("tmi.js against the simulator", () => {
  let sim: Simulator;
  let client: tmi.Client | undefined;

  beforeAll(async () => {
    sim = await startSimulator({
      scenario: {
        channels: [
          { login: "alpha", id: "1001", live: true, chat: { rate: 40 } },
          { login: "beta", id: "1002", live: true, chat: { rate: 40 } },
        ],
      },
    });
  });
  afterEach(async () => {
    await client?.disconnect().catch(() => undefined);
    client = undefined;
  });
  afterAll(() => sim.stop());

  it("connects anonymously, joins two channels and parses generated messages", async () => {
    const c = new tmi.Client({ connection: { ...sim.tmi, reconnect: false }, channels: ["alpha", "beta"], options: { joinInterval: 300 } });
    client = c;
    const got: { channel: string; tags: tmi.ChatUserstate; text: string }[] = [];
    c.on("message", (channel, tags, text) => void got.push({ channel, tags, text }));
    await c.connect();
    await waitFor(() => new Set(got.map((g) => g.channel)).size === 2 && got.length >= 40);
    expect(c.getChannels().sort()).toEqual(["#alpha", "#beta"]);
    const sent = new Map(sim.sentLines().map((l) => [l.msgId, l]));
    for (const g of got) {
      const line = sent.get(g.tags.id ?? "");
      expect(line, `message ${g.tags.id} was sent by the simulator`).toBeDefined();
      const wire = parseIrcLine(line!.line)!;
      expect(g.channel).toBe(`#${line!.channel}`);
      expect(g.tags["user-id"]).toBe(wire.tags.get("user-id"));
      expect(g.tags["display-name"]).toBe(wire.tags.get("display-name"));
      expect(g.tags["room-id"]).toBe(line!.channel === "alpha" ? "1001" : "1002");
      expect(g.tags["tmi-sent-ts"]).toMatch(/^\d{13}$/);
      expect(g.tags.username).toBe(wire.prefix!.split("!")[0]);
      expect(g.tags["emotes-raw"] ?? "").toBe(wire.tags.get("emotes"));
      const text = wire.params[1]!;
      expect(g.text).toBe(g.tags["message-type"] === "action" ? text.slice(8, -1) : text);
      // tmi.js reads emote ranges in code points of the text it hands out.
      for (const [id, ranges] of Object.entries(g.tags.emotes ?? {})) {
        for (const r of ranges) {
          const [s, e] = r.split("-").map(Number);
          expect(Array.from(g.text).slice(s, e! + 1).join(""), `emote ${id} at ${r}`).not.toMatch(/\s/);
        }
      }
    }
  });

  it("raises tmi.js's events for every generated event kind", async () => {
    sim.setChatRate("alpha", 0);
    sim.setChatRate("beta", 0);
    const c = new tmi.Client({ connection: { ...sim.tmi, reconnect: false }, channels: ["alpha"] });
    client = c;
    const events: string[] = [];
    for (const e of ["chat", "action", "cheer", "subscription", "resub", "subgift", "raided", "usernotice", "timeout", "ban", "clearchat", "messagedeleted", "roomstate", "emoteonly"]) {
      c.on(e as "chat", () => void events.push(e));
    }
    await c.connect();
    await waitFor(() => events.includes("roomstate"));
    for (const kind of ["message", "action", "bits", "sub", "resub", "subgift", "raid", "announcement", "timeout", "ban", "clear", "delete", "roomstate", "notice", "reply", "emote", "firstMsg"] as const) {
      sim.emitChat("alpha", kind);
    }
    await waitFor(() => events.length >= 17);
    expect(new Set(events)).toEqual(
      new Set(["chat", "action", "cheer", "subscription", "resub", "subgift", "raided", "usernotice", "timeout", "ban", "clearchat", "messagedeleted", "roomstate", "emoteonly"]),
    );
  });

  it("reconnects after RECONNECT and keeps receiving", async () => {
    sim.setChatRate("alpha", 20);
    const c = new tmi.Client({ connection: { ...sim.tmi, reconnectInterval: 100 }, channels: ["alpha"] });
    client = c;
    let connected = 0;
    let messages = 0;
    c.on("connected", () => void connected++);
    c.on("message", () => void messages++);
    await c.connect();
    await waitFor(() => messages > 0);
    sim.injectFault({ kind: "irc-reconnect", graceMs: 100 });
    await waitFor(() => connected === 2, 15_000);
    const after = messages;
    await waitFor(() => messages > after + 5, 15_000);
  });
});
