/**
 * Polls `read` every `everyMs` until `done` holds and returns that value; fails
 * with the last value seen after `timeoutMs`. For tests that watch a real
 * process, database or socket reach a state.
 */
export const pollUntil = async <A>(
  read: () => A | Promise<A>,
  done: (value: A) => boolean,
  timeoutMs: number,
  everyMs: number,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`condition not reached; last value: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = await read();
  }
  return value;
};
