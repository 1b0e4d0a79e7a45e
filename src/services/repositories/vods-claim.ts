/**
 * Claiming VODs for processing, safely across processes sharing a database.
 *
 * A claim is taken in one short transaction: the channel's next workable VOD
 * (highest `priority`, then oldest `date`) is selected `FOR UPDATE SKIP
 * LOCKED`, so two claimers racing never pick the same row, and stamped with
 * the claimer's `claim_key`. The claim then outlives the transaction for as
 * long as the download runs.
 *
 * Whether a claim is still good is not a lease that must expire: every process
 * holds a session-level advisory lock on its own key for its whole life, on a
 * connection reserved for it. When a process dies (SIGKILL included) its
 * session ends and the lock goes with it; the next claimer sees that nobody
 * holds the key (`pg_try_advisory_xact_lock` succeeds) and takes the VOD over
 * at once, resuming its partial file.
 *
 * Skipped by a claim: placeholders, processed and permanently failed VODs,
 * canceled ones (until reprocessed), VODs cooling down (`next_attempt_at`),
 * and the archive of a stream still live (it is still growing).
 */
import { hostname } from "node:os";
import { randomInt } from "node:crypto";
import * as PgTypes from "@effect/sql-pg/PgTypes";
import { Context, Duration, Effect, Layer, Result, Schedule } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { Connection } from "effect/sql/SqlConnection";
import type { SqlError } from "effect/sql/SqlError";
import { toVodRecord, type VodRecord } from "./vods.ts";

/** First half of every claim lock's two-part advisory key ("vod1"); the second half is the claimer's key. */
export const CLAIM_LOCK_NAMESPACE = 0x766f6431;

/** How a claimed VOD's processing ended, as far as the queue is concerned. */
export type ClaimEnd =
  /** Processed: the VOD leaves the queue. */
  | { readonly _tag: "Done" }
  /** Failed for now: back in the queue once `retryAt` has passed. */
  | { readonly _tag: "Retry"; readonly retryAt: Date; readonly message: string }
  /** Failed for good (the stage already marked it). */
  | { readonly _tag: "Failed"; readonly message: string }
  /** Stopped by an operator: not claimed again until reprocessed. */
  | { readonly _tag: "Canceled" }
  /** Put off without a failure (upload cap reached): back in the queue at `until`. */
  | { readonly _tag: "Deferred"; readonly until: Date };

/** Claims of this process. */
export interface VodClaimsService {
  /** This process's claim key and the label stored in `claimed_by`. */
  readonly claimant: { readonly key: number; readonly label: string };
  /**
   * Claims the channel's next workable VOD, or undefined when there is none.
   * A processor works on one VOD of its channel at a time: claiming again
   * first gives back the channel's previous claim, if it was never finished
   * (a processor restarted mid-download takes the same VOD again).
   */
  readonly claimNext: (channel: string) => Effect.Effect<VodRecord | undefined, SqlError>;
  /** Ends a claim and writes what the queue needs to know; a claim this process no longer holds is left alone. */
  readonly finish: (vodId: number, end: ClaimEnd) => Effect.Effect<void, SqlError>;
  /** Gives a claim back without changing anything else (the process is stopping). */
  readonly release: (vodId: number) => Effect.Effect<void, SqlError>;
  /** Whether this process still holds the claim on `vodId`. */
  readonly holds: (vodId: number) => Effect.Effect<boolean, SqlError>;
  /** VOD ids this process holds claims on. */
  readonly held: Effect.Effect<ReadonlyArray<number>>;
}

const int8Array = (values: ReadonlyArray<number>): PgTypes.Parameter => {
  const result = PgTypes.array(values, PgTypes.OID.int8);
  if (Result.isFailure(result)) throw result.failure;
  return result.success;
};

/** How often the claim session is checked (and re-established after a database restart). */
const SESSION_CHECK = Duration.seconds(10);

/** The claims repository. */
export class VodClaims extends Context.Service<VodClaims, VodClaimsService>()("vod-tender/services/repositories/VodClaims") {
  /**
   * Claims over the `SqlClient` in context. Building the layer reserves one
   * pooled connection for the process's claim lock, kept until the layer is
   * released (the lock is then given up and the claims become free).
   */
  static readonly layer: Layer.Layer<VodClaims, SqlError, SqlClient> = Layer.effect(
    VodClaims,
    Effect.gen(function* () {
      const sql = yield* SqlClient;
      const label = `${hostname()}:${process.pid}`;
      const key = randomInt(1, 2 ** 31 - 1);
      const heldByChannel = new Map<number, string>();

      // The claim lock lives on one reserved connection. A lost connection (the
      // database restarted) is replaced and the lock taken again; while it is
      // lost, other processes may take over this process's claims, which
      // `finish` then notices and leaves alone.
      const lockOn = (connection: Connection) =>
        Effect.gen(function* () {
          const rows = yield* connection.execute("SELECT pg_try_advisory_lock($1, $2) AS locked", [CLAIM_LOCK_NAMESPACE, key], undefined);
          if (rows[0]?.locked !== true) yield* Effect.logWarning(`claim key ${key} is held by another session`);
          yield* Effect.addFinalizer(() =>
            connection.execute("SELECT pg_advisory_unlock($1, $2)", [CLAIM_LOCK_NAMESPACE, key], undefined).pipe(Effect.ignore),
          );
        });
      const watch = (connection: Connection) =>
        connection.execute("SELECT 1", [], undefined).pipe(Effect.delay(SESSION_CHECK), Effect.forever);
      const relock = Effect.gen(function* () {
        const connection = yield* sql.reserve;
        yield* lockOn(connection);
        yield* watch(connection);
      }).pipe(Effect.scoped);

      // The first lock is taken before the layer is ready, so no claim is made without it.
      const first = yield* sql.reserve;
      yield* lockOn(first);
      yield* watch(first).pipe(
        Effect.catchCause((cause) => Effect.logWarning("claim session lost; taking the claim lock again", cause)),
        Effect.andThen(
          relock.pipe(
            Effect.catchCause((cause) => Effect.logWarning("claim session lost; retrying", cause)),
            Effect.repeat(Schedule.spaced(SESSION_CHECK)),
          ),
        ),
        Effect.forkScoped,
      );

      const releaseIds = (ids: ReadonlyArray<number>) =>
        ids.length === 0
          ? Effect.void
          : sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, updated_at = now()
              WHERE id = ANY(${int8Array(ids)}) AND claim_key = ${key}`.pipe(
              Effect.tap(() => Effect.sync(() => ids.forEach((id) => heldByChannel.delete(id)))),
            );

      const claimNext = Effect.fn("VodClaims.claimNext")(function* (channel: string) {
        const previous = [...heldByChannel].filter(([, owner]) => owner === channel).map(([id]) => id);
        yield* releaseIds(previous);
        const held = int8Array([...heldByChannel.keys()]);
        const rows = yield* sql`
          WITH next AS (
            SELECT v.id FROM vods v
            WHERE v.channel = ${channel}
              AND NOT v.processed AND NOT v.is_placeholder AND NOT v.failed_permanently
              AND v.twitch_vod_id IS NOT NULL
              AND v.download_state IS DISTINCT FROM 'canceled'
              AND (v.next_attempt_at IS NULL OR v.next_attempt_at <= now())
              AND (
                v.claim_key IS NULL
                OR (v.claim_key = ${key} AND NOT (v.id = ANY(${held})))
                OR (v.claim_key <> ${key} AND pg_try_advisory_xact_lock(${CLAIM_LOCK_NAMESPACE}, v.claim_key))
              )
              AND NOT EXISTS (
                SELECT 1 FROM streams s
                WHERE s.channel = v.channel AND s.stream_id = v.stream_id AND s.ended_at IS NULL
              )
            ORDER BY v.priority DESC, v.date ASC NULLS LAST, v.id ASC
            LIMIT 1
            FOR UPDATE OF v SKIP LOCKED
          )
          UPDATE vods SET claimed_by = ${label}, claim_key = ${key}, claimed_at = now(),
            download_state = 'queued', updated_at = now()
          FROM next WHERE vods.id = next.id
          RETURNING vods.*`;
        if (rows[0] === undefined) return undefined;
        const record = yield* toVodRecord(rows[0]);
        heldByChannel.set(record.id, channel);
        return record;
      });

      const finish = Effect.fn("VodClaims.finish")(function* (vodId: number, end: ClaimEnd) {
        heldByChannel.delete(vodId);
        const mine = sql`id = ${vodId} AND claim_key = ${key}`;
        switch (end._tag) {
          case "Done":
            yield* sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, processed = true,
                download_state = 'done', processing_error = NULL, next_attempt_at = NULL, updated_at = now()
              WHERE ${mine}`;
            return;
          case "Retry":
            yield* sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, download_state = 'retrying',
                processing_error = ${end.message.slice(0, 2000)}, next_attempt_at = ${end.retryAt}, updated_at = now()
              WHERE ${mine}`;
            return;
          case "Failed":
            yield* sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, download_state = 'failed',
                failed_permanently = true, processing_error = COALESCE(processing_error, ${end.message.slice(0, 2000)}),
                updated_at = now()
              WHERE ${mine}`;
            return;
          case "Canceled":
            yield* sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, download_state = 'canceled',
                download_speed = NULL, download_eta = NULL, updated_at = now()
              WHERE ${mine}`;
            return;
          case "Deferred":
            yield* sql`
              UPDATE vods SET claimed_by = NULL, claim_key = NULL, claimed_at = NULL, download_state = 'deferred',
                next_attempt_at = ${end.until}, updated_at = now()
              WHERE ${mine}`;
            return;
        }
      });

      const release = Effect.fn("VodClaims.release")(function* (vodId: number) {
        yield* releaseIds([vodId]);
      });

      const holds = Effect.fn("VodClaims.holds")(function* (vodId: number) {
        const rows = yield* sql`SELECT 1 FROM vods WHERE id = ${vodId} AND claim_key = ${key}`;
        return rows.length > 0;
      });

      return VodClaims.of({
        claimant: { key, label },
        claimNext,
        finish,
        release,
        holds,
        held: Effect.sync(() => [...heldByChannel.keys()]),
      });
    }),
  );
}
