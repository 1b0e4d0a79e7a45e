/**
 * The `audit_log` table: who did what through the control channel or the
 * admin API, and how it ended. Written once per action, never updated.
 */
import { Context, Effect, Layer, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";

/** One action to record. */
export interface AuditEntry {
  /** Who: a control client's name, `admin`, `system`. */
  readonly actor: string;
  /** What, e.g. `channel.add`, `vod.reprocess`. */
  readonly action: string;
  /** The channel acted on, when there is one. */
  readonly channel?: string;
  /** The object acted on within it (a VOD id, a setting name). */
  readonly target?: string;
  /** The request's parameters, secrets already removed. */
  readonly params?: Schema.Json;
  /** `ok`, `rejected`, `failed`, ... */
  readonly result?: string;
  readonly error?: string;
}

/** A recorded action. */
export interface AuditRecord extends AuditEntry {
  readonly id: number;
  readonly at: Date;
}

/** Writes and reads of `audit_log`. */
export interface AuditStore {
  /** Appends one entry; returns it with its id and time. */
  readonly record: (entry: AuditEntry) => Effect.Effect<AuditRecord, SqlError>;
  /** The latest entries, newest first; only `channel`'s when given. */
  readonly recent: (options: {
    readonly limit: number;
    readonly channel?: string;
  }) => Effect.Effect<ReadonlyArray<AuditRecord>, SqlError>;
}

const AuditRow = Schema.Struct({
  id: Schema.Number,
  at: Schema.Date,
  actor: Schema.String,
  action: Schema.String,
  channel: Schema.NullOr(Schema.String),
  target: Schema.NullOr(Schema.String),
  params: Schema.NullOr(Schema.Json),
  result: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
});

// A row that does not match is a schema/code mismatch, not a runtime condition.
const toRecord = (row: unknown): Effect.Effect<AuditRecord> =>
  Schema.decodeUnknownEffect(AuditRow)(row).pipe(
    Effect.map(
      (decoded): AuditRecord => ({
        id: decoded.id,
        at: decoded.at,
        actor: decoded.actor,
        action: decoded.action,
        ...(decoded.channel === null ? {} : { channel: decoded.channel }),
        ...(decoded.target === null ? {} : { target: decoded.target }),
        ...(decoded.params === null ? {} : { params: decoded.params }),
        ...(decoded.result === null ? {} : { result: decoded.result }),
        ...(decoded.error === null ? {} : { error: decoded.error }),
      }),
    ),
    Effect.orDie,
  );

/** The `audit_log` repository. */
export class AuditRepository extends Context.Service<AuditRepository, AuditStore>()(
  "vod-tender/services/repositories/Audit",
) {
  /** The repository over the `SqlClient` in context. */
  static readonly layer: Layer.Layer<AuditRepository, never, SqlClient> = Layer.effect(
    AuditRepository,
    Effect.gen(function* () {
      const sql = yield* SqlClient;

      const record = Effect.fn("Audit.record")(function* (entry: AuditEntry) {
        const params = entry.params === undefined ? null : JSON.stringify(entry.params);
        const rows = yield* sql`
          INSERT INTO audit_log (actor, action, channel, target, params, result, error)
          VALUES (${entry.actor}, ${entry.action}, ${entry.channel ?? null}, ${entry.target ?? null},
                  ${params}::jsonb, ${entry.result ?? null}, ${entry.error ?? null})
          RETURNING *`;
        return yield* toRecord(rows[0]);
      });

      const recent = Effect.fn("Audit.recent")(function* (options: {
        readonly limit: number;
        readonly channel?: string;
      }) {
        const rows =
          options.channel === undefined
            ? yield* sql`SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT ${options.limit}`
            : yield* sql`
                SELECT * FROM audit_log WHERE channel = ${options.channel}
                ORDER BY at DESC, id DESC LIMIT ${options.limit}`;
        return yield* Effect.forEach(rows, toRecord);
      });

      return AuditRepository.of({ record, recent });
    }),
  );
}
