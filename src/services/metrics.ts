/**
 * Every Prometheus metric of the process, on one registry. Metrics are defined
 * here once so names, labels and help texts stay consistent; the code that
 * observes them only calls `.inc()`, `.set()` or `.observe()`.
 * `docs/metrics.md` lists them; keep the two in step.
 */
import { Context, Layer } from "effect";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Builds the registry and all metrics; one per process (tests build their own). */
export const makeMetrics = () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "vodtender_process_" });
  const on = { registers: [registry] };
  dropTotalGauges(registry);

  return {
    registry,

    channelsByState: new Gauge({ name: "vodtender_channels", help: "Channels by actor state.", labelNames: ["state"], ...on }),
    actorRestarts: new Counter({ name: "vodtender_actor_restarts_total", help: "Child actors restarted by their supervisor.", labelNames: ["channel", "child"], ...on }),
    actorEscalations: new Counter({ name: "vodtender_actor_escalations_total", help: "Restart intensity exceeded: a channel went to failed.", labelNames: ["channel"], ...on }),
    breakerState: new Gauge({ name: "vodtender_breaker_state", help: "Circuit breaker per channel: 0 closed, 1 half-open, 2 open.", labelNames: ["channel"], ...on }),
    vodQueueDepth: new Gauge({ name: "vodtender_vod_queue_depth", help: "VODs waiting to be processed.", labelNames: ["channel"], ...on }),
    downloadsStarted: new Counter({ name: "vodtender_downloads_started_total", help: "Downloads started.", labelNames: ["channel"], ...on }),
    downloadsSucceeded: new Counter({ name: "vodtender_downloads_succeeded_total", help: "Downloads finished and verified.", labelNames: ["channel"], ...on }),
    downloadsFailed: new Counter({ name: "vodtender_downloads_failed_total", help: "Downloads failed, by kind (retryable or permanent).", labelNames: ["channel", "kind"], ...on }),
    downloadBytes: new Counter({ name: "vodtender_download_bytes_total", help: "Bytes downloaded.", labelNames: ["channel"], ...on }),
    downloadDuration: new Histogram({
      name: "vodtender_download_duration_seconds",
      help: "Wall time of a successful download.",
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
      ...on,
    }),
    uploads: new Counter({ name: "vodtender_uploads_total", help: "YouTube uploads by result.", labelNames: ["channel", "result"], ...on }),
    chatMessagesStored: new Counter({ name: "vodtender_chat_messages_stored_total", help: "Chat messages committed to the database.", labelNames: ["channel"], ...on }),
    chatIngestLatency: new Histogram({
      name: "vodtender_chat_ingest_latency_seconds",
      help: "From a message's tmi-sent-ts to its committed row.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ...on,
    }),
    chatJournalDepth: new Gauge({ name: "vodtender_chat_journal_depth", help: "Chat messages waiting in the on-disk journal.", ...on }),
    chatGaps: new Counter({ name: "vodtender_chat_gaps_total", help: "Windows in which a live channel was not recorded.", labelNames: ["channel"], ...on }),
    helixRequests: new Counter({ name: "vodtender_helix_requests_total", help: "Twitch Helix requests by endpoint and status.", labelNames: ["endpoint", "status"], ...on }),
    helixRateLimitRemaining: new Gauge({ name: "vodtender_helix_ratelimit_remaining", help: "Ratelimit-Remaining of the last Helix response.", ...on }),
    controlConnections: new Gauge({ name: "vodtender_control_connections", help: "Open /control WebSocket connections.", ...on }),
    configReloads: new Counter({ name: "vodtender_config_reloads_total", help: "Channels file reloads by result.", labelNames: ["result"], ...on }),
  };
};

// prom-client adds `*_total` sums of its per-type active handle, request and
// resource gauges; Prometheus reserves `_total` for counters (`promtool check
// metrics` rejects them), and the per-type gauges already carry the same numbers.
const dropTotalGauges = (registry: Registry) => {
  for (const kind of ["handles", "requests", "resources"]) registry.removeSingleMetric(`vodtender_process_nodejs_active_${kind}_total`);
};

/** The metrics of this process. */
export type MetricsService = ReturnType<typeof makeMetrics>;

/** The process's metrics registry and metric objects. */
export class Metrics extends Context.Service<Metrics, MetricsService>()("vod-tender/services/Metrics") {
  /** A fresh registry with every metric defined. */
  static readonly layer = Layer.sync(Metrics, makeMetrics);
}
