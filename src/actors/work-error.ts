/**
 * The one error type the work interfaces (`CatalogWork`, `ProcessorWork`,
 * `ChatWork`, `BreakerStore`, `ToolCheck`) fail with. Implementations map their
 * own errors (Helix, yt-dlp, SQL) onto it at the boundary and say whether
 * trying again can help; the machines decide what to do from `retryable`
 * alone. Anything else that escapes (a defect, a thrown exception) is a crash
 * and restarts the actor.
 */
import { Schema } from "effect";

/** A failure of work an actor asked for. */
export class WorkError extends Schema.TaggedError<WorkError>()("WorkError", {
  message: Schema.String,
  /** True when a later attempt may succeed (network, rate limit, 5xx); false when it cannot (deleted VOD, bad input). */
  retryable: Schema.Boolean,
}) {}

/** A failure worth retrying later. */
export const retryable = (message: string): WorkError => new WorkError({ message, retryable: true });

/** A failure that no retry can fix. */
export const permanent = (message: string): WorkError => new WorkError({ message, retryable: false });
