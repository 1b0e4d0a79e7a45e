/**
 * `npm run bench:download`: the VOD pipeline's download against yt-dlp run by
 * hand, on one large simulated VOD over loopback.
 *
 * The simulator runs in a child process (so it does not share an event loop
 * with the pipeline) and serves one VOD of about `BENCH_GB` GiB (default 2) of
 * MPEG-TS as HLS; the MP4 yt-dlp remuxes it into is about a tenth smaller. Each round runs, one after the other on the same URL:
 * - bare: the exact yt-dlp command the downloader builds (`ytdlpArgs`), output
 *   discarded but progress lines read, as a person would run it;
 * - ours: claim → prepare → download through `VodProcessing`: progress parsed,
 *   sent to a listener (the event stream), counted in metrics and written to
 *   PostgreSQL at most once a second.
 * Verification (ffprobe + SHA-256 of the whole file) is timed apart: the bare
 * command does not do it. Rounds alternate which side goes first, files are
 * deleted and the disk synced between runs, and the figures are medians, so
 * warm caches and a neighbour's load favour neither side.
 *
 * Goals: ratio (bare ÷ ours) ≥ 0.95, progress events ≥ 1/s, database writes
 * ≤ 1/s for the VOD. The last line of output is one JSON object.
 *
 * Environment: BENCH_GB (2), BENCH_ROUNDS (3), BENCH_BITRATE (bits/s of the
 * simulated video, 40000000), DATABASE_URL (else an embedded PostgreSQL).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as PgClient from "@effect/sql-pg/PgClient";
import { Context, Effect, Layer, ManagedRuntime, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { execa } from "execa";
import { scanCatalog } from "../src/services/catalog-scan.ts";
import { connectPgClient, runMigrations } from "../src/services/database.ts";
import { Downloader, ytdlpArgs } from "../src/services/downloader.ts";
import { Helix } from "../src/services/helix.ts";
import { makeMetrics, Metrics } from "../src/services/metrics.ts";
import { Probe } from "../src/services/probe.ts";
import { KvRepository } from "../src/services/repositories/kv.ts";
import { VodClaims } from "../src/services/repositories/vods-claim.ts";
import { VodsRepository, type VodStore } from "../src/services/repositories/vods.ts";
import { VodProcessing } from "../src/services/vod-processing.ts";
import { parseProgressLine } from "../src/services/ytdlp-progress.ts";
import { startSimulator } from "../src/sim/simulator.ts";
import { startTestPostgres } from "../test/support/postgres-server.ts";

const gib = Number(process.env["BENCH_GB"] ?? 2);
const rounds = Math.max(1, Math.floor(Number(process.env["BENCH_ROUNDS"] ?? 3)));
const bitrate = Math.floor(Number(process.env["BENCH_BITRATE"] ?? 40_000_000));
const CHANNEL = "benchchannel";
const VOD_ID = "9900000001";
const say = (text: string) => process.stderr.write(`${text}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The child: a simulator with the one large VOD, its URLs on stdout, running until stdin closes. */
const runSimulator = async () => {
  const sim = await startSimulator({
    chat: false,
    uploadDir: null,
    recordLines: false,
    scenario: { video: { segmentSeconds: 4 }, channels: [{ login: CHANNEL, id: "990001", vods: [] }] },
  });
  // The video's real bytes per second (container overhead included) decide the length that makes the size.
  const probe = sim.addVod(CHANNEL, { id: "9900000000", duration: "4s", bitrate, title: "Probe" });
  await sim.prepareVideo(probe.id);
  const segment = await fetch(`${sim.urls.base}/vods/${probe.id}/0.ts`).then((r) => r.arrayBuffer());
  const seconds = Math.ceil((gib * 2 ** 30) / (segment.byteLength / 4) / 4) * 4;
  // Older than the probe, so it is the one claimed.
  sim.addVod(CHANNEL, { id: VOD_ID, duration: `${seconds}s`, bitrate, title: "Benchmark VOD", createdAt: "2020-01-01T00:00:00Z" });
  await sim.prepareVideo(VOD_ID);
  // One pass over every segment so neither side pays for the simulator's first requests.
  for (let n = 0; n < seconds / 4; n++) await fetch(`${sim.urls.base}/vods/${VOD_ID}/${n}.ts`).then((r) => r.arrayBuffer());
  process.stdout.write(`${JSON.stringify({ helix: sim.urls.helix, oauth: sim.urls.oauth, base: sim.urls.base, clientId: sim.clientId, clientSecret: sim.clientSecret })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => void sim.stop().then(() => process.exit(0)));
};

const startPostgres = async () => {
  const url = process.env["DATABASE_URL"];
  if (url !== undefined && url !== "") return { url, stop: async () => {} };
  const server = await startTestPostgres();
  return { url: server.adminUrl, stop: server.stop };
};

/** Counts the writes the pipeline makes to `vods`, by kind. */
const countingVods = (counts: Map<string, number>) =>
  Layer.effect(
    VodsRepository,
    Effect.gen(function* () {
      const real = yield* Effect.service(VodsRepository);
      const writes: ReadonlyArray<keyof VodStore> = ["setState", "setFilePath", "writeProgress", "recordFailure", "recordVerified"];
      const counted = { ...real } as Record<string, unknown>;
      for (const name of writes) {
        const method = real[name] as (...args: Array<unknown>) => Effect.Effect<unknown, unknown>;
        counted[name] = (...args: Array<unknown>) => Effect.andThen(Effect.sync(() => counts.set(name, (counts.get(name) ?? 0) + 1)), method(...args));
      }
      return VodsRepository.of(counted as unknown as VodStore);
    }),
  ).pipe(Layer.provide(VodsRepository.layer));

const main = async () => {
  say(`download benchmark: one ~${gib} GiB simulated VOD over loopback, ${rounds} round(s)`);
  const pg = await startPostgres();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--simulator"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const sim = JSON.parse(String((await lines.next()).value)) as { helix: string; oauth: string; base: string; clientId: string; clientSecret: string };
  const url = `${sim.base}/vods/${VOD_ID}/index.m3u8`;
  const dataDir = await mkdtemp(join(tmpdir(), "vod-tender-bench-download-"));
  const writes = new Map<string, number>();

  const client = Layer.effectContext(
    Effect.gen(function* () {
      const pool = yield* connectPgClient(Redacted.make(pg.url), { maxConnections: 8 });
      yield* runMigrations().pipe(Effect.provideService(SqlClient, pool));
      return Context.make(PgClient.PgClient, pool).pipe(Context.add(SqlClient, pool));
    }),
  ).pipe(Layer.provide(Reactivity.layer));
  const services = Layer.mergeAll(
    countingVods(writes),
    VodClaims.layer,
    KvRepository.layer,
    Downloader.layer({}),
    Probe.layer(),
    Layer.succeed(Metrics, makeMetrics()),
    Helix.layer({ helixUrl: sim.helix, oauthUrl: sim.oauth, clientId: sim.clientId, clientSecret: sim.clientSecret }),
  );
  const runtime = ManagedRuntime.make(
    VodProcessing.layer({ dataDir, retryCooldownMs: 60_000, uploadsConfigured: false }).pipe(Layer.provideMerge(services), Layer.provideMerge(client)),
  );
  const run = <A, E>(effect: Effect.Effect<A, E, VodProcessing | SqlClient | Helix | KvRepository>) => runtime.runPromise(effect);
  await run(scanCatalog(CHANNEL, { max: 0, maxAgeDays: 0 }));

  const bare = async () => {
    const output = join(dataDir, "bare", "vod.mp4");
    let events = 0;
    const started = performance.now();
    const proc = execa("yt-dlp", ytdlpArgs({ url, outputPath: output }), { buffer: false, stdin: "ignore", env: { PYTHONUNBUFFERED: "1" } });
    createInterface({ input: proc.stdout! }).on("line", (line) => void (parseProgressLine(line) !== undefined && events++));
    proc.stderr?.resume();
    await proc;
    const seconds = (performance.now() - started) / 1000;
    const bytes = (await stat(output)).size;
    await rm(join(dataDir, "bare"), { recursive: true, force: true });
    await execa("sync");
    return { seconds, bytes, events };
  };

  const ours = async () => {
    writes.clear();
    let events = 0;
    let wireBytes = 0;
    const started = performance.now();
    const file = await run(
      Effect.gen(function* () {
        const processing = yield* Effect.service(VodProcessing);
        const claimed = yield* processing.claimNext(CHANNEL);
        if (claimed === undefined) return yield* Effect.die(new Error("nothing to claim"));
        const claimedAt = performance.now();
        yield* processing.prepare(claimed.job.vodId);
        const preparedAt = performance.now();
        const downloaded = yield* processing.download(claimed.job.vodId, (progress) => {
          events++;
          wireBytes = Math.max(wireBytes, progress.bytes);
        });
        return { vodId: claimed.job.vodId, ...downloaded, claimS: (claimedAt - started) / 1000, prepareS: (preparedAt - claimedAt) / 1000 };
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const dbWrites = [...writes.values()].reduce((sum, n) => sum + n, 0);
    const progressWrites = writes.get("writeProgress") ?? 0;
    const verifyStarted = performance.now();
    await run(Effect.flatMap(Effect.service(VodProcessing), (p) => p.verify(file.vodId, file)));
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    // Back in the queue for the next round, file gone.
    await run(
      Effect.gen(function* () {
        const processing = yield* Effect.service(VodProcessing);
        yield* processing.release(file.vodId);
        const sql = yield* SqlClient;
        yield* sql`UPDATE vods SET processed = false, file_path = NULL, sha256 = NULL, download_state = NULL WHERE id = ${file.vodId}`;
      }),
    );
    await rm(join(dataDir, "vods"), { recursive: true, force: true });
    await execa("sync");
    return { seconds, bytes: file.bytes, wireBytes, events, dbWrites, progressWrites, verifySeconds, claimS: file.claimS, prepareS: file.prepareS };
  };

  const bareRuns: Array<Awaited<ReturnType<typeof bare>>> = [];
  const ourRuns: Array<Awaited<ReturnType<typeof ours>>> = [];
  const runBare = async (i: number) => {
    const b = await bare();
    say(`round ${i} bare yt-dlp: ${round(b.seconds)} s, ${b.bytes} bytes, ${b.events} progress lines`);
    bareRuns.push(b);
  };
  const runOurs = async (i: number) => {
    const o = await ours();
    say(
      `round ${i} ours: ${round(o.seconds)} s, ${o.bytes} bytes, ${o.events} progress events, ${o.dbWrites} database writes (${o.progressWrites} progress), claim ${round(o.claimS, 3)} s, prepare ${round(o.prepareS, 3)} s, verify ${round(o.verifySeconds)} s`,
    );
    ourRuns.push(o);
  };
  // The order alternates so that warm caches favour neither side.
  for (let i = 1; i <= rounds; i++) {
    if (i % 2 === 1) {
      await runBare(i);
      await runOurs(i);
    } else {
      await runOurs(i);
      await runBare(i);
    }
  }
  const median = (values: ReadonlyArray<number>) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const oursSeconds = median(ourRuns.map((r) => r.seconds));
  const bareSeconds = median(bareRuns.map((r) => r.seconds));
  const result = {
    bytes: ourRuns[0]!.bytes,
    // MPEG-TS as fetched; the MP4 it is remuxed into is smaller.
    wire_bytes: ourRuns[0]!.wireBytes,
    rounds,
    ours_s: round(oursSeconds),
    bare_ytdlp_s: round(bareSeconds),
    // Each round runs both back to back (order alternating), so the machine's
    // drift between rounds (page cache, disk flushes) cancels within a pair: the
    // median of the paired ratios is the figure; the ratio of medians is shown too.
    ratio: round(median(bareRuns.map((b, i) => b.seconds / ourRuns[i]!.seconds)), 3),
    ratio_of_medians: round(bareSeconds / oursSeconds, 3),
    round_ratios: bareRuns.map((b, i) => round(b.seconds / ourRuns[i]!.seconds, 3)),
    progress_events_per_s: round(median(ourRuns.map((r) => r.events / r.seconds))),
    db_writes_per_s: round(median(ourRuns.map((r) => r.dbWrites / r.seconds))),
    progress_writes_per_s: round(median(ourRuns.map((r) => r.progressWrites / r.seconds))),
    verify_s: round(median(ourRuns.map((r) => r.verifySeconds))),
    throughput_mib_s: round(ourRuns[0]!.bytes / 2 ** 20 / oursSeconds, 1),
  };
  say(
    `ratio ${result.ratio} (goal ≥ 0.95), ${result.progress_events_per_s} progress events/s (goal ≥ 1), ${result.db_writes_per_s} database writes/s (goal ≤ 1)`,
  );
  await runtime.dispose();
  child.stdin.end();
  await new Promise((resolve) => child.once("exit", resolve));
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

if (process.argv.includes("--simulator")) void runSimulator();
else
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
