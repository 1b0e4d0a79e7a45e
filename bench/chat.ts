/**
 * Chat ingest benchmark (`npm run bench:chat`).
 *
 * 1,000 channels chat at once through the simulator (its own process); the
 * real recorder (tmi.js connection pool, mapping, ChatSink) stores them in
 * PostgreSQL. Two phases:
 * - sustained: BENCH_RATE msg/s for BENCH_SECONDS. Reported: messages/s
 *   stored, p50/p99 latency from the simulator's send (`tmi-sent-ts`) to the
 *   committed row and the part of it before the recorder read the row, CPU
 *   and RSS. Latency means something only here, where the
 *   offered rate is one the machine keeps up with.
 * - capacity: BENCH_PEAK_RATE msg/s, more than the machine takes, for
 *   BENCH_PEAK_SECONDS: the most it takes per second, into PostgreSQL and,
 *   once the sink's memory is full, the journal (its latency is
 *   queueing; the journal is replayed after the phase).
 * Then lost and duplicated messages over both phases, and, on the same
 * messages, one INSERT per message (how the Go original stores chat) and a
 * bare batched INSERT without any IRC parsing (the ceiling). The last line is
 * one JSON object with the figures.
 *
 * Before the sustained phase, BENCH_WARMUP_SECONDS at the same rate are not
 * measured: the first seconds of a fresh process and cluster (JIT, empty
 * caches, the month's partition created) say nothing about a sustained rate.
 * Every phase also reports how much of the machine's CPU time was idle and
 * how much its hypervisor took (steal), PostgreSQL's CPU time per stored row
 * and its WAL flushes: on a shared host neither the cores nor the disk are
 * always as fast, and a slow spell shows there rather than as a slow product.
 *
 * Environment: BENCH_CHANNELS (1000), BENCH_RATE (21000), BENCH_WARMUP_SECONDS (10), BENCH_SECONDS (60),
 * BENCH_PEAK_RATE (32000, 0 skips the phase), BENCH_PEAK_SECONDS (30),
 * BENCH_COMPARE_ROWS (100000), BENCH_BATCH, BENCH_WRITERS and
 * BENCH_SEARCH_MERGE_ROWS (the sink's rows per INSERT, INSERTs at once and rows
 * between search index merges, its defaults when unset), DATABASE_URL (else
 * an embedded cluster with the product's settings).
 */
import { Effect, Layer, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ChatConnections } from "../src/services/chat-connections.ts";
import { ChatRecorder } from "../src/services/chat-recorder.ts";
import { ChatSink, defaultChatBatchRows } from "../src/services/chat-sink.ts";
import { connectPgClient, embeddedPostgresSettings, runMigrations } from "../src/services/database.ts";
import { type ChatRow, insertChatRows, type StoredChatRow, storedChatColumns } from "../src/services/repositories/chat.ts";
import { startSimulator } from "../src/sim/simulator.ts";
import { startTestPostgres } from "../test/support/postgres-server.ts";

const channels = Number(process.env["BENCH_CHANNELS"] ?? 1000);
const totalRate = Number(process.env["BENCH_RATE"] ?? 21_000);
const warmupSeconds = Number(process.env["BENCH_WARMUP_SECONDS"] ?? 10);
const seconds = Number(process.env["BENCH_SECONDS"] ?? 60);
const peakRate = Number(process.env["BENCH_PEAK_RATE"] ?? 32_000);
const peakSeconds = Number(process.env["BENCH_PEAK_SECONDS"] ?? 30);
const compareRows = Number(process.env["BENCH_COMPARE_ROWS"] ?? 100_000);
const logins = Array.from({ length: channels }, (_, i) => `bench${String(i).padStart(4, "0")}`);
// Every kind of chat event except the ones that carry no id and repeat within a tick (a whole-chat clear).
const mix = { roomstate: 0, notice: 0, clear: 0 };

// ---------------------------------------------------------------- simulator process

const runSimulatorProcess = async () => {
  const sim = await startSimulator({
    scenario: {
      irc: { joinRateLimit: null, slowConsumerBytes: 512 * 1024 * 1024 },
      channels: logins.map((login) => ({ login, chat: { rate: totalRate / channels, chatters: 300, mix } })),
    },
    recordLines: false,
  });
  const lines = createInterface({ input: process.stdin });
  let cpuMark = process.cpuUsage();
  let wallMark = performance.now();
  let sentMark = 0;
  let countsAtLive: ReadonlyMap<string, number> = new Map();
  let undeliveredAtLive = 0;
  process.stdout.write(`${JSON.stringify({ url: sim.urls.ircWs })}\n`);
  // Reports what was sent since the last report, and the CPU it took.
  const report = () => {
    const cpu = process.cpuUsage(cpuMark);
    const wall = (performance.now() - wallMark) * 1000;
    const sent = sim.state().linesSent;
    process.stdout.write(`${JSON.stringify({ sent: sent - sentMark, cpuCores: (cpu.user + cpu.system) / wall })}\n`);
    cpuMark = process.cpuUsage();
    wallMark = performance.now();
    sentMark = sent;
  };
  for await (const line of lines) {
    if (line === "live") {
      cpuMark = process.cpuUsage();
      wallMark = performance.now();
      sentMark = sim.state().linesSent;
      countsAtLive = sim.sentCounts();
      undeliveredAtLive = sim.state().linesUndelivered;
      for (const login of logins) sim.setLive(login, true);
      process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    } else if (line.startsWith("rate ")) {
      // The phase before ends here: its figures first, then the new rate.
      report();
      const rate = Number(line.slice(5)) / channels;
      for (const login of logins) sim.setChatRate(login, rate);
    } else if (line === "offline") {
      for (const login of logins) sim.setLive(login, false);
      report();
    } else if (line === "counts") {
      // Lines per channel since going live, and those nobody received, to tell where a loss was.
      const counts: Record<string, number> = {};
      for (const [channel, n] of sim.sentCounts()) counts[channel] = n - (countsAtLive.get(channel) ?? 0);
      process.stdout.write(`${JSON.stringify({ counts, undelivered: sim.state().linesUndelivered - undeliveredAtLive })}\n`);
    } else if (line === "stop") {
      await sim.stop();
      process.exit(0);
    }
  }
};

// ---------------------------------------------------------------- measurement helpers

/** CPU ticks (user+system, 1/100 s) of every process named `postgres`. */
const postgresTicks = async (): Promise<number> => {
  let ticks = 0;
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const close = stat.lastIndexOf(")");
    if (close === -1 || !stat.slice(stat.indexOf("(") + 1, close).startsWith("postgres")) continue;
    const fields = stat.slice(close + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
};

/** The machine's CPU time so far (all cores, in clock ticks): total, idle (with I/O wait) and stolen by the hypervisor. */
const machineTicks = async (): Promise<{ total: number; idle: number; steal: number }> => {
  const line = (await readFile("/proc/stat", "utf8").catch(() => "")).split("\n")[0] ?? "";
  // cpu  user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((n) => !Number.isFinite(n))) return { total: 0, idle: 0, steal: 0 };
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0), steal: f[7] ?? 0 };
};

const percentile = (sorted: Float64Array, p: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number));

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** PostgreSQL's CPU per stored row, in µs, from `postgresTicks` spent storing `rows`. */
const microsPerRow = (ticks: number, rows: number) => round((ticks * 10_000) / rows, 0);

const startPostgres = async () => {
  const url = process.env["DATABASE_URL"];
  if (url !== undefined && url !== "") return { url, stop: async () => {} };
  // The product's embedded cluster as it runs: its settings, crash-safe. A committed
  // batch is what the sink counts as stored, so commits wait for the WAL flush here too.
  // WAL I/O timing only adds a clock read per WAL write; it tells a slow disk from a slow product.
  const cluster = await startTestPostgres({
    fsync: "on",
    full_page_writes: "on",
    synchronous_commit: "on",
    max_connections: "50",
    ...embeddedPostgresSettings(),
    track_wal_io_timing: "on",
  });
  return { url: cluster.adminUrl, stop: cluster.stop };
};

const sqlLayer = (url: string) =>
  Layer.effect(SqlClient, connectPgClient(Redacted.make(url), { maxConnections: 8 })).pipe(Layer.provide(Reactivity.layer), Layer.orDie);

// ---------------------------------------------------------------- the benchmark

const rowFromStored = (r: StoredChatRow): ChatRow => ({
  channel: r.channel,
  msgId: r.msg_id,
  kind: r.kind,
  userId: r.user_id,
  username: r.username,
  displayName: r.display_name,
  color: r.color,
  badges: r.badges ?? [],
  emotes: r.emotes ?? [],
  bits: r.bits,
  replyParentMsgId: r.reply_parent_msg_id,
  replyParentUserLogin: r.reply_parent_user_login,
  replyParentMsgBody: r.reply_parent_msg_body,
  text: r.message ?? "",
  isAction: r.is_action,
  firstMessage: r.first_msg,
  params: r.msg_params,
  systemMessage: r.system_message,
  raw: "",
  sentAt: r.abs_timestamp.getTime(),
  receivedAt: r.abs_timestamp.getTime(),
  vodId: r.vod_id,
  streamId: r.stream_id,
  relTimestamp: r.rel_timestamp,
});

const runBenchmark = async () => {
  const say = (text: string) => process.stdout.write(`${text}\n`);
  say(
    `chat ingest benchmark: ${channels} channels, ${totalRate} msg/s for ${seconds} s` +
      (peakRate > 0 ? `, then ${peakRate} msg/s for ${peakSeconds} s to find the capacity` : ""),
  );
  const pg = await startPostgres();
  const journal = await mkdtemp(join(tmpdir(), "vod-tender-bench-journal-"));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--simulator"], { stdio: ["pipe", "pipe", "inherit"] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (command?: string) => {
    if (command !== undefined) child.stdin.write(`${command}\n`);
    const next = await replies.next();
    return JSON.parse(String(next.value)) as Record<string, number | string>;
  };
  const { url: ircUrl } = (await ask()) as { url: string };

  // Latency samples (ms) of the phase being measured, appended by the sink as batches commit.
  // Beside each, the part spent before the recorder read the row (simulator,
  // socket, a reader held back), which tells a slow sink from a slow arrival.
  let latencies = new Float64Array(1 << 20);
  let arrivals = new Float64Array(1 << 20);
  let samples = 0;
  let measuring = false;
  const onCommit = (rows: ReadonlyArray<ChatRow>, committedAt: number) => {
    if (!measuring) return;
    if (samples + rows.length > latencies.length) {
      const size = Math.max(latencies.length * 2, samples + rows.length);
      const grown = (from: Float64Array) => {
        const bigger = new Float64Array(size);
        bigger.set(from.subarray(0, samples));
        return bigger;
      };
      latencies = grown(latencies);
      arrivals = grown(arrivals);
    }
    for (const row of rows) {
      arrivals[samples] = row.receivedAt - row.sentAt;
      latencies[samples++] = committedAt - row.sentAt;
    }
  };
  const takeLatencies = () => {
    const sorted = latencies.slice(0, samples).sort();
    const arrived = arrivals.slice(0, samples).sort();
    samples = 0;
    return {
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
      arrivalP50Ms: round(percentile(arrived, 0.5)),
      arrivalP99Ms: round(percentile(arrived, 0.99)),
    };
  };

  const program = Effect.gen(function* () {
    const sql = yield* SqlClient;
    yield* runMigrations();
    // The WAL so far: flushes (commits wait for them) with their time when the server times WAL I/O,
    // bytes written, and checkpoints (the full-page images after each are what grows WAL per row).
    const noWalStats = { fsyncs: 0, fsyncMs: 0, bytes: 0, checkpoints: 0 };
    const walStats = sql<typeof noWalStats>`
      SELECT (SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal')::float8 AS fsyncs,
        (SELECT coalesce(sum(fsync_time), 0) FROM pg_stat_io WHERE object = 'wal')::float8 AS "fsyncMs",
        (SELECT wal_bytes FROM pg_stat_wal)::float8 AS bytes,
        (SELECT num_timed + num_requested FROM pg_stat_checkpointer)::int AS checkpoints`.pipe(
      Effect.map(([row]) => row ?? noWalStats),
      Effect.orElseSucceed(() => noWalStats),
    );
    const stack = ChatRecorder.layer().pipe(
      Layer.provideMerge(ChatConnections.layer({ url: ircUrl, channelsPerConnection: 50, joinRateLimit: { joins: 2_000, windowMs: 10_000 } })),
      Layer.provideMerge(ChatSink.layer({ journalDirectory: journal, onCommit, ...(process.env["BENCH_BATCH"] ? { batchSize: Number(process.env["BENCH_BATCH"]) } : {}), ...(process.env["BENCH_WRITERS"] ? { writers: Number(process.env["BENCH_WRITERS"]) } : {}), ...(process.env["BENCH_SEARCH_MERGE_ROWS"] ? { searchMergeRows: Number(process.env["BENCH_SEARCH_MERGE_ROWS"]) } : {}) }).pipe(Layer.orDie)),
      Layer.provideMerge(Layer.succeed(SqlClient, sql)),
    );
    const result = yield* Effect.gen(function* () {
      const recorder = yield* ChatRecorder;
      const sink = yield* ChatSink;
      const connections = yield* ChatConnections;
      const joinStart = performance.now();
      const recordings = yield* Effect.forEach(logins, (login) => recorder.record(login));
      while (!recordings.every((r) => r.status().joined)) yield* Effect.sleep("100 millis");
      say(`joined ${channels} channels in ${round((performance.now() - joinStart) / 1000)} s`);
      const startedAt = new Date();
      yield* Effect.forEach(
        recordings,
        (r) => Effect.flatMap(recorder.beginStream(r.channel, { streamId: `bench-${r.channel}`, title: "bench", startedAt }), r.attach),
        { concurrency: 8 },
      );

      // One phase: `length` seconds at the rate already set; the simulator's report closes it.
      const phase = (name: string, length: number, close: string) =>
        Effect.gen(function* () {
          const cpu0 = process.cpuUsage();
          const pg0 = yield* Effect.promise(postgresTicks);
          const machine0 = yield* Effect.promise(machineTicks);
          const wal0 = yield* walStats;
          let intervalStart = samples;
          let intervalTicks = pg0;
          let intervalStored = sink.stats().stored;
          let intervalWal = wal0;
          const t0 = performance.now();
          const stored0 = sink.stats().stored;
          const left0 = sink.stats().offered - sink.stats().buffered;
          let peakRss = 0;
          let peakBuffered = 0;
          for (let s = 1; s <= length; s++) {
            yield* Effect.sleep("1 second");
            peakRss = Math.max(peakRss, process.memoryUsage().rss);
            const stats = sink.stats();
            peakBuffered = Math.max(peakBuffered, stats.buffered);
            if (s % 10 === 0) {
              // The p99 of the rows committed in these ten seconds: a steady run and one with a bad spell look alike in the total.
              const interval = latencies.slice(intervalStart, samples).sort();
              intervalStart = samples;
              const ticks = yield* Effect.promise(postgresTicks);
              const storedNow = stats.stored - intervalStored;
              const wal = yield* walStats;
              const pgPerRow =
                storedNow === 0
                  ? ""
                  : `, PostgreSQL ${microsPerRow(ticks - intervalTicks, storedNow)} µs and ` +
                    `${round((wal.bytes - intervalWal.bytes) / storedNow / 1000, 1)} kB of WAL a row, ${wal.checkpoints - intervalWal.checkpoints} checkpoints`;
              intervalTicks = ticks;
              intervalWal = wal;
              intervalStored = stats.stored;
              say(
                `  ${name} ${s} s: ${stats.stored - stored0} stored, ${stats.buffered} buffered, ${stats.journalRows} in the journal` +
                  (interval.length > 0 ? `; last 10 s: p99 ${round(percentile(interval, 0.99), 0)} ms${pgPerRow}` : ""),
              );
            }
          }
          const storedInPhase = sink.stats().stored - stored0;
          // Rows that left the buffer for PostgreSQL or the journal (replays not counted twice).
          const takenInPhase = sink.stats().offered - sink.stats().buffered - left0;
          const wall = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          const pgTicks = (yield* Effect.promise(postgresTicks)) - pg0;
          const machine1 = yield* Effect.promise(machineTicks);
          const wal1 = yield* walStats;
          const walFsyncs = wal1.fsyncs - wal0.fsyncs;
          const machineTotal = Math.max(1, machine1.total - machine0.total);
          const simReport = yield* Effect.promise(() => ask(close));
          return {
            offeredMessagesPerSecond: round(Number(simReport["sent"]) / (wall / 1000), 0),
            messagesPerSecond: round(storedInPhase / (wall / 1000), 0),
            // Rows made safe, in PostgreSQL or in the journal (replayed into PostgreSQL later).
            takenMessagesPerSecond: round(takenInPhase / (wall / 1000), 0),
            ...takeLatencies(),
            recorderCpuCores: round((cpu.user + cpu.system) / (wall * 1000), 2),
            simulatorCpuCores: round(Number(simReport["cpuCores"]), 2),
            postgresCpuCores: round(pgTicks / 100 / (wall / 1000), 2),
            postgresCpuMicrosPerRow: storedInPhase === 0 ? null : microsPerRow(pgTicks, storedInPhase),
            peakRssMb: round(peakRss / 2 ** 20, 0),
            machineIdlePercent: round(((machine1.idle - machine0.idle) / machineTotal) * 100, 0),
            machineStealPercent: round(((machine1.steal - machine0.steal) / machineTotal) * 100, 0),
            walFsyncs,
            walFsyncMeanMs: walFsyncs === 0 ? null : round((wal1.fsyncMs - wal0.fsyncMs) / walFsyncs, 1),
            peakBufferedRows: peakBuffered,
            sent: Number(simReport["sent"]),
          };
        });

      yield* Effect.promise(() => ask("live"));
      measuring = true;
      // Not reported; its messages count for lost and duplicated like the others.
      const warmup = warmupSeconds > 0 ? yield* phase("warm-up", warmupSeconds, `rate ${totalRate}`) : undefined;
      const sustained = yield* phase("sustained", seconds, peakRate > 0 ? `rate ${peakRate}` : "offline");
      const capacity = peakRate > 0 ? yield* phase("capacity", peakSeconds, "offline") : undefined;
      measuring = false;
      // Chat still in flight (socket buffers, paused readers): done when nothing more
      // arrives for two seconds while the sink holds nothing.
      let last = -1;
      let quiet = 0;
      while (quiet < 4) {
        yield* sink.drain;
        const now = recordings.reduce((n, r) => n + r.status().messages, 0);
        quiet = now === last && sink.stats().buffered === 0 ? quiet + 1 : 0;
        last = now;
        yield* Effect.sleep("500 millis");
      }
      const reconnects = connections.snapshot().connections.reduce((n, c) => n + c.reconnects, 0);
      return { warmupSent: warmup?.sent ?? 0, sustained, capacity, reconnects, stats: sink.stats() };
    }).pipe(Effect.scoped, Effect.provide(stack));

    const [counts] = yield* sql<{ total: number; ids: number }>`
      SELECT count(*)::int AS total, count(DISTINCT msg_id)::int AS ids FROM chat_messages`;
    const [gapCount] = yield* sql<{ gaps: number }>`SELECT count(*)::int AS gaps FROM chat_gaps`;
    const sent = result.warmupSent + result.sustained.sent + (result.capacity?.sent ?? 0);
    const stored = counts?.total ?? 0;
    const { sent: _sentInSustained, ...sustained } = result.sustained;
    const recorder = {
      ...sustained,
      sent,
      stored,
      lost: Math.max(0, sent - stored),
      duplicated: stored - (counts?.ids ?? 0),
      reconnects: result.reconnects,
      gaps: gapCount?.gaps ?? 0,
      journaledRows: result.stats.journaled,
    };
    say(
      `sustained: ${recorder.offeredMessagesPerSecond} msg/s offered, ${recorder.messagesPerSecond} msg/s stored ` +
        `(${recorder.takenMessagesPerSecond} msg/s taken into PostgreSQL or the journal), latency p50 ${recorder.p50Ms} ms ` +
        `p99 ${recorder.p99Ms} ms (of which before the recorder read it: p50 ${recorder.arrivalP50Ms} ms, p99 ${recorder.arrivalP99Ms} ms); CPU recorder ${recorder.recorderCpuCores}, simulator ${recorder.simulatorCpuCores}, ` +
        `PostgreSQL ${recorder.postgresCpuCores} cores (${recorder.postgresCpuMicrosPerRow} µs a row); RSS ${recorder.peakRssMb} MB; machine ${recorder.machineIdlePercent}% idle, ` +
        `${recorder.machineStealPercent}% stolen by the hypervisor; ${recorder.walFsyncs} WAL flushes` +
        (recorder.walFsyncMeanMs === null ? "" : ` of ${recorder.walFsyncMeanMs} ms on average`),
    );
    const capacity = result.capacity;
    if (capacity !== undefined) {
      say(
        `capacity: ${capacity.offeredMessagesPerSecond} msg/s offered, ${capacity.takenMessagesPerSecond} msg/s taken ` +
          `(${capacity.messagesPerSecond} into PostgreSQL, the rest into the journal; overloaded on purpose: ` +
          `latency p50 ${capacity.p50Ms} ms is queueing); CPU recorder ${capacity.recorderCpuCores}, ` +
          `simulator ${capacity.simulatorCpuCores}, PostgreSQL ${capacity.postgresCpuCores} cores`,
      );
    }
    say(`${recorder.lost} lost, ${recorder.duplicated} duplicated of ${sent} sent; ${recorder.reconnects} reconnects, ${recorder.gaps} gaps`);
    if (recorder.lost > 0 || recorder.duplicated > 0) {
      // Where: channels whose stored count differs from what the simulator sent them.
      const simCounts = (yield* Effect.promise(() => ask("counts"))) as unknown as { counts: Record<string, number>; undelivered: number };
      const storedByChannel = yield* sql<{ channel: string; n: number }>`SELECT channel, count(*)::int AS n FROM chat_messages GROUP BY channel`;
      const storedCount = new Map(storedByChannel.map((r) => [r.channel, r.n]));
      const differing = Object.entries(simCounts.counts)
        .map(([channel, n]) => ({ channel, sent: n, stored: storedCount.get(channel) ?? 0 }))
        .filter((c) => c.sent !== c.stored);
      say(
        `  ${simCounts.undelivered} lines went to channels nobody had joined; channels stored differently from sent: ` +
          (differing.length === 0 ? "none" : differing.slice(0, 10).map((c) => `${c.channel} ${c.stored}/${c.sent}`).join(", ")),
      );
    }

    // The same messages again, stored the other two ways.
    const sample = (yield* sql<StoredChatRow>`
      SELECT ${sql.literal(storedChatColumns)} FROM chat_messages ORDER BY abs_timestamp, msg_id LIMIT ${compareRows}`).map(rowFromStored);
    yield* sql`TRUNCATE chat_messages`;
    const bareStart = performance.now();
    for (let i = 0; i < sample.length; i += defaultChatBatchRows) {
      yield* insertChatRows(sample.slice(i, i + defaultChatBatchRows), { keepRaw: false });
    }
    const bareRate = sample.length / ((performance.now() - bareStart) / 1000);
    yield* sql`TRUNCATE chat_messages`;
    // One INSERT per message, as the Go original does, for at most 20 s.
    const goStart = performance.now();
    let goRows = 0;
    for (const r of sample) {
      yield* sql`
        INSERT INTO chat_messages (channel, vod_id, stream_id, msg_id, kind, user_id, username, display_name, color, badges, emotes,
          bits, message, is_action, first_msg, msg_params, system_message, abs_timestamp, rel_timestamp)
        VALUES (${r.channel}, ${r.vodId}, ${r.streamId}, ${r.msgId}, ${r.kind}, ${r.userId}, ${r.username}, ${r.displayName}, ${r.color},
          ${r.badges.length === 0 ? null : JSON.stringify(r.badges)}::jsonb, ${r.emotes.length === 0 ? null : JSON.stringify(r.emotes)}::jsonb,
          ${r.bits}, ${r.text}, ${r.isAction}, ${r.firstMessage}, ${r.params === null ? null : JSON.stringify(r.params)}::jsonb,
          ${r.systemMessage}, ${new Date(r.sentAt)}, ${r.relTimestamp})`;
      goRows++;
      if (performance.now() - goStart > 20_000) break;
    }
    const goRate = goRows / ((performance.now() - goStart) / 1000);
    const figures = {
      // The machine's load while it ran: the figures are only as good as the cores were free.
      loadAverage1m: round(loadavg()[0] ?? 0, 2),
      channels,
      warmupSeconds,
      seconds,
      ...recorder,
      capacity: capacity === undefined ? null : (({ sent: _sent, ...figures }) => figures)(capacity),
      goOneInsertPerMessagePerSecond: round(goRate, 0),
      bareBatchedInsertPerSecond: round(bareRate, 0),
      ratioToBareCeiling: round(recorder.messagesPerSecond / bareRate, 2),
      ratioToGoOriginal: round(recorder.messagesPerSecond / goRate, 1),
      // The names for the headline figures.
      msgs_per_s: recorder.messagesPerSecond,
      p50_ms: recorder.p50Ms,
      p99_ms: recorder.p99Ms,
      per_row_msgs_per_s: round(goRate, 0),
      bare_batch_msgs_per_s: round(bareRate, 0),
      goals: {
        sustained20k: recorder.messagesPerSecond >= 20_000,
        p99Under1s: recorder.p99Ms <= 1_000,
        noneLost: recorder.lost === 0,
        noneDuplicated: recorder.duplicated === 0,
        halfOfCeiling: recorder.messagesPerSecond / bareRate >= 0.5,
      },
    };
    say(`one INSERT per message (Go original): ${figures.goOneInsertPerMessagePerSecond} msg/s; bare batched INSERT: ${figures.bareBatchedInsertPerSecond} msg/s`);
    say(`ratios: ${figures.ratioToBareCeiling}× the bare ceiling, ${figures.ratioToGoOriginal}× the Go original`);
    return figures;
  }).pipe(Effect.provide(sqlLayer(pg.url)));

  try {
    const figures = await Effect.runPromise(program);
    child.stdin.write("stop\n");
    say(JSON.stringify(figures));
  } finally {
    child.kill();
    await pg.stop();
    await rm(journal, { recursive: true, force: true });
  }
};

if (process.argv.includes("--simulator")) await runSimulatorProcess();
else await runBenchmark();
