import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "../../support/cli-process.ts";
import type { CliProcess } from "../../support/cli-process.ts";
import { connectControl } from "../../../src/runtime/control-client.ts";

// `vod-tender demo`, as the README's first command runs it: simulator, embedded
// database, real yt-dlp and tmi.js. It must show a downloaded VOD and stored chat
// within 120 s.
describe("vod-tender demo", () => {
  let dataDir: string;
  let demo: CliProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "vod-tender-demo-"));
    demo = startCli(["demo"], { DATA_DIR: dataDir, HTTP_ADDR: "127.0.0.1:0", DATABASE_URL: "", LOG_FORMAT: "json" });
  });
  afterAll(async () => {
    if (demo.child.exitCode === null) demo.child.kill("SIGTERM");
    await demo.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  it("downloads a VOD and stores chat within 120 s, then stops cleanly", { timeout: 180_000 }, async () => {
    const started = Date.now();
    const [, url] = await demo.waitFor(/console\s+(http:\/\/127\.0\.0\.1:\d+)\//, 90_000);
    const [, token] = await demo.waitFor(/^ {2}token +(\S+)$/m);
    expect(url).toBeDefined();

    const metric = async (name: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text
        .split("\n")
        .filter((line) => line.startsWith(name))
        .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    };
    const controlVods = async () => {
      // The console and ctl read VODs over /control; the admin API needs ADMIN_TOKEN, unset here.
      const client = await connectControl({ url: `${url!.replace("http", "ws")}/control`, token: token! });
      try {
        const reply = await client.request("vods.list", { limit: 50 });
        return reply.vods;
      } finally {
        await client.close();
      }
    };

    let downloaded = 0;
    let chat = 0;
    while (Date.now() - started < 120_000 && (downloaded === 0 || chat === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      downloaded = await metric("vodtender_downloads_succeeded_total");
      chat = await metric("vodtender_chat_messages_stored_total");
    }
    expect(downloaded).toBeGreaterThan(0);
    expect(chat).toBeGreaterThan(0);

    const vods = await controlVods();
    expect(vods.some((vod) => vod.processed)).toBe(true);
    const files = (await readdir(join(dataDir, "vods"), { recursive: true })).filter((f) => String(f).endsWith(".mp4"));
    expect(files.length).toBeGreaterThan(0);

    demo.child.kill("SIGTERM");
    expect(await demo.exited).toBe(0);
  });
});
