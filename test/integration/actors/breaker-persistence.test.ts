import { assert, describe, layer } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { BreakerStore, encodeBreaker } from "../../../src/actors/breaker-store.ts";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import { retryable } from "../../../src/actors/work-error.ts";
import type { DownloadJob, DownloadOutcome } from "../../../src/machines/download.ts";
import { KvRepository } from "../../../src/services/repositories/kv.ts";
import { Supervisor } from "../../../src/services/supervisor.ts";
import { testDatabaseLayer } from "../../support/database.ts";
import { eventually, fastOptions, settings, supervisorLayer } from "./supervisor-harness.ts";

const KEYS = ["circuit_state", "circuit_failures", "circuit_open_until"];
const COOLDOWN = 600_000;

/** The breaker over the project's kv repository on a real database, as `vod-tender start` binds it. */
const kvBreakers = (kv: KvRepository["Service"]) => Layer.succeed(BreakerStore, BreakerStore.fromKv(kv));

const breakerOptions = fastOptions({
  policy: {
    ...fastOptions().policy,
    processor: {
      ...fastOptions().policy.processor,
      circuit: { threshold: 2, cooldownMs: COOLDOWN },
      download: { maxAttempts: 1, backoff: { baseMs: 10, maxMs: 10 } },
    },
  },
});

/**
 * A processor whose queue holds `queued` VODs whose downloads fail
 * (`failing`) or succeed; it records each claim and each outcome.
 */
const processorWork = (failing: boolean, queued: number, log: { claims: number; outcomes: Array<DownloadOutcome["status"]> }) =>
  Layer.effect(
    ProcessorWork,
    ProcessorWork.useSync((idle) =>
      ProcessorWork.of({
        ...idle,
        claimNext: () =>
          Effect.sync((): DownloadJob | null => {
            if (log.claims >= queued) return null;
            log.claims += 1;
            return { vodId: log.claims, twitchVodId: `v${log.claims}`, title: "VOD" };
          }),
        prepare: () => Effect.void,
        download: (_channel, job) => (failing ? Effect.fail(retryable("HTTP 500 from the CDN")) : Effect.succeed({ path: `/data/${job.twitchVodId}.mp4`, bytes: 1 })),
        verify: () => Effect.void,
        finish: (_channel, _job, outcome) => Effect.sync(() => void log.outcomes.push(outcome.status)),
      }),
    ),
  ).pipe(Layer.provide(ProcessorWork.layerIdle));

describe("breaker persistence", () => {
  layer(Layer.provideMerge(KvRepository.layer, testDatabaseLayer()), { excludeTestServices: true })((it) => {
    it.effect("a breaker opened by failures is stored in kv, and a channel started again finds it open and claims nothing", () =>
      Effect.gen(function* () {
        const kv = yield* KvRepository;
        const log = { claims: 0, outcomes: [] as Array<DownloadOutcome["status"]> };
        const runtime = supervisorLayer({ processor: processorWork(true, 100, log), breakers: kvBreakers(kv), options: breakerOptions });
        yield* Effect.gen(function* () {
          const supervisor = yield* Supervisor;
          yield* supervisor.addChannel("alice", settings);
          yield* eventually(Effect.map(supervisor.status("alice"), (status) => (status.breaker === "open" ? true : undefined)));
          assert.deepStrictEqual(log.outcomes, ["failed", "failed"]);
          const stored = yield* eventually(Effect.map(kv.getMany("alice", KEYS), (rows) => (rows.get("circuit_state") === "open" ? rows : undefined)));
          assert.strictEqual(stored.get("circuit_failures"), "2");
          const until = Date.parse(stored.get("circuit_open_until") ?? "");
          assert.isAbove(until, Date.now() + COOLDOWN - 60_000);
          assert.isAtMost(until, Date.now() + COOLDOWN);
          yield* supervisor.removeChannel("alice");

          const claimsBefore = log.claims;
          yield* supervisor.addChannel("alice", settings);
          const restored = yield* eventually(
            Effect.map(supervisor.status("alice"), (status) => (status.state === "running" && status.breaker !== "loading" ? status : undefined)),
          );
          assert.strictEqual(restored.breaker, "open");
          assert.strictEqual(restored.children.processor.state, "idle");
          assert.strictEqual(log.claims, claimsBefore);
          // Restoring rewrote nothing.
          assert.strictEqual((yield* kv.getMany("alice", KEYS)).get("circuit_open_until"), stored.get("circuit_open_until"));
        }).pipe(Effect.scoped, Effect.provide(runtime));
      }));

    it.effect("an open breaker restored from kv re-arms for the time left, then lets one probe through", () =>
      Effect.gen(function* () {
        const kv = yield* KvRepository;
        // Opened by an earlier process: 300 ms of its cooldown are left.
        yield* kv.setMany("bob", encodeBreaker({ state: "open", failures: 3, openForMs: 300 }, Date.now()));
        const log = { claims: 0, outcomes: [] as Array<DownloadOutcome["status"]> };
        const runtime = supervisorLayer({ processor: processorWork(false, 1, log), breakers: kvBreakers(kv), options: breakerOptions });
        yield* Effect.gen(function* () {
          const supervisor = yield* Supervisor;
          yield* supervisor.addChannel("bob", settings);
          const opened = yield* eventually(Effect.map(supervisor.status("bob"), (status) => (status.breaker !== "loading" && status.breaker !== null ? status : undefined)));
          assert.strictEqual(opened.breaker, "open");
          assert.strictEqual(log.claims, 0);
          // After the time left, the probe succeeds and closes the breaker, in kv too.
          yield* eventually(Effect.map(kv.getMany("bob", KEYS), (rows) => (rows.get("circuit_state") === "closed" ? rows : undefined)));
          assert.strictEqual((yield* kv.getMany("bob", KEYS)).get("circuit_failures"), "0");
          assert.deepStrictEqual(log.outcomes, ["done"]);
        }).pipe(Effect.scoped, Effect.provide(runtime));
      }));
  });
});
