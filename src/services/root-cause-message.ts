/**
 * The deepest message of an error's `cause` chain. Drivers wrap the reason a
 * call failed (the database's own words, a refused connection) under their own
 * generic errors, so the useful sentence sits at the bottom.
 */

/**
 * The message of the deepest `Error` with a message in `cause`'s chain (at most
 * eight links down, in case a chain loops), or `cause`'s own message / text.
 */
export const rootCauseMessage = (cause: unknown): string => {
  let message = cause instanceof Error ? cause.message : String(cause);
  let current: unknown = cause;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null && "cause" in current; depth++) {
    current = current.cause;
    if (current instanceof Error && current.message) message = current.message;
  }
  return message;
};
