/**
 * The catalog's work, done for real: `CatalogWork` bound to `scanCatalog`
 * (Helix `/videos` pages into `vods`, resumable backfill, channel identity by
 * Twitch user id).
 */
import { Effect, Layer } from "effect";
import type { SqlClient } from "effect/sql/SqlClient";
import { scanCatalog } from "../services/catalog-scan.ts";
import type { Helix } from "../services/helix.ts";
import type { KvRepository } from "../services/repositories/kv.ts";
import { CatalogWork } from "./catalog-work.ts";
import { WorkError } from "./work-error.ts";

/** `CatalogWork` over the Helix client, the database and `kv`. */
export const catalogWorkLive: Layer.Layer<CatalogWork, never, Helix | SqlClient | KvRepository> = Layer.effect(
  CatalogWork,
  Effect.gen(function* () {
    const context = yield* Effect.context<Helix | SqlClient | KvRepository>();
    return CatalogWork.of({
      scan: (channel, settings) =>
        scanCatalog(channel, { max: settings.max, maxAgeDays: settings.maxAgeDays }).pipe(
          Effect.map((result) => ({ found: result.found, added: result.added })),
          Effect.mapError((error) => new WorkError({ message: error.message, retryable: error.retryable })),
          Effect.provide(context),
        ),
    });
  }),
);
