/**
 * What a channel's catalog actor asks of the world: one scan of the channel's
 * VODs. The actor decides when (interval, on demand, backoff); the
 * implementation decides how (Helix pages, the `vods` table).
 */
import { Context, Effect, Layer } from "effect";
import type { Scope } from "effect";
import type { CatalogSettings } from "../services/channel-settings.ts";
import type { ScanResult } from "../machines/catalog.ts";
import type { WorkError } from "./work-error.ts";

/** The catalog's work. */
export class CatalogWork extends Context.Service<
  CatalogWork,
  {
    /** Lists the channel's VODs (within `settings.max` and `settings.maxAgeDays`) and stores the new ones. */
    readonly scan: (channel: string, settings: CatalogSettings) => Effect.Effect<ScanResult, WorkError, Scope.Scope>;
  }
>()("vod-tender/actors/CatalogWork") {
  /** A catalog with no source: every scan finds nothing. For tests and benchmarks of the actor tree. */
  static readonly layerIdle: Layer.Layer<CatalogWork> = Layer.succeed(
    CatalogWork,
    CatalogWork.of({ scan: () => Effect.succeed({ found: 0, added: 0 }) }),
  );
}
