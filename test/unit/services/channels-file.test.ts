import { Effect, Exit, Result } from "effect";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChannelSettings } from "../../../src/services/channel-settings.ts";
import {
  applySettingsPatch,
  type ChannelsFileContents,
  loadChannelsFile,
  parseChannelsFile,
  readChannelsFile,
  resolveChannels,
} from "../../../src/services/channels-file.ts";
import type { ChannelsFileIssue } from "../../../src/services/config-error.ts";

const envDefaults: ChannelSettings = {
  chat: "off",
  catalog: { intervalMs: 21_600_000, max: 0, maxAgeDays: 0 },
  download: true,
  upload: { enabled: false, privacy: "private", deleteAfterUpload: true },
  retention: { keepDays: 0, keepCount: 0, dryRun: false },
  priority: 0,
};

// Lines joined with "\n" so each test shows the file as it would look, line numbers easy to count.
const yaml = (...lines: ReadonlyArray<string>): string => `${lines.join("\n")}\n`;

const parsed = (file: string, text: string): ChannelsFileContents => {
  const result = parseChannelsFile(file, text, envDefaults);
  if (Result.isFailure(result)) throw new Error(`expected a valid file, got:\n${result.failure.message}`);
  return result.success;
};

const issues = (file: string, text: string): ReadonlyArray<ChannelsFileIssue> => {
  const result = parseChannelsFile(file, text, envDefaults);
  if (Result.isSuccess(result)) throw new Error("expected the file to be rejected");
  return result.failure.issues;
};

describe("channels file: valid YAML", () => {
  it("accepts plain names and objects, normalises names, merges settings per field", () => {
    const contents = parsed(
      "channels.yaml",
      yaml(
        "# archive these",
        "defaults:",
        "  chat: auto",
        "  catalog:",
        "    interval: 2h",
        "    max: 50",
        "  upload: { enabled: true, privacy: unlisted }",
        "channels:",
        "  - SomeStreamer",
        '  - "#other_one"',
        "  - name: third_one",
        "    paused: true",
        "    chat: always",
        "    catalog: { maxAgeDays: 30 }",
        "    upload: { privacy: public }",
        "    retention: { keepCount: 5, dryRun: true }",
        "    priority: 10",
      ),
    );
    expect(contents.defaults).toEqual({
      ...envDefaults,
      chat: "auto",
      catalog: { intervalMs: 7_200_000, max: 50, maxAgeDays: 0 },
      upload: { enabled: true, privacy: "unlisted", deleteAfterUpload: true },
    });
    expect(contents.channels.map((c) => [c.name, c.source, c.paused])).toEqual([
      ["somestreamer", "file", false],
      ["other_one", "file", false],
      ["third_one", "file", true],
    ]);
    expect(contents.channels[0]?.settings).toEqual(contents.defaults);
    expect(contents.channels[2]?.settings).toEqual({
      chat: "always",
      // interval and max come from the file defaults, maxAgeDays from the channel
      catalog: { intervalMs: 7_200_000, max: 50, maxAgeDays: 30 },
      download: true,
      // enabled from the file defaults, privacy from the channel, deleteAfterUpload from the environment
      upload: { enabled: true, privacy: "public", deleteAfterUpload: true },
      retention: { keepDays: 0, keepCount: 5, dryRun: true },
      priority: 10,
    });
  });

  it("treats an empty file or one with only comments as no channels", () => {
    expect(parsed("channels.yaml", "").channels).toEqual([]);
    expect(parsed("channels.yaml", "# nothing yet\n").channels).toEqual([]);
    expect(parsed("channels.yaml", "# nothing yet\n").defaults).toEqual(envDefaults);
  });
});

describe("channels file: errors point at their line", () => {
  it("YAML syntax error: an unclosed quote is reported where it opens", () => {
    const found = issues("channels.yaml", yaml("channels:", "  - alpha_one", '  - name: "beta_one', "  - gamma_one"));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 3, column: 11 });
    expect(found[0]?.message).toContain("invalid YAML: string is never closed");
  });

  it("YAML syntax error: bad indentation", () => {
    const found = issues("channels.yaml", yaml("defaults:", "  chat: auto", " channels: []"));
    expect(found).toEqual([{ line: 3, column: 1, path: "", message: "invalid YAML: All mapping items must start at the same column" }]);
  });

  it("unknown key: points at the key and suggests the near miss", () => {
    const found = issues("channels.yaml", yaml("channels:", "  - name: alpha_one", "    chta: always", "  - beta_one"));
    expect(found).toEqual([{ line: 3, column: 5, path: "channels[0].chta", message: 'unknown key "chta" (did you mean "chat"?)' }]);
  });

  it("unknown key with no near miss lists the allowed keys", () => {
    const found = issues("channels.yaml", yaml("defaults:", "  colour: blue"));
    expect(found).toEqual([
      {
        line: 2,
        column: 3,
        path: "defaults.colour",
        message: 'unknown key "colour"; allowed keys: chat, catalog, download, upload, retention, priority',
      },
    ]);
  });

  it("bad chat mode", () => {
    const found = issues("channels.yaml", yaml("defaults:", "  chat: auto", "channels:", "  - name: alpha_one", "    chat: sometimes"));
    expect(found).toEqual([
      { line: 5, column: 11, path: "channels[0].chat", message: 'expected one of off, auto, always, got "sometimes"' },
    ]);
  });

  it("duplicate channel, however it is written", () => {
    const found = issues("channels.yaml", yaml("channels:", "  - alpha_one", "  - beta_one", "  - name: '#Alpha_One'", "    chat: auto"));
    expect(found).toEqual([
      { line: 4, column: 11, path: "channels[2].name", message: 'channel "alpha_one" is listed twice (first at line 2)' },
    ]);
  });

  it("bad channel names, as plain entries and as `name`", () => {
    const found = issues("channels.yaml", yaml("channels:", "  - ok_name", "  - x", "  - name: has space", "  - 12345"));
    expect(found).toEqual([
      { line: 3, column: 5, path: "channels[1]", message: 'expected a Twitch login (3-25 characters: a-z, 0-9, _), got "x"' },
      { line: 4, column: 11, path: "channels[2].name", message: 'expected a Twitch login (3-25 characters: a-z, 0-9, _), got "has space"' },
      { line: 5, column: 5, path: "channels[3]", message: "expected a channel name, or a mapping with at least `name`, got 12345" },
    ]);
  });

  it("reports every problem in one pass, in line order", () => {
    const found = issues(
      "channels.yaml",
      yaml(
        "defaults:",
        "  upload:",
        "    enabled: yes",
        "    privacy: hidden",
        "  priority: 1.5",
        "channels:",
        "  - name: alpha_one",
        "    retention: { keepDays: -3 }",
        "    catalog: { interval: 30 }",
        "  - { chat: auto }",
        "  - alpha_one",
      ),
    );
    expect(found.map((issue) => [issue.line, issue.path])).toEqual([
      [3, "defaults.upload.enabled"],
      [4, "defaults.upload.privacy"],
      [5, "defaults.priority"],
      [8, "channels[0].retention.keepDays"],
      [9, "channels[0].catalog.interval"],
      [10, "channels[1].name"],
      [11, "channels[2]"],
    ]);
    expect(found.map((issue) => issue.message)).toEqual([
      'expected true or false, got "yes"',
      'expected one of private, unlisted, public, got "hidden"',
      "expected an integer, got 1.5",
      "expected a non-negative integer, got -3",
      'expected a positive duration such as "30m", "6h" or "1h30m", got 30',
      "this key is required",
      'channel "alpha_one" is listed twice (first at line 7)',
    ]);
  });

  it("a file that is not a mapping", () => {
    expect(issues("channels.yaml", yaml("- alpha_one", "- beta_one"))).toEqual([
      { line: 1, column: 1, path: "", message: 'expected a mapping with `defaults` and/or `channels`, got ["alpha_one","beta_one"]' },
    ]);
    expect(issues("channels.yaml", yaml("channels: alpha_one"))).toEqual([
      { line: 1, column: 11, path: "channels", message: 'expected a list, got "alpha_one"' },
    ]);
  });

  it("renders problems as file:line:column: path: message", () => {
    const result = parseChannelsFile("/etc/channels.yaml", yaml("channels:", "  - name: alpha_one", "    chat: loud"), envDefaults);
    expect(Result.isFailure(result) && result.failure.message).toBe(
      '/etc/channels.yaml:3:11: channels[0].chat: expected one of off, auto, always, got "loud"',
    );
  });
});

describe("channels file: JSON", () => {
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

  it("accepts the same structure", () => {
    const contents = parsed("channels.json", json({ defaults: { chat: "auto" }, channels: ["alpha_one", { name: "beta_one", paused: true }] }));
    expect(contents.channels.map((c) => [c.name, c.paused, c.settings.chat])).toEqual([
      ["alpha_one", false, "auto"],
      ["beta_one", true, "auto"],
    ]);
  });

  it("is recognised by content when the name has no extension", () => {
    expect(parsed("channels", '{"channels": ["alpha_one"]}').channels.map((c) => c.name)).toEqual(["alpha_one"]);
  });

  it("schema errors carry JSON line numbers", () => {
    const text = json({ channels: ["alpha_one", { name: "beta_one", chat: "loud" }] });
    // {
    //   "channels": [
    //     "alpha_one",
    //     {
    //       "name": "beta_one",
    //       "chat": "loud"
    expect(issues("channels.json", text)).toEqual([
      { line: 6, column: 15, path: "channels[1].chat", message: 'expected one of off, auto, always, got "loud"' },
    ]);
  });

  it("syntax errors carry line numbers, trailing commas included", () => {
    expect(issues("channels.json", '{\n  "channels": [\n    "alpha_one",\n  ]\n}\n')).toEqual([
      { line: 3, column: 16, path: "", message: 'invalid JSON: trailing comma before "]"' },
    ]);
    expect(issues("channels.json", '{\n  "channels": [\n    "alpha_one"\n    "beta_one"\n  ]\n}\n')).toEqual([
      { line: 4, column: 5, path: "", message: `invalid JSON: expected "," or "]" but found '"'` },
    ]);
    expect(issues("channels.json", "")).toEqual([{ line: 1, column: 1, path: "", message: "invalid JSON: the file is empty" }]);
  });

  it("duplicate keys are errors, not last-one-wins", () => {
    const found = issues("channels.json", '{\n  "channels": ["alpha_one"],\n  "channels": ["beta_one"]\n}\n');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 3 });
    expect(found[0]?.message).toContain("Map keys must be unique");
  });
});

describe("channels file: from disk", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vod-tender-channels-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loadChannelsFile returns the file's channels", async () => {
    const path = join(dir, "channels.yml");
    await writeFile(path, yaml("channels:", "  - alpha_one", "  - name: beta_one", "    chat: always"));
    const channels = await Effect.runPromise(loadChannelsFile(path, envDefaults));
    expect(channels.map((c) => [c.name, c.source, c.settings.chat])).toEqual([
      ["alpha_one", "file", "off"],
      ["beta_one", "file", "always"],
    ]);
  });

  it("a missing file is a ChannelsFileError naming it", async () => {
    const path = join(dir, "absent.yaml");
    const exit = await Effect.runPromiseExit(readChannelsFile(path, envDefaults));
    expect(exit).toMatchObject({ _tag: "Failure" });
    const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined;
    expect(error).toMatchObject({ _tag: "Fail", error: { _tag: "ChannelsFileError", file: path } });
    expect(String((error as { error: Error }).error.message)).toBe(`${path}: cannot read the file: ENOENT`);
  });
});

describe("resolveChannels", () => {
  const file = parsed("channels.yaml", yaml("defaults:", "  chat: auto", "channels:", "  - name: shared_one", "    paused: true", "  - file_only"));

  it("lists env channels first, then the file's; a channel in both is the file's", () => {
    const channels = resolveChannels(["env_only", "shared_one"], file, envDefaults);
    expect(channels.map((c) => [c.name, c.source, c.paused])).toEqual([
      ["env_only", "env", false],
      ["shared_one", "file", true],
      ["file_only", "file", false],
    ]);
  });

  it("env channels get the file's defaults too", () => {
    expect(resolveChannels(["env_only"], file, envDefaults)[0]?.settings.chat).toBe("auto");
    expect(resolveChannels(["env_only"], undefined, envDefaults)[0]?.settings).toEqual(envDefaults);
  });
});

describe("applySettingsPatch", () => {
  it("leaves unspecified fields alone, nested groups included", () => {
    expect(applySettingsPatch(envDefaults, { upload: { privacy: "public" } })).toEqual({
      ...envDefaults,
      upload: { enabled: false, privacy: "public", deleteAfterUpload: true },
    });
    expect(applySettingsPatch(envDefaults, undefined)).toBe(envDefaults);
  });
});
