import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConfigCheck } from "../../../src/runtime/config-check.ts";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vod-tender-config-check-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = async (env: Record<string, string | undefined>) => {
  let stdout = "";
  let stderr = "";
  const code = await runConfigCheck(env, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
};

describe("runConfigCheck", () => {
  it("prints the effective configuration and exits 0 when valid", async () => {
    const channels = join(dir, "ok.yaml");
    await writeFile(channels, "channels:\n  - name: file_one\n    chat: always\n");
    const { code, stdout, stderr } = await check({
      TWITCH_CHANNELS: "env_one",
      CHANNELS_FILE: channels,
      TWITCH_CLIENT_ID: "cid",
      TWITCH_CLIENT_SECRET: "very-secret-client-secret",
      ADMIN_TOKEN: "very-secret-admin-token",
      PATH: process.env["PATH"],
    });
    expect(code).toBe(0);
    const shown = JSON.parse(stdout) as { channels: Array<{ name: string; source: string; chat: string }>; security: unknown };
    expect(shown.channels.map((c) => [c.name, c.source, c.chat])).toEqual([
      ["env_one", "env", "off"],
      ["file_one", "file", "always"],
    ]);
    expect(shown.security).toMatchObject({ adminToken: "<redacted>" });
    expect(stdout + stderr).not.toContain("very-secret");
    expect(stderr).toContain("configuration is valid: 2 channels\n");
    expect(stderr).toMatch(/^tool yt-dlp: \/\S+ \(.+\)$/m);
  });

  it("exits 2 and lists every problem when invalid, printing no configuration", async () => {
    const channels = join(dir, "bad.yaml");
    await writeFile(channels, "channels:\n  - name: file_one\n    chta: always\n");
    const { code, stdout, stderr } = await check({
      MAX_CONCURRENT_DOWNLOADS: "abc",
      ENCRYPTION_KEY: "dG9vIHNob3J0",
      CHANNELS_FILE: channels,
    });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        "configuration is invalid (3 problems):",
        '  - MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "abc"',
        "  - ENCRYPTION_KEY: expected 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits; this decodes to 9 bytes (value not shown)",
        `  - ${channels}:3:5: channels[0].chta: unknown key "chta" (did you mean "chat"?)`,
        "",
      ].join("\n"),
    );
    expect(stderr).not.toContain("dG9vIHNob3J0");
  });

  it("warns, without failing, about a missing tool and shadowed variables", async () => {
    const { code, stderr } = await check({
      TWITCH_CHANNEL: "single_one",
      TWITCH_CHANNELS: "env_one",
      YTDLP_PATH: join(dir, "no-such-yt-dlp"),
      PATH: process.env["PATH"],
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(/^tool yt-dlp: not usable: /m);
    expect(stderr).toMatch(/^warning: yt-dlp: not usable: /m);
    expect(stderr).toContain("warning: TWITCH_CHANNEL is ignored because TWITCH_CHANNELS is set\n");
  });
});

describe("vod-tender config check (the command)", () => {
  const node = resolve("node_modules/.bin/node");
  const main = resolve("src/runtime/main.ts");

  it("exits 0 for a valid environment and 2 for an invalid one", async () => {
    const base = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" };
    const valid = await execa(node, [main, "config", "check"], { env: { ...base, TWITCH_CHANNELS: "env_one" }, extendEnv: false, reject: false });
    expect(valid.exitCode).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ channels: [{ name: "env_one" }] });
    const invalid = await execa(node, [main, "config", "check"], { env: { ...base, LOG_FORMAT: "xml" }, extendEnv: false, reject: false });
    expect(invalid.exitCode).toBe(2);
    expect(invalid.stderr).toContain('LOG_FORMAT: expected one of json, text, got "xml"');
  });
});
