/**
 * Keeps `vodtender_channels{state}` in step with the Supervisor: after any
 * channel transition or change on the runtime event bus, the per-state counts
 * are read again from `Supervisor.summary` (cheap, even with thousands of
 * channels). Recounts are coalesced, so an event storm costs one recount per
 * `coalesceMs`, and the gauge never drifts the way per-event increments could.
 */
import { Effect } from "effect";
import type { Scope } from "effect";
import type { MetricsService } from "../services/metrics.ts";
import { RuntimeEvents } from "../services/runtime-events.ts";
import { Supervisor } from "../services/supervisor.ts";

/** Starts keeping the gauge current; stops when the scope closes. */
export const bindChannelMetrics = (
  metrics: Pick<MetricsService, "channelsByState">,
  options: { readonly coalesceMs?: number } = {},
): Effect.Effect<void, never, Scope.Scope | Supervisor | RuntimeEvents> =>
  Effect.gen(function* () {
    const supervisor = yield* Supervisor;
    const events = yield* RuntimeEvents;
    const context = yield* Effect.context<never>();
    const coalesceMs = options.coalesceMs ?? 100;
    const recount = Effect.map(supervisor.summary, (summary) => {
      for (const [state, count] of Object.entries(summary)) metrics.channelsByState.set({ state }, count);
    });
    yield* recount;
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        Effect.runForkWith(context)(recount);
      }, coalesceMs);
    };
    const stop = events.listen((event) => {
      if ((event._tag === "ActorTransition" && event.actor === "channel") || event._tag === "ChannelChanged") schedule();
    });
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stop();
        if (timer !== undefined) clearTimeout(timer);
      }),
    );
  });
