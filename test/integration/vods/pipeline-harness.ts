/**
 * The VOD pipeline assembled against the simulator for tests: a migrated test
 * database, real yt-dlp/ffprobe, the Helix client and the YouTube uploader
 * pointed at the simulator, and `VodProcessing` with `DownloadSlots` on top.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Layer, ManagedRuntime, Redacted } from "effect";
import type { SqlClient } from "effect/sql/SqlClient";
import type { ChannelSettings } from "../../../src/services/channel-settings.ts";
import { Downloader } from "../../../src/services/downloader.ts";
import { DownloadSlots } from "../../../src/services/download-slots.ts";
import { Helix, type HelixRequestInfo } from "../../../src/services/helix.ts";
import { makeMetrics, Metrics, type MetricsService } from "../../../src/services/metrics.ts";
import { Probe } from "../../../src/services/probe.ts";
import { KvRepository } from "../../../src/services/repositories/kv.ts";
import { TokensRepository } from "../../../src/services/repositories/tokens.ts";
import { VodClaims } from "../../../src/services/repositories/vods-claim.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { Uploader } from "../../../src/services/uploader.ts";
import { VodProcessing, type VodProcessingOptions } from "../../../src/services/vod-processing.ts";
import type { Simulator } from "../../../src/sim/simulator.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";
import { testChannelSettings } from "../../support/in-memory-control-backend.ts";
import { simHelixLayer } from "../../support/sim-helix.ts";
import { clientLayer } from "./vod-fixtures.ts";

/** The services the pipeline provides. */
export type PipelineServices =
  | VodProcessing
  | DownloadSlots
  | VodsRepository
  | VodClaims
  | KvRepository
  | Helix
  | TokensRepository
  | SqlClient
  | Metrics
  | Downloader
  | Probe
  | Uploader;

/** Everything a pipeline test runs against. */
export interface Pipeline {
  readonly runtime: ManagedRuntime.ManagedRuntime<PipelineServices, unknown>;
  readonly metrics: MetricsService;
  readonly dataDir: string;
  readonly database: TestDatabase;
  /** Every Helix exchange the client reported. */
  readonly helixRequests: Array<HelixRequestInfo>;
  /** Progress writes to `vods`, per VOD row id. */
  readonly progressWrites: Map<number, number>;
  readonly close: () => Promise<void>;
}

/** Settings of a channel in these tests: downloads on, uploads off unless asked. */
export const settingsWith = (upload?: Partial<ChannelSettings["upload"]>): ChannelSettings => ({
  ...testChannelSettings,
  upload: { ...testChannelSettings.upload, ...upload },
});

/** An AES key for the token store (32 bytes). */
export const testEncryptionKey = Redacted.make(Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 3));

/** Builds the pipeline on a fresh database against `sim`. */
export const startPipeline = async (
  sim: Simulator,
  options: {
    readonly slots?: number;
    readonly processing?: Partial<VodProcessingOptions>;
    readonly uploadChunkBytes?: number;
    readonly uploadRetries?: number;
    /** Run on this database and data folder (a restarted process) instead of fresh ones; they are then left in place on close. */
    readonly reuse?: { readonly database: TestDatabase; readonly dataDir: string };
  } = {},
): Promise<Pipeline> => {
  const database = options.reuse?.database ?? (await createTestDatabase());
  const dataDir = options.reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), "vt-pipeline-")));
  const metrics = makeMetrics();
  const helixRequests: Array<HelixRequestInfo> = [];
  const progressWrites = new Map<number, number>();
  // The real repository, with its progress writes counted.
  const vods = Layer.effect(
    VodsRepository,
    Effect.map(Effect.service(VodsRepository), (real) =>
      VodsRepository.of({
        ...real,
        writeProgress: (id, progress) =>
          Effect.andThen(
            Effect.sync(() => progressWrites.set(id, (progressWrites.get(id) ?? 0) + 1)),
            real.writeProgress(id, progress),
          ),
      }),
    ),
  ).pipe(Layer.provide(VodsRepository.layer));
  const base = Layer.mergeAll(
    vods,
    VodClaims.layer,
    KvRepository.layer,
    TokensRepository.layer(testEncryptionKey),
    Downloader.layer({ socketTimeoutSeconds: 10 }),
    Probe.layer(),
    Layer.succeed(Metrics, metrics),
    simHelixLayer(sim, (info) => void helixRequests.push(info)),
    Uploader.layer({
      uploadUrl: sim.urls.youtubeUpload,
      googleOAuthUrl: sim.urls.googleOAuth,
      clientId: sim.google.clientId,
      clientSecret: sim.google.clientSecret,
      chunkSizeBytes: options.uploadChunkBytes ?? 256 * 1024,
      retries: options.uploadRetries ?? 5,
      retryBaseMs: 20,
      retryMaxDelayMs: 200,
    }),
    DownloadSlots.layer(options.slots ?? 2),
  );
  const processing = VodProcessing.layer({
    dataDir,
    retryCooldownMs: 60_000,
    uploadsConfigured: true,
    ...options.processing,
  }).pipe(Layer.provideMerge(base), Layer.provideMerge(clientLayer(database.url, true)));
  const runtime = ManagedRuntime.make(processing);
  await runtime.runPromise(Effect.void);
  return {
    runtime,
    metrics,
    dataDir,
    database,
    helixRequests,
    progressWrites,
    close: async () => {
      await runtime.dispose();
      if (options.reuse !== undefined) return;
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};
