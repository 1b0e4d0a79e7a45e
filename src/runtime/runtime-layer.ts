/**
 * Every service of the archiver, built from the configuration: the database
 * and its repositories, the Twitch and YouTube clients, yt-dlp and ffprobe,
 * the VOD pipeline, the chat recorder, the runtime event bus and the
 * Supervisor with the real work behind its actors.
 */
import { join } from "node:path";
import { Effect, Layer, Redacted } from "effect";
import type { Logger as PinoLogger } from "pino";
import { BreakerStore } from "../actors/breaker-store.ts";
import { CatalogWork } from "../actors/catalog-work.ts";
import { catalogWorkLive } from "../actors/catalog-work-live.ts";
import { chatServicesLayer } from "../actors/chat-services-layer.ts";
import { chatWorkLive } from "../actors/chat-work-live.ts";
import { processorWorkLive } from "../actors/processor-work-live.ts";
import { ToolCheck } from "../actors/tool-check.ts";
import { WorkError } from "../actors/work-error.ts";
import type { AppConfig } from "../services/config.ts";
import { Config } from "../services/config.ts";
import { databaseLayer } from "../services/database.ts";
import { DownloadSlots } from "../services/download-slots.ts";
import { Downloader } from "../services/downloader.ts";
import { Helix } from "../services/helix.ts";
import { Log } from "../services/log.ts";
import { Metrics } from "../services/metrics.ts";
import type { MetricsService } from "../services/metrics.ts";
import { Probe } from "../services/probe.ts";
import { AuditRepository } from "../services/repositories/audit.ts";
import { ChannelsRepository } from "../services/repositories/channels.ts";
import { KvRepository } from "../services/repositories/kv.ts";
import { TokensRepository } from "../services/repositories/tokens.ts";
import { VodClaims } from "../services/repositories/vods-claim.ts";
import { VodsRepository } from "../services/repositories/vods.ts";
import { RuntimeEvents } from "../services/runtime-events.ts";
import { Supervisor, SupervisorOptions } from "../services/supervisor.ts";
import { Tools } from "../services/tools.ts";
import { Uploader } from "../services/uploader.ts";
import { VodProcessing, vodProcessingOptions } from "../services/vod-processing.ts";
import { supervisorOptionsOf } from "./supervisor-options.ts";

/** Why catalog scans cannot run, when Helix credentials are missing. */
export const missingHelixCredentials = (config: AppConfig): string | undefined =>
  config.twitch.clientId === undefined || config.twitch.clientSecret === undefined
    ? "TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET are unset: VODs cannot be listed from Helix"
    : undefined;

const helixLayer = (config: AppConfig, metrics: MetricsService) =>
  Helix.layer({
    helixUrl: config.twitch.helixUrl,
    oauthUrl: config.twitch.oauthUrl,
    clientId: config.twitch.clientId ?? "",
    clientSecret: config.twitch.clientSecret ?? Redacted.make(""),
    onRequest: (info) => {
      metrics.helixRequests.inc({ endpoint: info.endpoint, status: String(info.status) });
      if (info.ratelimitRemaining !== undefined) metrics.helixRateLimitRemaining.set(info.ratelimitRemaining);
    },
  });

// Without credentials every scan fails with the reason, which the catalog
// actor shows as its error and retries with backoff: the operator sees why, and
// adding the credentials and restarting is all it takes.
const catalogWithout = (reason: string) =>
  Layer.succeed(CatalogWork, CatalogWork.of({ scan: () => Effect.fail(new WorkError({ message: reason, retryable: true })) }));

const uploaderLayer = (config: AppConfig) =>
  Uploader.layer({
    uploadUrl: config.youtube.uploadUrl,
    googleOAuthUrl: config.youtube.oauthUrl,
    clientId: config.youtube.clientId ?? "",
    clientSecret: config.youtube.clientSecret ?? Redacted.make(""),
    retries: config.upload.maxAttempts,
    retryBaseMs: config.upload.backoffBaseMs,
  });

const toolPaths = (config: AppConfig) => ({
  ytdlpPath: config.tools.ytdlp,
  ffmpegPath: config.tools.ffmpeg,
  ffprobePath: config.tools.ffprobe,
});

/** The archiver's services; `metrics` is the process registry the HTTP endpoint serves. */
export const runtimeLayer = (config: AppConfig, logger: PinoLogger, metrics: MetricsService) => {
  const base = Layer.mergeAll(Config.layer(config), Layer.succeed(Metrics, metrics), Log.layerFrom(logger));
  const database = databaseLayer({ url: config.databaseUrl, dataDir: config.dataDir });
  const repositories = Layer.mergeAll(
    ChannelsRepository.layer,
    AuditRepository.layer,
    VodsRepository.layer,
    VodClaims.layer,
    KvRepository.layer,
    TokensRepository.layer(config.security.encryptionKey),
  );
  const clients = Layer.mergeAll(
    helixLayer(config, metrics),
    uploaderLayer(config),
    Downloader.layer({
      ytdlpPath: config.tools.ytdlp,
      ffmpegPath: config.tools.ffmpeg,
      rateLimit: config.download.rateLimit,
      extraArgs: config.download.ytdlpVerbose ? ["-v", ...config.download.ytdlpArgs] : config.download.ytdlpArgs,
    }),
    Probe.layer({ ffprobePath: config.tools.ffprobe }),
    Tools.layer(toolPaths(config)),
    DownloadSlots.layer(config.download.maxConcurrent),
  );
  const processing = VodProcessing.layer(vodProcessingOptions(config));
  const chat = chatServicesLayer({
    ircUrl: config.twitch.ircUrl,
    channelsPerConnection: config.chat.channelsPerConnection,
    identity:
      config.twitch.botUsername !== undefined && config.twitch.oauthToken !== undefined
        ? { username: config.twitch.botUsername, token: config.twitch.oauthToken }
        : undefined,
    journalDirectory: join(config.dataDir, "chat-journal"),
    pollIntervalMs: config.chat.pollIntervalMs,
  });
  const helixProblem = missingHelixCredentials(config);
  const options = Layer.succeed(SupervisorOptions, supervisorOptionsOf(config));
  const work = Layer.mergeAll(
    helixProblem === undefined ? catalogWorkLive : catalogWithout(helixProblem),
    processorWorkLive,
    // The chat work reads the reconcile policy from the supervisor's options.
    chatWorkLive.pipe(Layer.provide(options)),
    Layer.effect(BreakerStore, KvRepository.useSync(BreakerStore.fromKv)),
    ToolCheck.layer(toolPaths(config)),
    options,
  );
  const supervisor = Supervisor.layer.pipe(Layer.provide(work), Layer.provideMerge(RuntimeEvents.layer));
  return supervisor.pipe(
    Layer.provideMerge(Layer.merge(processing, chat)),
    Layer.provideMerge(clients),
    Layer.provideMerge(repositories),
    Layer.provideMerge(database),
    Layer.provideMerge(base),
  );
};
