import { Effect, Fiber, Schedule } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOG_CURSOR_KEY, type CatalogScanError, scanCatalog } from "../../../src/services/catalog-scan.ts";
import { KvRepository } from "../../../src/services/repositories/kv.ts";
import { type Simulator, startSimulator } from "../../../src/sim/simulator.ts";
import { type Pipeline, startPipeline } from "./pipeline-harness.ts";

const DAY = 86_400_000;
// Fixed "now" of the scenario's newest VOD, so age limits do not depend on the test's date.
const newest = Date.now() - DAY / 2;

const vodsOf = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: String(first + i),
    duration: "30s",
    // One a day, newest first in id order.
    createdAt: new Date(newest - i * DAY).toISOString(),
    title: `Broadcast ${first + i}`,
    streamId: String(80_000_000 + first + i),
  }));

let sim: Simulator;
let pipeline: Pipeline;

type Services = Effect.Services<Parameters<Pipeline["runtime"]["runPromise"]>[0]>;
const run = <A, E>(effect: Effect.Effect<A, E, Services>) => pipeline.runtime.runPromise(effect);

const rows = (channel: string) =>
  run(
    Effect.flatMap(
      Effect.service(SqlClient),
      (sql) => sql<{ readonly twitch_vod_id: string; readonly title: string; readonly priority: number; readonly processed: boolean; readonly twitch_user_id: string; readonly stream_id: string }>`
        SELECT twitch_vod_id, title, priority, processed, twitch_user_id, stream_id FROM vods WHERE channel = ${channel} ORDER BY date DESC`,
    ),
  );

beforeAll(async () => {
  sim = await startSimulator({
    chat: false,
    scenario: {
      channels: [
        { login: "pages", id: "3001", vods: vodsOf(40_000, 230) },
        { login: "limits", id: "3002", vods: vodsOf(41_000, 30) },
        { login: "resume", id: "3003", vods: vodsOf(42_000, 350) },
        { login: "renamed", id: "3004", vods: vodsOf(43_000, 5) },
        ...["storm1", "storm2", "storm3"].map((login, i) => ({ login, id: String(3010 + i), vods: vodsOf(44_000 + i * 1000, 150) })),
      ],
    },
    uploadDir: null,
  });
  pipeline = await startPipeline(sim);
});
afterAll(async () => {
  await pipeline?.close();
  await sim?.stop();
});

describe("catalog scan", () => {
  it("pages the whole archive into vods, and a second scan refreshes metadata without touching processing state", async () => {
    const first = await run(scanCatalog("pages", { max: 0, maxAgeDays: 0 }));
    expect(first).toMatchObject({ found: 230, added: 230, pages: 3, resumed: false, user: { id: "3001", login: "pages" } });
    const stored = await rows("pages");
    expect(stored).toHaveLength(230);
    expect(stored[0]).toMatchObject({ twitch_vod_id: "40000", twitch_user_id: "3001", stream_id: "80040000" });

    await run(
      Effect.flatMap(
        Effect.service(SqlClient),
        (sql) => sql`UPDATE vods SET title = 'stale', priority = 7, processed = true WHERE channel = 'pages' AND twitch_vod_id = '40005'`,
      ),
    );
    const second = await run(scanCatalog("pages", { max: 0, maxAgeDays: 0 }));
    expect(second).toMatchObject({ found: 230, added: 0 });
    const refreshed = (await rows("pages")).find((r) => r.twitch_vod_id === "40005");
    expect(refreshed).toMatchObject({ title: "Broadcast 40005", priority: 7, processed: true });
    // A finished backfill leaves no cursor behind.
    expect(await run(Effect.flatMap(Effect.service(KvRepository), (kv) => kv.get("pages", CATALOG_CURSOR_KEY)))).toBeUndefined();
  });

  it("stops at VOD_CATALOG_MAX and at VOD_CATALOG_MAX_AGE_DAYS", async () => {
    expect(await run(scanCatalog("limits", { max: 7, maxAgeDays: 0 }))).toMatchObject({ found: 7, added: 7, pages: 1 });
    expect(await rows("limits")).toHaveLength(7);
    const aged = await run(scanCatalog("limits", { max: 0, maxAgeDays: 12 }));
    expect(aged).toMatchObject({ found: 12, added: 5 });
    expect((await rows("limits")).map((r) => r.twitch_vod_id)).toEqual(vodsOf(41_000, 12).map((v) => v.id));
  });

  it("follows a renamed channel by its user id and records the new login", async () => {
    const sql = (query: (sql: SqlClient) => Effect.Effect<unknown, unknown>) => run(Effect.flatMap(Effect.service(SqlClient), query));
    // Configured under its old name, whose login Twitch no longer knows.
    await sql((s) => s`INSERT INTO channels (name, source) VALUES ('formername', 'env')`);
    const unknown = await run(Effect.flip(scanCatalog("formername", { max: 0, maxAgeDays: 0 })));
    expect(unknown).toMatchObject({ _tag: "CatalogScanError", reason: "unknown-channel", retryable: false });

    // Known by id (as it would be after an earlier scan under the old login), the archive keeps coming.
    await sql((s) => s`UPDATE channels SET twitch_user_id = '3004' WHERE name = 'formername'`);
    const scanned = await run(scanCatalog("formername", { max: 0, maxAgeDays: 0 }));
    expect(scanned).toMatchObject({ found: 5, added: 5, user: { id: "3004", login: "renamed" } });
    const channel = await sql((s) => s`SELECT twitch_user_id, twitch_login FROM channels WHERE name = 'formername'`);
    expect(channel).toEqual([{ twitch_user_id: "3004", twitch_login: "renamed" }]);

    // The operator renames the channel too: its VODs, with their processing state, follow the user id.
    await sql((s) => s`UPDATE vods SET processed = true, priority = 3 WHERE channel = 'formername' AND twitch_vod_id = '43000'`);
    await sql((s) => s`UPDATE channels SET enabled = false WHERE name = 'formername'`);
    await sql((s) => s`INSERT INTO channels (name, source) VALUES ('renamed', 'env')`);
    const moved = await run(scanCatalog("renamed", { max: 0, maxAgeDays: 0 }));
    expect(moved).toMatchObject({ found: 5, added: 0 });
    expect(await rows("formername")).toHaveLength(0);
    const kept = await rows("renamed");
    expect(kept).toHaveLength(5);
    expect(kept[0]).toMatchObject({ twitch_vod_id: "43000", processed: true, priority: 3 });
  });

  it("three channels through a 429 storm and 5xx bursts: all cataloged, the rate budget never exceeded", async () => {
    sim.injectFault({ kind: "helix-error", status: 429, endpoint: "videos", count: 12 });
    sim.injectFault({ kind: "helix-error", status: 503, endpoint: "videos", count: 6 });
    sim.injectFault({ kind: "helix-error", status: 500, endpoint: "users", count: 2 });
    const before = pipeline.helixRequests.length;
    // The catalog actor backs off and scans again after a failed scan; so does this loop.
    const scan = (channel: string) =>
      scanCatalog(channel, { max: 0, maxAgeDays: 0 }).pipe(
        Effect.retry({ while: (error: CatalogScanError) => error.retryable, schedule: Schedule.spaced("200 millis"), times: 10 }),
      );
    const results = await run(Effect.all(["storm1", "storm2", "storm3"].map(scan), { concurrency: 3 }));
    expect(results.map((r) => r.found)).toEqual([150, 150, 150]);
    for (const channel of ["storm1", "storm2", "storm3"]) expect(await rows(channel)).toHaveLength(150);
    const seen = pipeline.helixRequests.slice(before);
    const injected429 = 12;
    // Every 429 the client saw was one of the injected ones: Helix's own budget never refused it.
    expect(seen.filter((r) => r.status === 429)).toHaveLength(injected429);
    expect(seen.filter((r) => r.status >= 500)).toHaveLength(8);
    expect(sim.faults()).toHaveLength(0);
  });
  it("an interrupted full backfill resumes from its saved cursor, and VODs that appeared meanwhile are found", async () => {
    // Last in the file: the request interrupted here still reaches the simulator after its delay.
    const kvCursor = () => run(Effect.flatMap(Effect.service(KvRepository), (kv) => kv.get("resume", CATALOG_CURSOR_KEY)));
    const slow = sim.injectFault({ kind: "slow", path: "/helix/videos", delayMs: 400, count: 100, persistent: true });
    const fiber = pipeline.runtime.runFork(scanCatalog("resume", { max: 0, maxAgeDays: 0 }));
    while ((await kvCursor()) === undefined) await new Promise((r) => setTimeout(r, 50));
    // The process stops mid-backfill.
    await pipeline.runtime.runPromise(Fiber.interrupt(fiber));
    sim.clearFault(slow);
    const partial = (await rows("resume")).length;
    expect(partial).toBeGreaterThanOrEqual(100);
    expect(partial).toBeLessThan(350);

    const fresh = sim.addVod("resume", { id: "42999", duration: "30s", title: "New since", createdAt: new Date().toISOString() });
    const resumed = await run(scanCatalog("resume", { max: 0, maxAgeDays: 0 }));
    expect(resumed.resumed).toBe(true);
    // From the cursor to the end, then from the top until a page brings nothing new.
    expect(resumed.added).toBe(351 - partial);
    expect(resumed.pages).toBeLessThan(7);
    const all = await rows("resume");
    expect(all).toHaveLength(351);
    expect(all[0]?.twitch_vod_id).toBe(fresh.id);
    expect(await kvCursor()).toBeUndefined();
  });
});
