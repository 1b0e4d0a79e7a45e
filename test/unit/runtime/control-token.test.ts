import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Redacted } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { controlTokenNotice, controlTokenPath, readClientToken, resolveControlToken, tokenMatches } from "../../../src/runtime/control-token.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});
const tempDir = async () => (dir = await mkdtemp(join(tmpdir(), "vod-tender-token-")));

describe("resolveControlToken", () => {
  it("generates a token on first start, stores it with mode 0600, and reuses it afterwards", async () => {
    const dataDir = join(await tempDir(), "data");
    const first = await Effect.runPromise(resolveControlToken({ env: undefined, dataDir }));
    expect(first.source).toBe("generated");
    expect(first.path).toBe(controlTokenPath(dataDir));
    expect((await stat(controlTokenPath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await readFile(controlTokenPath(dataDir), "utf8")).trim()).toBe(Redacted.value(first.token));
    expect(Redacted.value(first.token)).toMatch(/^vt_[A-Za-z0-9_-]{43}$/);

    expect(controlTokenNotice(first)).toContain(Redacted.value(first.token));

    const second = await Effect.runPromise(resolveControlToken({ env: undefined, dataDir }));
    expect(second.source).toBe("file");
    expect(Redacted.value(second.token)).toBe(Redacted.value(first.token));
    // Printed once: a later start says nothing about it.
    expect(controlTokenNotice(second)).toBeUndefined();
  });

  it("prefers CONTROL_TOKEN and writes nothing", async () => {
    const dataDir = await tempDir();
    const resolved = await Effect.runPromise(resolveControlToken({ env: "  from-env  ", dataDir }));
    expect([resolved.source, Redacted.value(resolved.token), resolved.path]).toEqual(["env", "from-env", undefined]);
    const redacted = await Effect.runPromise(resolveControlToken({ env: Redacted.make("from-config"), dataDir }));
    expect(Redacted.value(redacted.token)).toBe("from-config");
    await expect(stat(controlTokenPath(dataDir))).rejects.toThrow(/ENOENT/);
  });

  it("tightens a token file others can read", async () => {
    const dataDir = await tempDir();
    await writeFile(controlTokenPath(dataDir), "stored-token\n");
    await chmod(controlTokenPath(dataDir), 0o644);
    const resolved = await Effect.runPromise(resolveControlToken({ env: "", dataDir }));
    expect([resolved.source, Redacted.value(resolved.token), resolved.permissionsFixed]).toEqual(["file", "stored-token", true]);
    expect((await stat(controlTokenPath(dataDir))).mode & 0o777).toBe(0o600);
  });
});

describe("readClientToken", () => {
  it("reads CONTROL_TOKEN, else the stored file, and says what to do when there is neither", async () => {
    const dataDir = await tempDir();
    expect(Redacted.value(await Effect.runPromise(readClientToken({ env: "abc", dataDir })))).toBe("abc");
    const missing = await Effect.runPromise(Effect.flip(readClientToken({ env: undefined, dataDir })));
    expect(missing.message).toMatch(/set CONTROL_TOKEN or start the server once/);
    await writeFile(controlTokenPath(dataDir), "stored\n", { mode: 0o600 });
    expect(Redacted.value(await Effect.runPromise(readClientToken({ env: undefined, dataDir })))).toBe("stored");
  });
});

describe("tokenMatches", () => {
  it("accepts only the exact token", () => {
    const token = Redacted.make("secret-token");
    expect(tokenMatches(token, "secret-token")).toBe(true);
    expect(tokenMatches(token, "secret-token ")).toBe(false);
    expect(tokenMatches(token, "secret")).toBe(false);
    expect(tokenMatches(token, undefined)).toBe(false);
  });
});
