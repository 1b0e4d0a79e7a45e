/**
 * How work failed, as the machines see it. The actor layer turns every failed
 * Effect into a `Failure`: typed errors become `retryable` or `permanent`,
 * defects and anything unforeseen become `crash`. Machines handle the first two
 * themselves (backoff, give up); a `crash` is left unhandled on purpose so the
 * actor errors and its supervisor restarts it ("let it crash").
 */

/** `retryable`: try again later. `permanent`: trying again cannot help. `crash`: a bug or an unforeseen condition. */
export type FailureKind = "retryable" | "permanent" | "crash";

/** A failure of some work, with a message fit for an operator. */
export interface Failure {
  readonly _tag: "Failure";
  readonly kind: FailureKind;
  readonly message: string;
}

/** Builds a failure. */
export const failure = (kind: FailureKind, message: string): Failure => ({ _tag: "Failure", kind, message });

/** Whether `error` is a `Failure` value (as opposed to something thrown by a bug). */
export const isFailure = (error: unknown): error is Failure =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "Failure";

/**
 * Whether a machine may handle `error` itself. Anything that is not a
 * `Failure`, or is a `crash`, must reach the supervisor instead.
 */
export const isExpectedFailure = (error: unknown): error is Failure => isFailure(error) && error.kind !== "crash";

/** Whether `error` is a failure worth retrying. */
export const isRetryableFailure = (error: unknown): error is Failure => isFailure(error) && error.kind === "retryable";

/** A one-line description of whatever an actor failed with. */
export const describeError = (error: unknown): string => {
  if (isFailure(error)) return error.message;
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
};
