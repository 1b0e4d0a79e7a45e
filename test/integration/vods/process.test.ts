/**
 * `vod-tender start` as a real process against the simulator and one test
 * database: a download killed with SIGKILL is resumed by the next process, and
 * two processes sharing the database download every VOD exactly once.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { type CliProcess, startCli } from "../../support/cli-process.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";
import { pollUntil } from "../../support/poll-until.ts";

const ADMIN = "process-test-admin";

let sim: Simulator;
const cleanup: Array<() => Promise<void>> = [];

beforeAll(async () => {
  sim = await startSimulator({
    chat: false,
    uploadDir: null,
    scenario: {
      channels: [
        { login: "killme", id: "6001", vods: [{ id: "7701", duration: "60s", bitrate: "4M", createdAt: "2024-08-01T00:00:00Z" }] },
        { login: "duo1", id: "6002", vods: [7801, 7802, 7803].map((id, i) => ({ id: String(id), duration: "8s", createdAt: `2024-08-0${i + 1}T00:00:00Z` })) },
        { login: "duo2", id: "6003", vods: [7811, 7812, 7813].map((id, i) => ({ id: String(id), duration: "8s", createdAt: `2024-08-0${i + 1}T00:00:00Z` })) },
      ],
    },
  });
  await sim.prepareVideo();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await sim?.stop();
});

/** A `vod-tender start` on `database`, storing files under `dataDir`. */
const start = (database: TestDatabase, dataDir: string, channels: string): CliProcess & { readonly url: () => Promise<string> } => {
  const cli = startCli(["start"], {
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    HTTP_ADDR: "127.0.0.1:0",
    ADMIN_TOKEN: ADMIN,
    TWITCH_CHANNELS: channels,
    TWITCH_CLIENT_ID: sim.clientId,
    TWITCH_CLIENT_SECRET: sim.clientSecret,
    TWITCH_HELIX_URL: sim.urls.helix,
    TWITCH_OAUTH_URL: sim.urls.oauth,
    TWITCH_IRC_URL: sim.urls.ircWs,
    CHAT_MODE: "off",
    MAX_CONCURRENT_DOWNLOADS: "2",
    VOD_PROCESS_INTERVAL: "1s",
    DOWNLOAD_BACKOFF_BASE: "200ms",
  });
  cleanup.push(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill("SIGTERM");
      await cli.exited;
    }
  });
  const url = async () => (await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000))[1]!;
  return { ...cli, url };
};

const admin = (url: string, path: string) => fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });

const query = async <R extends Record<string, unknown>>(database: TestDatabase, text: string, values: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
};

const until = <A>(read: () => Promise<A>, done: (value: A) => boolean, timeoutMs = 90_000): Promise<A> =>
  pollUntil(read, done, timeoutMs, 150);

const metric = async (url: string, name: string, channel: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`channel="${channel}"`));
  return line === undefined ? 0 : Number(line.split(" ").pop());
};

const sha256Of = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });

const fresh = async () => {
  const database = await createTestDatabase();
  cleanup.push(() => database.drop());
  const dir = await mkdtemp(join(tmpdir(), "vt-process-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return { database, dir };
};

describe("vod-tender start", () => {
  it("a download killed with SIGKILL is resumed by the next process, which fetches well under the whole file", async () => {
    const { database, dir } = await fresh();
    // Slow segments: the download is still running when the process dies.
    const slow = sim.injectFault({ kind: "slow", path: "/vods/7701/", delayMs: 300, count: 10_000, persistent: true });
    const first = start(database, dir, "killme");
    const firstUrl = await first.url();
    expect((await admin(firstUrl, "/admin/vod/catalog?channel=killme")).status).toBe(202);
    const row = async () => (await query<{ download_bytes: string; download_total: string }>(database, "SELECT download_bytes, download_total FROM vods WHERE twitch_vod_id = '7701'"))[0];
    await until(row, (r) => r !== undefined && Number(r.download_total) > 0 && Number(r.download_bytes) > 0.4 * Number(r.download_total));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(137);
    const path = (await query<{ file_path: string }>(database, "SELECT file_path FROM vods WHERE twitch_vod_id = '7701'"))[0]!.file_path;
    const partial = (await stat(`${path}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    sim.clearFault(slow);

    // The dead process's claim goes with its database session: the next process takes the VOD at once.
    const second = start(database, dir, "killme");
    const secondUrl = await second.url();
    const done = await until(
      async () => (await query<{ processed: boolean; sha256: string | null; file_size: string | null; claimed_by: string | null }>(database, "SELECT processed, sha256, file_size, claimed_by FROM vods WHERE twitch_vod_id = '7701'"))[0],
      (r) => r?.processed === true,
    );
    const fetched = await metric(secondUrl, "vodtender_download_bytes_total", "killme");
    const size = Number(done!.file_size);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(0.75 * size);
    expect(done!.sha256).toBe(await sha256Of(path));
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("two processes on one database download every VOD exactly once", async () => {
    const { database, dir } = await fresh();
    const one = start(database, join(dir, "one"), "duo1,duo2");
    const oneUrl = await one.url();
    const two = start(database, join(dir, "two"), "duo1,duo2");
    const twoUrl = await two.url();
    for (const channel of ["duo1", "duo2"]) {
      expect((await admin(oneUrl, `/admin/vod/catalog?channel=${channel}`)).status).toBe(202);
      expect((await admin(twoUrl, `/admin/vod/catalog?channel=${channel}`)).status).toBe(202);
    }
    const rows = await until(
      () => query<{ twitch_vod_id: string; processed: boolean; file_path: string }>(database, "SELECT twitch_vod_id, processed, file_path FROM vods ORDER BY twitch_vod_id"),
      (r) => r.length === 6 && r.every((v) => v.processed),
    );
    const files = async (sub: string) => {
      const found: Array<string> = [];
      for (const channel of ["duo1", "duo2"]) {
        const names = await readdir(join(dir, sub, "vods", channel)).catch(() => [] as Array<string>);
        found.push(...names.filter((n) => n.endsWith(".mp4")));
      }
      return found;
    };
    const all = [...(await files("one")), ...(await files("two"))];
    // Each VOD's file exists once, in the data folder of the process that downloaded it.
    for (const vod of rows) expect(all.filter((name) => name.includes(`_${vod.twitch_vod_id}_`))).toHaveLength(1);
    expect(all).toHaveLength(6);
    let started = 0;
    for (const url of [oneUrl, twoUrl]) for (const channel of ["duo1", "duo2"]) started += await metric(url, "vodtender_downloads_started_total", channel);
    expect(started).toBe(6);
    for (const p of [one, two]) p.child.kill("SIGTERM");
    expect(await one.exited).toBe(0);
    expect(await two.exited).toBe(0);
  });
});
