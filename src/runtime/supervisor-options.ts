/**
 * The supervisor's limits as the configuration states them: restart intensity
 * and backoff, breaker, download retries, processing and reconciliation pace.
 */
import { chatReconcilePolicy } from "../actors/chat-work-live.ts";
import type { AppConfig } from "../services/config.ts";
import { defaultSupervisorOptions } from "../services/supervisor.ts";
import type { SupervisorOptions } from "../services/supervisor.ts";

/** Builds `SupervisorOptions` from the configuration; what it does not set keeps its default. */
export const supervisorOptionsOf = (config: AppConfig): SupervisorOptions => {
  const defaults = defaultSupervisorOptions.policy;
  return {
    ...defaultSupervisorOptions,
    shutdownTimeoutMs: config.supervisor.shutdownTimeoutMs,
    policy: {
      supervision: {
        ...defaults.supervision,
        maxRestarts: config.supervisor.maxRestarts,
        restartWindowMs: config.supervisor.restartWindowMs,
        restartBackoff: { baseMs: config.supervisor.restartBackoffMs, maxMs: config.supervisor.restartBackoffMaxMs },
        failedRetryMs: config.supervisor.channelFailedRetryMs,
      },
      processor: {
        ...defaults.processor,
        circuit: { threshold: config.circuit.failureThreshold, cooldownMs: config.circuit.openCooldownMs },
        download: {
          maxAttempts: config.download.maxAttempts,
          backoff: { ...defaults.processor.download.backoff, baseMs: config.download.backoffBaseMs },
        },
        pollIntervalMs: config.download.processIntervalMs,
      },
      catalog: defaults.catalog,
      chat: {
        ...defaults.chat,
        // Looks continue for the whole window (VOD_RECONCILE_WINDOW) after VOD_RECONCILE_DELAY.
        reconcile: chatReconcilePolicy({ delayMs: config.chat.reconcileDelayMs, windowMs: config.chat.reconcileWindowMs }),
      },
    },
  };
};
