/**
 * The bearer token of `/control`. `CONTROL_TOKEN` wins when set; otherwise the
 * token lives in `$DATA_DIR/control-token` (mode 0600), generated on first start
 * and shown once so the operator can copy it. `ctl` reads it the same way.
 */
import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Effect, Redacted, Schema } from "effect";
import { revealSecret } from "../services/reveal-secret.ts";

/** File name of the stored token inside `$DATA_DIR`. */
export const CONTROL_TOKEN_FILE = "control-token";

/** The token could not be read or stored. */
export class ControlTokenError extends Schema.TaggedError<ControlTokenError>()("ControlTokenError", {
  path: Schema.String,
  message: Schema.String,
}) {}

/** Where the token came from; `generated` means it was created just now. */
export type ControlTokenSource = "env" | "file" | "generated";

export interface ControlToken {
  readonly token: Redacted.Redacted<string>;
  readonly source: ControlTokenSource;
  /** The token file, when the token is (or was just) stored on disk. */
  readonly path: string | undefined;
  /** True when an existing file was readable by others and was tightened to 0600. */
  readonly permissionsFixed: boolean;
}

/** Path of the token file for a data directory. */
export const controlTokenPath = (dataDir: string): string => join(dataDir, CONTROL_TOKEN_FILE);

/** A fresh token: 32 random bytes, base64url, so it is also a valid WebSocket subprotocol token. */
export const generateControlToken = (): string => `vt_${randomBytes(32).toString("base64url")}`;

const fromEnv = (value: string | Redacted.Redacted<string> | undefined): string | undefined => {
  const trimmed = (value === undefined ? undefined : revealSecret(value))?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
};

const failure = (path: string, what: string) => (cause: unknown) =>
  new ControlTokenError({ path, message: `${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}` });

const readStored = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const info = await stat(path);
      const text = (await readFile(path, "utf8")).trim();
      return { text, mode: info.mode & 0o777 };
    },
    catch: (cause) => cause,
  });

/**
 * Resolves the server's token: `CONTROL_TOKEN`, else the stored file, else a new
 * token written with mode 0600 (created exclusively, so two processes starting
 * together agree on one token).
 */
export const resolveControlToken = Effect.fn("resolveControlToken")(function* (options: {
  /** `CONTROL_TOKEN`, as configured (plain or `Redacted`). */
  readonly env: string | Redacted.Redacted<string> | undefined;
  readonly dataDir: string;
}) {
  const given = fromEnv(options.env);
  if (given !== undefined) {
    return { token: Redacted.make(given), source: "env", path: undefined, permissionsFixed: false } satisfies ControlToken;
  }
  const path = controlTokenPath(options.dataDir);
  const existing = yield* readStored(path).pipe(
    Effect.map((stored) => stored as { text: string; mode: number } | undefined),
    Effect.catch((cause) =>
      (cause as NodeJS.ErrnoException).code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(failure(path, "cannot read")(cause)),
    ),
  );
  if (existing !== undefined && existing.text !== "") {
    const loose = (existing.mode & 0o077) !== 0;
    if (loose) yield* Effect.tryPromise({ try: () => chmod(path, 0o600), catch: failure(path, "cannot restrict permissions of") });
    return { token: Redacted.make(existing.text), source: "file", path, permissionsFixed: loose } satisfies ControlToken;
  }
  const token = generateControlToken();
  yield* Effect.tryPromise({ try: () => mkdir(options.dataDir, { recursive: true }), catch: failure(options.dataDir, "cannot create") });
  const created = yield* Effect.tryPromise({
    // `wx` fails when another process created it first; an empty leftover file is replaced.
    try: () => writeFile(path, `${token}\n`, { mode: 0o600, flag: existing === undefined ? "wx" : "w" }).then(() => true),
    catch: (cause) => cause,
  }).pipe(
    Effect.catch((cause) =>
      (cause as NodeJS.ErrnoException).code === "EEXIST" ? Effect.succeed(false) : Effect.fail(failure(path, "cannot write")(cause)),
    ),
  );
  if (!created) {
    const raced = yield* readStored(path).pipe(Effect.mapError(failure(path, "cannot read")));
    return { token: Redacted.make(raced.text), source: "file", path, permissionsFixed: false } satisfies ControlToken;
  }
  // The umask can widen nothing here, but a pre-existing empty file keeps its mode on `w`.
  yield* Effect.tryPromise({ try: () => chmod(path, 0o600), catch: failure(path, "cannot restrict permissions of") });
  return { token: Redacted.make(token), source: "generated", path, permissionsFixed: false } satisfies ControlToken;
});

/**
 * The token a client (`ctl`) should present: `CONTROL_TOKEN`, else the stored
 * file. Never generates one: a client has nothing to authenticate against yet.
 */
export const readClientToken = Effect.fn("readClientToken")(function* (options: {
  readonly env: string | undefined;
  readonly dataDir: string;
}) {
  const given = fromEnv(options.env);
  if (given !== undefined) return Redacted.make(given);
  const path = controlTokenPath(options.dataDir);
  const stored = yield* readStored(path).pipe(
    Effect.mapError((cause) =>
      (cause as NodeJS.ErrnoException).code === "ENOENT"
        ? new ControlTokenError({ path, message: `no control token: set CONTROL_TOKEN or start the server once so it writes ${path}` })
        : failure(path, "cannot read")(cause),
    ),
  );
  if (stored.text === "") return yield* new ControlTokenError({ path, message: `${path} is empty; set CONTROL_TOKEN or delete the file and restart the server` });
  return Redacted.make(stored.text);
});

/**
 * What to print about the token at start, if anything: a generated token is
 * shown once (it is the only time it appears outside its file), and a file
 * that was readable by others is mentioned.
 */
export const controlTokenNotice = (resolved: ControlToken): string | undefined => {
  if (resolved.source === "generated") {
    return `control token generated and stored in ${resolved.path} (mode 0600); it is shown only now:\n  ${Redacted.value(resolved.token)}\nUse it as CONTROL_TOKEN for vod-tender ctl elsewhere, or open the console with #token=<token>.`;
  }
  if (resolved.permissionsFixed) return `${resolved.path} was readable by other users; its permissions are now 0600`;
  return undefined;
};

/** Compares a presented token with the expected one in constant time. */
export const tokenMatches = (expected: Redacted.Redacted<string>, presented: string | undefined): boolean => {
  if (presented === undefined) return false;
  // Hashing first gives equal-length inputs, so the length of the secret does not leak either.
  const a = createHash("sha256").update(Redacted.value(expected)).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
};
