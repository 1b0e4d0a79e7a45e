import { Result } from "effect";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseChannelsFile } from "../../../src/services/channels-file.ts";
import { decodeEnv, envVariables } from "../../../src/services/config-env.ts";

const docs = await readFile(resolve(import.meta.dirname, "../../../docs/configuration.md"), "utf8");

const codeBlocks = (language: string): ReadonlyArray<string> =>
  [...docs.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((match) => match[1] ?? "");

describe("docs/configuration.md", () => {
  it("documents every variable vod-tender reads in a table row", () => {
    const undocumented = envVariables.filter((name) => !docs.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
  });

  it("has channels-file examples that are valid as written", () => {
    const envDefaults = Result.getOrThrow(decodeEnv({})).envChannelDefaults;
    const [yaml] = codeBlocks("yaml");
    const [json] = codeBlocks("json");
    const fromYaml = parseChannelsFile("channels.yaml", yaml ?? "", envDefaults);
    const fromJson = parseChannelsFile("channels.json", json ?? "", envDefaults);
    expect(Result.isSuccess(fromYaml) ? fromYaml.success.channels.map((c) => c.name) : fromYaml.failure.message).toEqual([
      "somestreamer",
      "anotherstreamer",
      "big_streamer",
      "on_hold",
      "chat_only",
    ]);
    expect(Result.isSuccess(fromJson) ? fromJson.success.channels.map((c) => c.name) : fromJson.failure.message).toEqual([
      "somestreamer",
      "big_streamer",
      "on_hold",
    ]);
  });
});
