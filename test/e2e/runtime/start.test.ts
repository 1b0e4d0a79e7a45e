import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "../../support/cli-process.ts";

const run = promisify(execFile);

// The command a user types, with no DATABASE_URL: the embedded PostgreSQL path.
describe("vod-tender start on the embedded database", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "vod-tender-start-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = () => {
    const env: Record<string, string> = { DATA_DIR: dataDir, HTTP_ADDR: "127.0.0.1:0", DATABASE_URL: "" };
    return startCli(["start"], env);
  };

  const databaseUrl = async (output: string) => {
    const port = /embedded PostgreSQL ready on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    const password = (await readFile(join(dataDir, "pg", "password"), "utf8")).trim();
    return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  };

  it("becomes ready, serves valid metrics, stops on SIGTERM with 0 and keeps its data", async () => {
    const first = start();
    const [, url] = await first.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok");
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^# HELP vodtender_/m);
    const metricsFile = join(dataDir, "metrics.txt");
    await writeFile(metricsFile, metrics);
    // promtool's lint reads the exposition from stdin and exits non-zero on any problem.
    await run("sh", ["-c", `promtool check metrics < '${metricsFile}'`]);

    const client = new pg.Client({ connectionString: await databaseUrl(first.output()) });
    await client.connect();
    await client.query("INSERT INTO kv (channel, key, value) VALUES ('alpha', 'marker', 'kept')");
    await client.end();

    const stoppedAt = Date.now();
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);

    const second = start();
    await second.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000);
    const again = new pg.Client({ connectionString: await databaseUrl(second.output()) });
    await again.connect();
    const { rows } = await again.query("SELECT value FROM kv WHERE channel = 'alpha' AND key = 'marker'");
    await again.end();
    expect(rows).toEqual([{ value: "kept" }]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("refuses a bad environment value, naming the variable, with exit code 2", async () => {
    const bad = startCli(["start"], { DATA_DIR: dataDir, MAX_CONCURRENT_DOWNLOADS: "lots" });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "lots"/);
  });
});
