/**
 * What can go wrong talking to Twitch Helix, as typed errors. Callers decide
 * from the tag: auth problems need an operator, rate limits and network or
 * server errors pass with time, decode errors mean Twitch changed shape.
 */
import { Schema } from "effect";

/** The client id/secret were refused, or Helix kept answering 401 after a fresh token. */
export class HelixAuthError extends Schema.TaggedError<HelixAuthError>()("HelixAuthError", {
  /** HTTP status of the refusal (400/403 from the token endpoint, 401 from Helix). */
  status: Schema.Number,
  message: Schema.String,
}) {}

/** Helix kept answering 429 past the client's patience. */
export class HelixRateLimited extends Schema.TaggedError<HelixRateLimited>()("HelixRateLimited", {
  endpoint: Schema.String,
  /** When Helix said the bucket is full again (epoch milliseconds). */
  resetAt: Schema.Number,
}) {}

/** Helix answered with an HTTP error status other than 401 and 429 (after retries, for 5xx). */
export class HelixHttpError extends Schema.TaggedError<HelixHttpError>()("HelixHttpError", {
  endpoint: Schema.String,
  status: Schema.Number,
  message: Schema.String,
}) {}

/** No answer: connection refused or reset, DNS, or the request timed out (after retries). */
export class HelixNetworkError extends Schema.TaggedError<HelixNetworkError>()("HelixNetworkError", {
  endpoint: Schema.String,
  message: Schema.String,
}) {}

/** An answer whose body is not what Helix documents. */
export class HelixDecodeError extends Schema.TaggedError<HelixDecodeError>()("HelixDecodeError", {
  endpoint: Schema.String,
  message: Schema.String,
}) {}

/** Any Helix failure. */
export type HelixError = HelixAuthError | HelixRateLimited | HelixHttpError | HelixNetworkError | HelixDecodeError;

/** Whether waiting and trying again may help: server errors and network trouble. */
export const isTransientHelixError = (error: HelixError): boolean =>
  error._tag === "HelixNetworkError" || (error._tag === "HelixHttpError" && error.status >= 500);
