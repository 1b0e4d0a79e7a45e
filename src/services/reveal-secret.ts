/**
 * Secrets arrive either wrapped in `Redacted` (from the configuration, so logs
 * and inspection never print them) or as plain strings (from tests and callers
 * that built them): the one place that unwraps either.
 */
import { Redacted } from "effect";

/** The secret's text, whether it came redacted or plain. */
export const revealSecret = (value: Redacted.Redacted<string> | string): string =>
  Redacted.isRedacted(value) ? Redacted.value(value) : value;
