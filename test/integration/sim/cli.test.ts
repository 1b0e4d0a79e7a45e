import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url).pathname;
const code = "const { runSim } = await import('./src/sim/cli.ts'); process.exitCode = await runSim(process.argv.slice(1));";

const start = (args: string[]) => {
  const child = spawn(process.execPath, ["--input-type=module", "-e", code, "--", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  let done = false;
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (c) => {
      done = true;
      resolve(c ?? -1);
    }),
  );
  return { child, exited, out: () => stdout, err: () => stderr, done: () => done };
};

describe("vod-tender sim", () => {
  it("prints where everything is, serves, and stops cleanly on SIGTERM", async () => {
    const p = start(["--scenario", "scenarios/demo.yaml", "--json"]);
    const deadline = Date.now() + 20_000;
    while (!p.out().includes("\n")) {
      if (p.done() || Date.now() > deadline) throw new Error(`no output: ${p.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = JSON.parse(p.out().split("\n")[0]!) as { urls: { oauth: string; helix: string }; clientId: string; clientSecret: string };
    const token = await fetch(`${info.urls.oauth}/token?client_id=${info.clientId}&client_secret=${info.clientSecret}&grant_type=client_credentials`, { method: "POST" });
    const { access_token } = (await token.json()) as { access_token: string };
    const users = await fetch(`${info.urls.helix}/users?login=pixelfox`, { headers: { "Client-Id": info.clientId, Authorization: `Bearer ${access_token}` } });
    expect(((await users.json()) as { data: { id: string }[] }).data[0]!.id).toBe("41000001");
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  it("explains an invalid scenario and exits with 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-cli-"));
    await writeFile(join(dir, "bad.yaml"), "channels:\n  - login: UPPER\n");
    const p = start(["--scenario", join(dir, "bad.yaml")]);
    expect(await p.exited).toBe(2);
    expect(p.err()).toContain("channels[0].login: a Twitch login is 1–25 lowercase letters");
  });

  it("asks for a scenario", async () => {
    const p = start([]);
    expect(await p.exited).toBe(2);
    expect(p.err()).toContain("--scenario is required");
  });
});
