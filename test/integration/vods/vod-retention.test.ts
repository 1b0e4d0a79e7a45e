import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, layer } from "@effect/vitest";
import { Effect, Fiber } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { channelVodDir } from "../../../src/services/vod-path.ts";
import { retentionLoop, runRetention } from "../../../src/services/vod-retention.ts";
import { testDatabaseLayer } from "../../support/database.ts";
import { insertVod } from "./vod-fixtures.ts";

const DAY = 86_400_000;

/** A channel folder with one file per VOD, `age` days old each; returns the row ids, newest first. */
const filesOf = (dataDir: string, channel: string, ages: ReadonlyArray<number>, extra: Partial<Parameters<typeof insertVod>[0]> = {}) =>
  Effect.gen(function* () {
    const dir = channelVodDir(dataDir, channel);
    yield* Effect.promise(() => mkdir(dir, { recursive: true }));
    const ids: Array<number> = [];
    for (const [index, age] of ages.entries()) {
      const path = join(dir, `file-${index}.mp4`);
      yield* Effect.promise(() => writeFile(path, Buffer.alloc(1000 + index)));
      ids.push(yield* insertVod({ channel, processed: true, date: new Date(Date.now() - age * DAY), file_path: path, ...extra }));
    }
    return ids;
  });

const listing = (dataDir: string, channel: string) => Effect.promise(() => readdir(channelVodDir(dataDir, channel)).then((names) => names.sort()));

layer(testDatabaseLayer(), { excludeTestServices: true })("VOD retention", (it) => {
  it.effect("keeps the newest KEEP_COUNT files and deletes the rest, clearing their paths", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vt-retention-")));
      const ids = yield* filesOf(dataDir, "countme", [1, 2, 3, 4, 5]);
      const report = yield* runRetention("countme", { keepDays: 0, keepCount: 2, dryRun: false }, { dataDir });
      assert.strictEqual(report.kept, 2);
      assert.deepStrictEqual(report.deleted.map((d) => d.vodId), ids.slice(2));
      assert.deepStrictEqual(report.deleted.map((d) => d.bytes), [1002, 1003, 1004]);
      assert.deepStrictEqual(yield* listing(dataDir, "countme"), ["file-0.mp4", "file-1.mp4"]);
      const sql = yield* SqlClient;
      const paths = yield* sql<{ readonly id: number; readonly file_path: string | null }>`
        SELECT id, file_path FROM vods WHERE channel = 'countme' ORDER BY date DESC`;
      assert.deepStrictEqual(paths.map((p) => p.file_path === null), [false, false, true, true, true]);
      yield* Effect.promise(() => rm(dataDir, { recursive: true, force: true }));
    }));

  it.effect("keeps files younger than KEEP_DAYS; with both limits a file kept by either stays", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vt-retention-")));
      yield* filesOf(dataDir, "aged", [1, 5, 9, 20]);
      const byAge = yield* runRetention("aged", { keepDays: 7, keepCount: 0, dryRun: true }, { dataDir });
      assert.strictEqual(byAge.kept, 2);
      assert.strictEqual(byAge.deleted.length, 2);
      // Dry run: nothing changed on disk.
      assert.strictEqual((yield* listing(dataDir, "aged")).length, 4);
      const both = yield* runRetention("aged", { keepDays: 7, keepCount: 3, dryRun: false }, { dataDir });
      assert.strictEqual(both.kept, 3);
      assert.deepStrictEqual(yield* listing(dataDir, "aged"), ["file-0.mp4", "file-1.mp4", "file-2.mp4"]);
      yield* Effect.promise(() => rm(dataDir, { recursive: true, force: true }));
    }));

  it.effect("never touches a file in use or one outside the channel's folder", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vt-retention-")));
      const sql = yield* SqlClient;
      yield* filesOf(dataDir, "careful", [1]);
      const [unprocessed] = yield* filesOf(dataDir, "careful", [10], { processed: false });
      const [claimed] = yield* filesOf(dataDir, "careful", [11]);
      yield* sql`UPDATE vods SET claim_key = 42, claimed_by = 'other:1' WHERE id = ${claimed!}`;
      // Another channel's file, pointed at by a row of this channel.
      const [foreign] = yield* filesOf(dataDir, "neighbour", [12]);
      yield* sql`UPDATE vods SET channel = 'careful' WHERE id = ${foreign!}`;
      const report = yield* runRetention("careful", { keepDays: 0, keepCount: 1, dryRun: false }, { dataDir });
      assert.deepStrictEqual(report.deleted, []);
      assert.deepStrictEqual(
        report.skipped.map((s) => [s.vodId, s.reason]),
        [
          [unprocessed, "in-use"],
          [claimed, "in-use"],
          [foreign, "outside-channel-folder"],
        ],
      );
      assert.deepStrictEqual(yield* listing(dataDir, "neighbour"), ["file-0.mp4"]);
      yield* Effect.promise(() => rm(dataDir, { recursive: true, force: true }));
    }));

  it.effect("does nothing with both limits at 0", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vt-retention-")));
      yield* filesOf(dataDir, "forever", [100, 200]);
      const report = yield* runRetention("forever", { keepDays: 0, keepCount: 0, dryRun: false }, { dataDir });
      assert.deepStrictEqual(report, { channel: "forever", dryRun: false, kept: 0, deleted: [], skipped: [] });
      assert.strictEqual((yield* listing(dataDir, "forever")).length, 2);
      yield* Effect.promise(() => rm(dataDir, { recursive: true, force: true }));
    }));

  it.effect("the loop covers every channel it is given, each pass reading the list anew", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "vt-retention-")));
      yield* filesOf(dataDir, "loop1", [1, 2, 3]);
      yield* filesOf(dataDir, "loop2", [1, 2]);
      const targets = [{ name: "loop1", retention: { keepDays: 0, keepCount: 1, dryRun: false } }];
      const loop = yield* retentionLoop(1_000, Effect.sync(() => [...targets]), { dataDir }).pipe(Effect.forkChild);
      while ((yield* listing(dataDir, "loop1")).length > 1) yield* Effect.sleep("50 millis");
      targets.push({ name: "loop2", retention: { keepDays: 0, keepCount: 1, dryRun: false } });
      while ((yield* listing(dataDir, "loop2")).length > 1) yield* Effect.sleep("50 millis");
      yield* Fiber.interrupt(loop);
      assert.deepStrictEqual(yield* listing(dataDir, "loop1"), ["file-0.mp4"]);
      assert.deepStrictEqual(yield* listing(dataDir, "loop2"), ["file-0.mp4"]);
      yield* Effect.promise(() => rm(dataDir, { recursive: true, force: true }));
    }));
});
