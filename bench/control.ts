/**
 * `npm run bench:control`: the control plane under 1,000 running channels.
 *
 * Measures, through a real `/control` socket on 127.0.0.1:
 * - `channels.status` round trip (p50/p99),
 * - hot-add of new channels (p50/p99, reply received),
 * - `/metrics` scrape time and size,
 * - channels-file reload: file saved → new channel running (p50/max).
 *
 * Goals: round trip p99 ≤ 10 ms, hot-add p99 ≤ 25 ms, scrape ≤ 250 ms,
 * reload ≤ 2,000 ms. The last line of output is one JSON object.
 *
 * The runtime is real: the Supervisor with its actor trees (children idle:
 * empty catalog, empty queue, never live), the repositories on an embedded
 * PostgreSQL, the runtime event bus. `--backend memory` swaps in the in-memory
 * test backend to see the control plane's own share.
 *
 * Options: `--channels N` (default 1000), `--samples N` (default 1000),
 * `--backend live|memory` (default live).
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { readChannelsFile, resolveChannels } from "../src/services/channels-file.ts";
import type { ControlBackend } from "../src/runtime/control-backend.ts";
import type { MetricsService } from "../src/services/metrics.ts";
import { startControlHarness } from "../test/support/control-harness.ts";
import { makeInMemoryControlBackend, testChannelSettings } from "../test/support/in-memory-control-backend.ts";
import { startLiveControlBackend } from "../test/support/live-control-backend.ts";
import { startTestPostgres } from "../test/support/postgres-server.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : Number(process.argv[i + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
};

const channelCount = arg("channels", 1000);
const samples = arg("samples", 1000);
const hotAdds = Math.min(200, samples);
const backendKind = process.argv.includes("memory") ? "memory" : "live";

/** The backend under test, and how to stop it. */
const startBackend = async (): Promise<{ backend: ControlBackend; metrics?: MetricsService; close: () => Promise<void> }> => {
  if (backendKind === "memory") return { backend: makeInMemoryControlBackend(), close: async () => {} };
  const postgres = await startTestPostgres();
  // First catalog scans spread over a minute, as in production, rather than all at once.
  const live = await startLiveControlBackend(postgres.adminUrl, { migrate: true, supervisor: { firstScanSpreadMs: 60_000 }, metricsCoalesceMs: 100 });
  return {
    backend: live.backend,
    metrics: live.metrics,
    close: async () => {
      await live.close();
      await postgres.stop();
    },
  };
};

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const round = (n: number) => Math.round(n * 100) / 100;
const say = (text: string) => process.stderr.write(`${text}\n`);

const main = async () => {
  const dir = await mkdtemp(join(tmpdir(), "vod-tender-bench-control-"));
  const file = join(dir, "channels.yaml");
  const fileChannels = Array.from({ length: channelCount }, (_, i) => `bench_${String(i).padStart(5, "0")}`);
  const yaml = (names: ReadonlyArray<string>) => `channels:\n${names.map((n) => `  - ${n}\n`).join("")}`;
  await writeFile(file, yaml(fileChannels));

  const { backend, metrics, close } = await startBackend();
  const started = performance.now();
  const harness = await startControlHarness({
    backend,
    ...(metrics === undefined ? {} : { metrics }),
    channelsFile: file,
    limits: { requestsPerSecond: 100_000, burst: 100_000 },
    configured: () =>
      readChannelsFile(file, testChannelSettings).pipe(
        Effect.map((contents) => ({ channels: resolveChannels([], contents, testChannelSettings), defaults: contents.defaults })),
      ),
  });
  // "Running" means every channel actor reached `running`, not merely that it was added.
  let running = 0;
  for (;;) {
    const channels = await Effect.runPromise(backend.channels.list());
    running = channels.filter((c) => c.state === "running").length;
    if (running >= channelCount) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`${running} channels running (${backendKind} backend) after ${Math.round(performance.now() - started)} ms`);
  // Per-channel series as working channels keep them (idle ones write none), so the scrape has its real size.
  for (const name of fileChannels) {
    harness.metrics.breakerState.set({ channel: name }, 0);
    harness.metrics.vodQueueDepth.set({ channel: name }, 3);
    harness.metrics.downloadsStarted.inc({ channel: name });
    harness.metrics.chatMessagesStored.inc({ channel: name }, 100);
  }

  // The client shares this process: validating every frame would bill its own work to the server.
  const client = await harness.connect({ client: "bench", validate: false });
  await client.request("subscribe", {});

  // Warm-up: JIT and socket buffers.
  for (let i = 0; i < 100; i++) await client.request("channels.status", { name: fileChannels[i % fileChannels.length] as string });

  const rtt: Array<number> = [];
  for (let i = 0; i < samples; i++) {
    const name = fileChannels[(i * 7919) % fileChannels.length] as string;
    const t = performance.now();
    await client.request("channels.status", { name });
    rtt.push(performance.now() - t);
  }
  say(`channels.status rtt p50 ${round(percentile(rtt, 50))} ms, p99 ${round(percentile(rtt, 99))} ms`);

  const adds: Array<number> = [];
  for (let i = 0; i < hotAdds; i++) {
    const t = performance.now();
    await client.request("channels.add", { name: `hot_${String(i).padStart(5, "0")}` });
    adds.push(performance.now() - t);
  }
  say(`hot-add p50 ${round(percentile(adds, 50))} ms, p99 ${round(percentile(adds, 99))} ms`);

  const scrapes: Array<number> = [];
  let size = 0;
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    const body = await (await fetch(`${harness.url}/metrics`)).text();
    scrapes.push(performance.now() - t);
    size = Buffer.byteLength(body);
  }
  say(`/metrics scrape p50 ${round(percentile(scrapes, 50))} ms, max ${round(Math.max(...scrapes))} ms, ${size} bytes`);

  const reloads: Array<number> = [];
  let names = [...fileChannels];
  for (let i = 0; i < 5; i++) {
    const added = `reload_${i}`;
    names = [...names, added];
    const seen = new Promise<void>((resolve) => {
      const stop = client.onEvent((frame) => {
        if (frame.event.topic === "transition" && frame.event.channel === added && frame.event.to === "running") {
          stop();
          resolve();
        }
      });
    });
    const t = performance.now();
    await writeFile(`${file}.tmp`, yaml(names));
    await rename(`${file}.tmp`, file);
    await seen;
    reloads.push(performance.now() - t);
  }
  say(`file reload → running p50 ${round(percentile(reloads, 50))} ms, max ${round(Math.max(...reloads))} ms`);

  await client.close();
  await harness.close();
  await close();
  await rm(dir, { recursive: true, force: true });

  const result = {
    channels: running,
    backend: backendKind,
    status_rtt_p50_ms: round(percentile(rtt, 50)),
    status_rtt_p99_ms: round(percentile(rtt, 99)),
    hot_add_p50_ms: round(percentile(adds, 50)),
    hot_add_p99_ms: round(percentile(adds, 99)),
    metrics_scrape_ms: round(percentile(scrapes, 50)),
    metrics_scrape_max_ms: round(Math.max(...scrapes)),
    metrics_bytes: size,
    file_reload_p50_ms: round(percentile(reloads, 50)),
    file_reload_max_ms: round(Math.max(...reloads)),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

await main();
