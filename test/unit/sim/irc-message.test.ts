import { describe, expect, it } from "vitest";
import { escapeTagValue, formatIrcLine, formatTags, parseIrcLine, unescapeTagValue } from "../../../src/sim/irc-message.ts";
import { wireLine, wireLines } from "../../support/wire-data.ts";

describe("parseIrcLine", () => {
  it("reads a tagged PRIVMSG as twitch-irc-rs test_privmsg expects", () => {
    const m = parseIrcLine(wireLine("PRIVMSG (mod.rs test_privmsg)"))!;
    expect(Object.fromEntries(m.tags)).toEqual({
      "display-name": "randers",
      "tmi-sent-ts": "1577040814959",
      historical: "1",
      "room-id": "11148817",
      emotes: "",
      color: "#19E6E6",
      id: "6e2ccb1f-01ed-44d0-85b6-edf762524475",
      turbo: "0",
      flags: "",
      "user-id": "40286300",
      "rm-received-ts": "1577040815136",
      "user-type": "mod",
      subscriber: "1",
      badges: "moderator/1,subscriber/12",
      "badge-info": "subscriber/16",
      mod: "1",
    });
    expect(m.prefix).toBe("randers!randers@randers.tmi.twitch.tv");
    expect(m.command).toBe("PRIVMSG");
    expect(m.params).toEqual(["#pajlada", "Pajapains"]);
  });

  it("decodes the IRCv3 escapes of test_pure_irc_7", () => {
    const m = parseIrcLine(wireLine("IRCv3 escapes"))!;
    expect(Object.fromEntries(m.tags)).toEqual({ a: "b\\and\nk", c: "72 45", d: "gh;764" });
    expect(m.prefix).toBeNull();
    expect(m.command).toBe("FOO");
    expect(m.params).toEqual([]);
  });

  it("reads PING in both server forms and a trailing-less CLEARCHAT", () => {
    expect(parseIrcLine("PING :tmi.twitch.tv")).toMatchObject({ prefix: null, command: "PING", params: ["tmi.twitch.tv"] });
    expect(parseIrcLine(":tmi.twitch.tv PING")).toMatchObject({ prefix: "tmi.twitch.tv", command: "PING", params: [] });
    expect(parseIrcLine(wireLine("CLEARCHAT timeout, recent-messages form"))!.params).toEqual(["#pajlada", "nerixyz"]);
  });

  it("keeps the 0x01 bytes of an ACTION in the text", () => {
    expect(parseIrcLine(wireLine("PRIVMSG action"))!.params[1]).toBe("\u0001ACTION -tags\u0001");
  });

  it("survives format → parse for every real line", () => {
    for (const { line } of wireLines()) {
      const m = parseIrcLine(line)!;
      const again = parseIrcLine(formatIrcLine({ tags: [...m.tags], prefix: m.prefix, command: m.command, params: m.params }))!;
      expect({ line, ...again, tags: [...again.tags] }).toEqual({ line, ...m, tags: [...m.tags], rawTags: again.rawTags });
    }
  });
});

describe("tag values", () => {
  it("unescape every sequence (twitch-irc-rs and dank-twitch-irc cases)", () => {
    expect(unescapeTagValue("\\:")).toBe(";");
    expect(unescapeTagValue("\\s")).toBe(" ");
    expect(unescapeTagValue("\\\\")).toBe("\\");
    expect(unescapeTagValue("\\r")).toBe("\r");
    expect(unescapeTagValue("\\n")).toBe("\n");
    expect(unescapeTagValue("\\:\\s\\\\\\r\\n")).toBe("; \\\r\n");
    expect(unescapeTagValue("The\\sLazy\\sDog\\")).toBe("The Lazy Dog");
    expect(unescapeTagValue("abc\\\\ndef")).toBe("abc\\ndef");
    expect(unescapeTagValue("abc\\:\\s\\\\\\r\\ndef\\")).toBe("abc; \\\r\ndef");
    expect(unescapeTagValue("a\\Tb")).toBe("aTb");
  });

  it("escape back to the exact bytes Twitch sent, for every tag of every real line", () => {
    let checked = 0;
    for (const { line } of wireLines()) {
      for (const raw of parseIrcLine(line)!.rawTags.values()) {
        expect(escapeTagValue(unescapeTagValue(raw))).toBe(raw);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(900);
  });

  it("are formatted in the given order", () => {
    expect(formatTags([["display-name", "Riot Games"], ["system-msg", "a;b\\c"], ["emotes", ""]])).toBe(
      "@display-name=Riot\\sGames;system-msg=a\\:b\\\\c;emotes=",
    );
  });
});

describe("formatIrcLine", () => {
  it("writes message text as a trailing parameter like Twitch", () => {
    expect(formatIrcLine({ prefix: "tmi.twitch.tv", command: "CLEARCHAT", params: ["#dallas", "ronni"], trailing: true })).toBe(
      wireLine("CLEARCHAT user"),
    );
    expect(formatIrcLine({ prefix: "tmi.twitch.tv", command: "CLEARCHAT", params: ["#dallas"] })).toBe(wireLine("CLEARCHAT all"));
    expect(formatIrcLine({ prefix: "tmi.twitch.tv", command: "CAP", params: ["*", "ACK", "twitch.tv/commands twitch.tv/tags"] })).toBe(
      wireLine("CAP ACK (commands+tags)"),
    );
  });
});
