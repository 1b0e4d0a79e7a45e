import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIrcLine, type IrcMessage } from "../../../src/sim/irc-message.ts";
import type { ChatKind } from "../../../src/sim/scenario.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { wireLine } from "../../support/wire-data.ts";

// Tags Twitch sends today that some older captures lack.
const modernExtras = new Set([
  "client-nonce",
  "returning-chatter",
  "msg-param-multimonth-duration",
  "msg-param-multimonth-tenure",
  "msg-param-was-gifted",
  "reply-thread-parent-display-name",
  "reply-thread-parent-msg-id",
  "reply-thread-parent-user-id",
  "reply-thread-parent-user-login",
]);

/** Same tag names in the same order as the real line, apart from tags only newer captures have. */
const expectSameTags = (ours: IrcMessage, real: IrcMessage, optional: readonly string[] = []) => {
  const realKeys = [...real.tags.keys()].filter((k) => !optional.includes(k));
  const ourKeys = [...ours.tags.keys()].filter((k) => !optional.includes(k));
  expect(ourKeys.filter((k) => !modernExtras.has(k) || realKeys.includes(k))).toEqual(realKeys);
};

const formats: Record<string, RegExp> = {
  id: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  "tmi-sent-ts": /^\d{13}$/,
  "user-id": /^\d+$/,
  "room-id": /^\d+$/,
  "target-user-id": /^\d+$/,
  color: /^(#[0-9A-F]{6})?$/,
  badges: /^([a-z0-9_-]+\/\w+(,[a-z0-9_-]+\/\w+)*)?$/,
  "badge-info": /^(subscriber\/\d+)?$/,
  emotes: /^(\w+:\d+-\d+(,\d+-\d+)*(\/\w+:\d+-\d+(,\d+-\d+)*)*)?$/,
  "client-nonce": /^[0-9a-f]{32}$/,
  mod: /^[01]$/,
  subscriber: /^[01]$/,
  "first-msg": /^[01]$/,
  "user-type": /^(mod)?$/,
};

const expectWellFormed = (m: IrcMessage) => {
  for (const [k, re] of Object.entries(formats)) if (m.tags.has(k)) expect(m.tags.get(k), k).toMatch(re);
};

describe("generated chat lines", () => {
  let sim: Simulator;
  const lines = new Map<ChatKind, IrcMessage[]>();

  beforeAll(async () => {
    sim = await startSimulator({ chat: false, scenario: { seed: 3, channels: [{ login: "pajlada", id: "11148817", chat: { chatters: 50 } }] } });
    const kinds: ChatKind[] = ["message", "emote", "action", "reply", "bits", "firstMsg", "sub", "resub", "subgift", "raid", "announcement", "timeout", "ban", "clear", "delete", "roomstate", "notice"];
    for (let round = 0; round < 30; round++) {
      for (const kind of kinds) {
        const before = sim.sentLines().length;
        sim.emitChat("pajlada", kind);
        const made = sim.sentLines().slice(before).map((l) => parseIrcLine(l.line)!);
        lines.set(kind, [...(lines.get(kind) ?? []), ...made]);
      }
    }
  });
  afterAll(() => sim.stop());

  const one = (kind: ChatKind, command: string) => lines.get(kind)!.find((m) => m.command === command)!;

  it("PRIVMSG has the tags of a real message, in Twitch's order", () => {
    const real = parseIrcLine(wireLine("PRIVMSG reply-parent-* tags"))!;
    const replyTags = [...real.tags.keys()].filter((k) => k.startsWith("reply-parent-"));
    const plain = one("message", "PRIVMSG");
    expectSameTags(plain, real, replyTags);
    expect(plain.prefix).toMatch(/^([a-z0-9_]+)!\1@\1\.tmi\.twitch\.tv$/);
    expect(plain.params[0]).toBe("#pajlada");
    expectSameTags(one("reply", "PRIVMSG"), real);
    expectSameTags(one("firstMsg", "PRIVMSG"), real, replyTags);
    expect(one("firstMsg", "PRIVMSG").tags.get("first-msg")).toBe("1");
  });

  it("replies quote their parent, escaped as Twitch escapes it", () => {
    for (const reply of lines.get("reply")!.filter((m) => m.tags.has("reply-parent-msg-id"))) {
      const parentId = reply.tags.get("reply-parent-msg-id")!;
      const parent = sim.sentLines().find((l) => l.msgId === parentId);
      expect(parent).toBeDefined();
      const p = parseIrcLine(parent!.line)!;
      expect(reply.tags.get("reply-parent-user-id")).toBe(p.tags.get("user-id"));
      expect(reply.tags.get("reply-parent-display-name")).toBe(p.tags.get("display-name"));
      expect(reply.tags.get("reply-parent-msg-body")).toBe(p.params[1]!.replace(/^\u0001ACTION (.*)\u0001$/, "$1"));
      expect(reply.params[1]).toMatch(new RegExp(`^@${p.tags.get("display-name")!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));
    }
  });

  it("emote ranges point at the emotes, counted in code points", () => {
    let checked = 0;
    for (const m of [...lines.get("emote")!, ...lines.get("action")!]) {
      const text = m.params[1]!.replace(/^\u0001ACTION (.*)\u0001$/, "$1");
      const cps = Array.from(text);
      const emotes = m.tags.get("emotes")!;
      if (emotes === "") continue;
      for (const group of emotes.split("/")) {
        const [, ranges] = group.split(":");
        for (const r of ranges!.split(",")) {
          const [s, e] = r.split("-").map(Number);
          const code = cps.slice(s, e! + 1).join("");
          expect(code).not.toMatch(/\s/);
          expect(cps[s! - 1] ?? " ").toBe(" ");
          expect(cps[e! + 1] ?? " ").toBe(" ");
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("/me, cheers and every tag value look like Twitch's", () => {
    expect(one("action", "PRIVMSG").params[1]).toMatch(/^\u0001ACTION .+\u0001$/);
    const cheer = one("bits", "PRIVMSG");
    expect(cheer.tags.get("bits")).toMatch(/^\d+$/);
    expect([...cheer.tags.keys()].indexOf("bits")).toBe([...cheer.tags.keys()].indexOf("badges") + 1);
    expect(cheer.params[1]).toMatch(new RegExp(`^Cheer${cheer.tags.get("bits")} `));
    for (const list of lines.values()) for (const m of list) expectWellFormed(m);
  });

  it("USERNOTICEs have the tags of real ones", () => {
    expectSameTags(one("sub", "USERNOTICE"), parseIrcLine(wireLine("USERNOTICE sub"))!);
    const resub = lines.get("resub")!.find((m) => m.tags.get("msg-param-should-share-streak") === "1")!;
    expectSameTags(resub, parseIrcLine(wireLine("USERNOTICE resub with message"))!);
    expectSameTags(one("subgift", "USERNOTICE"), parseIrcLine(wireLine("USERNOTICE subgift"))!);
    expectSameTags(one("raid", "USERNOTICE"), parseIrcLine(wireLine("USERNOTICE raid"))!);
    expectSameTags(one("announcement", "USERNOTICE"), parseIrcLine(wireLine("USERNOTICE announcement (mod announcement)"))!);
    const sub = one("sub", "USERNOTICE");
    expect([sub.prefix, sub.params[0]]).toEqual(["tmi.twitch.tv", "#pajlada"]);
    expect(sub.tags.get("system-msg")).toMatch(/ subscribed (with Prime|at Tier \d)\.$/);
    expect(sub.tags.get("msg-param-sub-plan-name")).toBe("Channel Subscription (pajlada)");
    expect(one("announcement", "USERNOTICE").params[1]).toBeTruthy();
  });

  it("moderation lines match real CLEARCHAT, CLEARMSG, ROOMSTATE and NOTICE", () => {
    const pairs: [ChatKind, string, string][] = [
      ["timeout", "CLEARCHAT", "CLEARCHAT timeout (ban-duration)"],
      ["ban", "CLEARCHAT", "CLEARCHAT permanent ban"],
      ["clear", "CLEARCHAT", "CLEARCHAT full chat clear"],
      ["delete", "CLEARMSG", "CLEARMSG"],
      ["roomstate", "ROOMSTATE", "ROOMSTATE partial (slow)"],
      ["notice", "NOTICE", "NOTICE emote_only_on, recent-messages form"],
    ];
    for (const [kind, command, label] of pairs) {
      const ours = one(kind, command);
      const real = parseIrcLine(wireLine(label))!;
      expectSameTags(ours, real, ["historical", "rm-received-ts"]);
      expect([ours.prefix, ours.command, ours.params.length]).toEqual([real.prefix, real.command, real.params.length]);
    }
    const deleted = one("delete", "CLEARMSG");
    const target = sim.sentLines().find((l) => l.msgId === deleted.tags.get("target-msg-id"));
    expect(parseIrcLine(target!.line)!.params[1]).toBe(deleted.params[1]);
  });

  it("records each line with its message id", () => {
    for (const l of sim.sentLines()) {
      const m = parseIrcLine(l.line)!;
      expect(l.msgId).toBe(m.tags.get("id") ?? null);
      expect(l.command).toBe(m.command);
      expect(l.source).toBe("generated");
    }
  });

  it("is the same for the same seed", async () => {
    const other = await startSimulator({ chat: false, scenario: { seed: 3, channels: [{ login: "pajlada", id: "11148817", chat: { chatters: 50 } }] } });
    try {
      other.emitChat("pajlada", "message");
      const strip = (l: string) => l.replace(/tmi-sent-ts=\d+/, "");
      expect(strip(other.sentLines()[0]!.line)).toBe(strip(sim.sentLines()[0]!.line));
    } finally {
      await other.stop();
    }
  });
});
