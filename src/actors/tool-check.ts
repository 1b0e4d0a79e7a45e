/**
 * Whether the pipeline's programs are usable, as the processor asks at start
 * and now and then while any is missing: a missing yt-dlp, ffmpeg or ffprobe
 * leaves the processor `degraded` with the reason instead of failing every
 * download.
 */
import { Context, Effect, Layer } from "effect";
import type { ToolStatus } from "../machines/processor.ts";
import { TOOL_NAMES, Tools, isToolLocation, locateTools } from "../services/tools.ts";
import type { ToolPaths, ToolReport } from "../services/tools.ts";

/** The missing tools of a report, with their reasons. */
export const toolStatusOf = (report: ToolReport): ToolStatus => ({
  missing: TOOL_NAMES.flatMap((name) => {
    const entry = report[name];
    return isToolLocation(entry) ? [] : [{ tool: name, reason: entry.reason }];
  }),
});

/** How long a located report is reused before the tools are looked for again. */
export const TOOL_RECHECK_CACHE_MS = 30_000;

/** The processor's tool check. */
export class ToolCheck extends Context.Service<ToolCheck, { readonly check: Effect.Effect<ToolStatus> }>()("vod-tender/actors/ToolCheck") {
  /**
   * Starts from the tools located when the runtime started (the `Tools`
   * service) and, while any is missing, looks again at most every
   * `TOOL_RECHECK_CACHE_MS` — one lookup shared by every processor — so a tool
   * installed while the runtime runs is picked up by the processors' next
   * check.
   */
  static readonly layer = (paths: ToolPaths = {}): Layer.Layer<ToolCheck, never, Tools> =>
    Layer.effect(
      ToolCheck,
      Effect.gen(function* () {
        const initial = toolStatusOf(yield* Tools.useSync((tools) => tools.report));
        if (initial.missing.length === 0) return ToolCheck.of({ check: Effect.succeed(initial) });
        const relocate = yield* Effect.cachedWithTTL(Effect.map(locateTools(paths), toolStatusOf), TOOL_RECHECK_CACHE_MS);
        return ToolCheck.of({ check: relocate });
      }),
    );
}
