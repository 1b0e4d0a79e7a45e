import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  derivedMessageId,
  ircCommandOf,
  parseChatLine,
  parseEmotes,
  parseIrcLine,
} from "../../../src/services/chat-message.ts";

// Real Twitch traffic collected from public sources (see the file's header).
const wireLines = readFileSync(new URL("../../support/wire/irc_lines.txt", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line !== "" && !line.startsWith("#"));
const line = (needle: string): string => {
  const found = wireLines.find((l) => l.includes(needle));
  if (found === undefined) throw new Error(`no wire line contains ${needle}`);
  return found;
};
const chat = (needle: string) => {
  const m = parseChatLine(line(needle), 1_700_000_000_000);
  if (m === undefined) throw new Error(`not a chat line: ${needle}`);
  return m;
};

describe("parseIrcLine", () => {
  it("unescapes IRCv3 tag values: \\\\ \\n \\s \\:", () => {
    const m = parseIrcLine(line("@a=b\\\\and"));
    expect(m?.tags).toEqual({ a: "b\\and\nk", c: "72 45", d: "gh;764" });
    expect(m?.command).toBe("FOO");
  });

  it("drops a dangling backslash and keeps CR", () => {
    expect(parseIrcLine("@key=The\\sLazy\\sDog\\ FOO")?.tags["key"]).toBe("The Lazy Dog");
    expect(parseIrcLine("@key=\\:\\s\\\\\\r\\n FOO")?.tags["key"]).toBe("; \\\r\n");
  });

  it("reads prefix, command and params, with and without a trailing colon", () => {
    const m = parseIrcLine(line("CLEARMSG #pajlada sup"));
    expect(m?.prefix).toBe("tmi.twitch.tv");
    expect(m?.params).toEqual(["#pajlada", "sup"]);
    expect(parseIrcLine("PING :tmi.twitch.tv")).toMatchObject({ prefix: null, command: "PING", params: ["tmi.twitch.tv"] });
  });

  it("finds the command cheaply for routing", () => {
    expect(ircCommandOf(line("PRIVMSG #pajlada :dank cam"))).toBe("PRIVMSG");
    expect(ircCommandOf(":tmi.twitch.tv RECONNECT")).toBe("RECONNECT");
    expect(ircCommandOf("PING :tmi.twitch.tv")).toBe("PING");
  });
});

describe("parseChatLine", () => {
  it("maps a plain PRIVMSG with Twitch's id, user and tmi-sent-ts", () => {
    const m = chat("PRIVMSG #pajlada :dank cam");
    expect(m).toMatchObject({
      kind: "PRIVMSG",
      channel: "pajlada",
      msgId: "e9d998c3-36f1-430f-89ec-6b887c28af36",
      userId: "29803735",
      username: "jun1orrrr",
      displayName: "JuN1oRRRR",
      color: "#0000FF",
      text: "dank cam",
      isAction: false,
      sentAt: 1594545155039,
      badges: [],
      emotes: [],
      bits: null,
    });
    expect(m.params).toEqual({ "room-id": "11148817" });
  });

  it("strips the ACTION framing and flags /me", () => {
    const m = chat("PRIVMSG #pajlada :\u0001ACTION -tags\u0001");
    expect(m.text).toBe("-tags");
    expect(m.isAction).toBe(true);
    expect(m.badges).toEqual([
      { name: "moderator", version: "1" },
      { name: "subscriber", version: "12" },
    ]);
  });

  it("keeps reply parents, bits and first-message", () => {
    expect(chat("PRIVMSG #retoon :@Retoon yes")).toMatchObject({
      replyParentMsgId: "6b13e51b-7ecb-43b5-ba5b-2bb5288df696",
      replyParentUserLogin: "retoon",
      replyParentMsgBody: "hello",
      firstMessage: false,
    });
    expect(chat("PRIVMSG #pajlada :trihard1").bits).toBe(1);
    expect(chat("PRIVMSG #pajlada :cmonBruh").firstMessage).toBe(true);
  });

  it("trims the escaped trailing space of a display name and keeps a middle one", () => {
    expect(chat("display-name=CarvedTaleare\\s").displayName).toBe("CarvedTaleare");
    expect(chat("display-name=Riot\\sGames").displayName).toBe("Riot Games");
  });

  it("structures emotes by code-point range, sorted by position", () => {
    const m = chat("PRIVMSG #pajlada :Kappa Keepo Kappa Kappa test");
    expect(m.emotes.slice(0, 3)).toEqual([
      { id: "25", begin: 0, end: 4 },
      { id: "1902", begin: 6, end: 10 },
      { id: "25", begin: 12, end: 16 },
    ]);
    expect(m.emotes).toHaveLength(9);
    expect(chat("emotes=300196486_TK:0-7").emotes).toEqual([{ id: "300196486_TK", begin: 0, end: 7 }]);
    expect(parseEmotes("25:0-4,bad/x:1-")).toEqual([{ id: "25", begin: 0, end: 4 }]);
  });

  it("maps USERNOTICE sub, resub, subgift, raid and announcement with their parameters", () => {
    const sub = chat("msg-id=sub;msg-param-cumulative-months=1");
    expect(sub).toMatchObject({ kind: "USERNOTICE", username: "fallenseraphhh", text: "", systemMessage: "fallenseraphhh subscribed with Twitch Prime." });
    expect(sub.params).toMatchObject({ "msg-id": "sub", "msg-param-sub-plan": "Prime", "msg-param-sub-plan-name": "Channel Subscription (xqcow)" });
    expect(chat("display-name=Gutrin").params).toMatchObject({ "msg-id": "resub", "msg-param-streak-months": "2" });
    expect(chat("display-name=Gutrin").text).toBe("xqcL");
    expect(chat("id=e21409b1-d25d-4a1a-b5cf-ef27d8b7030e").params).toMatchObject({
      "msg-id": "subgift",
      "msg-param-recipient-user-name": "qatarking24xd",
    });
    expect(chat("msg-param-viewerCount=430").params).toMatchObject({ "msg-id": "raid", "msg-param-viewerCount": "430" });
    const announcement = chat("USERNOTICE #pajlada :hello pajs");
    expect(announcement.params).toMatchObject({ "msg-id": "announcement", "msg-param-color": "PRIMARY" });
    expect(announcement.text).toBe("hello pajs pajaH Kappa Keepo");
    expect(announcement.systemMessage).toBeNull();
  });

  it("decodes \\n in a system message to a line feed, unlike tmi.js", () => {
    expect(chat("6\\sraiders\\sfrom\\sraider").systemMessage).toBe("6 raiders from raider have joined\n!");
  });

  it("maps CLEARCHAT timeout, ban and clear with the affected user", () => {
    expect(chat("CLEARCHAT #pajlada :fabzeef")).toMatchObject({
      kind: "CLEARCHAT",
      username: "fabzeef",
      userId: "148973258",
      params: { "ban-duration": "1", "room-id": "11148817", "target-user-id": "148973258" },
      sentAt: 1594553828245,
    });
    expect(chat("CLEARCHAT #pajlada :weeb123").params?.["ban-duration"]).toBeUndefined();
    expect(chat("tmi-sent-ts=1594561392337 :tmi.twitch.tv CLEARCHAT #randers").username).toBeNull();
    expect(chat("CLEARCHAT #pajlada nerixyz").username).toBe("nerixyz");
  });

  it("maps CLEARMSG with the deleted message's id, author and text", () => {
    expect(chat("CLEARMSG #pajlada :NIGHT")).toMatchObject({
      kind: "CLEARMSG",
      username: "alazymeme",
      text: "NIGHT CUNT",
      params: { "target-msg-id": "3c92014f-340a-4dc3-a9c9-e5cf182f4a84" },
    });
    expect(chat("CLEARMSG #pajlada :\u0001ACTION test\u0001")).toMatchObject({ text: "test", isAction: true });
  });

  it("derives a stable UUID-shaped id for events without one, and for the nil UUID", () => {
    const raw = line(":tmi.twitch.tv CLEARCHAT #dallas :ronni");
    const m = parseChatLine(raw, 5);
    expect(m?.msgId).toBe(derivedMessageId(raw));
    expect(m?.msgId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseChatLine(raw, 9)?.msgId).toBe(m?.msgId);
    expect(m?.sentAt).toBe(5);
    const placeholder = chat("msg-id=primepaidupgrade");
    expect(placeholder.msgId).not.toBe("00000000-0000-0000-0000-000000000000");
  });

  it("keeps a PRIVMSG without tags, taking the login from the prefix", () => {
    expect(chat(":abc!abc@abc.tmi.twitch.tv PRIVMSG #xyz :HeyGuys")).toMatchObject({ username: "abc", text: "HeyGuys", userId: null });
  });

  it("reads repeated tags as the last copy says: a later value replaces, an empty one removes a parameter", () => {
    const m = parseChatLine("@color=#FF0000;room-id=1;msg-param-x=a;color=#00FF00;room-id=2;msg-param-x= :a!a@a PRIVMSG #chan :hi", 1);
    expect(m).toMatchObject({ color: "#00FF00", params: { "room-id": "2" } });
    expect(parseChatLine("@room-id=1;id=x;room-id= :a!a@a PRIVMSG #chan :hi", 1)?.params).toBeNull();
  });

  it("keeps the author fields of CLEARCHAT and CLEARMSG empty even when the line carries them", () => {
    const m = parseChatLine("@badges=vip/1;color=#123456;display-name=Mod;bits=5;first-msg=1;target-user-id=9 :tmi.twitch.tv CLEARCHAT #chan :Bob", 1);
    expect(m).toMatchObject({ kind: "CLEARCHAT", username: "bob", userId: "9", color: null, displayName: null, badges: [], bits: null, firstMessage: false });
  });

  it("recognises exactly the chat events among all wire lines", () => {
    const recorded = wireLines.map((l) => parseChatLine(l, 1)).filter((m) => m !== undefined);
    const commands = wireLines.map(ircCommandOf).filter((c) => ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"].includes(c));
    expect(recorded).toHaveLength(commands.length);
    for (const m of recorded) expect(m.raw).not.toBe("");
  });
});
