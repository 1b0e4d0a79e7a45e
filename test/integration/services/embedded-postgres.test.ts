import { assert, describe, it } from "@effect/vitest";
import { Effect, Exit, Redacted, Scope } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectPgClient } from "../../../src/services/database.ts";
import { startEmbeddedPostgres } from "../../../src/services/embedded-postgres.ts";

const temporaryDataDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "vod-tender-embedded-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
);

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const postmasterPid = (dataDir: string) =>
  Effect.promise(() => readFile(join(dataDir, "pg", "data", "postmaster.pid"), "utf8")).pipe(
    Effect.map((text) => Number.parseInt(text.split("\n")[0] ?? "", 10)),
  );

const query = <A extends object>(url: Redacted.Redacted<string>, text: string) =>
  Effect.gen(function* () {
    const client = yield* connectPgClient(url, { maxConnections: 1 });
    return yield* client.unsafe<A>(text);
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer));

const holderScript = fileURLToPath(new URL("./fixtures/embedded-postgres-holder.ts", import.meta.url));

// Starts another process holding the cluster; resolves once it is ready.
const startHolder = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly pid: number; readonly exited: Promise<void> }, Error>((resume) => {
      const child = spawn(process.execPath, [holderScript, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (/^holder ready \d+$/m.test(output) && child.pid !== undefined) resume(Effect.succeed({ pid: child.pid, exited }));
      });
      child.once("exit", (code) => resume(Effect.fail(new Error(`holder exited (${code}) before ready: ${output}`))));
    }),
    (holder) =>
      Effect.promise(async () => {
        if (isAlive(holder.pid)) process.kill(holder.pid, "SIGKILL");
        await holder.exited;
      }),
  );

describe("embedded PostgreSQL", () => {
  it.live("initialises once, keeps its data across restarts, and stops with its scope", () =>
    Effect.gen(function* () {
      const dataDir = yield* temporaryDataDir;

      const first = yield* Scope.make();
      const started = yield* startEmbeddedPostgres({ dataDir }).pipe(Scope.provide(first));
      assert.strictEqual(started.directory, join(dataDir, "pg"));
      yield* query(started.url, "CREATE TABLE notes (body text)");
      yield* query(started.url, "INSERT INTO notes VALUES ('kept')");
      const listen = yield* query<{ listen_addresses: string }>(started.url, "SHOW listen_addresses");
      assert.deepStrictEqual(listen, [{ listen_addresses: "127.0.0.1" }]);
      const password = yield* Effect.promise(() => stat(join(dataDir, "pg", "password")));
      assert.strictEqual(password.mode & 0o777, 0o600);
      const pid = yield* postmasterPid(dataDir);
      assert.isTrue(isAlive(pid));

      // The same folder while the first is running: refused, naming the holder.
      const refused = yield* Effect.flip(startEmbeddedPostgres({ dataDir }).pipe(Effect.scoped));
      assert.strictEqual(refused.reason, "locked");
      assert.strictEqual(refused.pid, process.pid);
      assert.strictEqual(
        refused.message,
        `another vod-tender process is using ${join(dataDir, "pg")} (pid ${process.pid})`,
      );

      yield* Scope.close(first, Exit.void);
      assert.isFalse(isAlive(pid));
      const log = yield* Effect.promise(() => readFile(started.logFile, "utf8"));
      assert.match(log, /database system is shut down/);

      const restarted = yield* startEmbeddedPostgres({ dataDir });
      const notes = yield* query<{ body: string }>(restarted.url, "SELECT body FROM notes");
      assert.deepStrictEqual(notes, [{ body: "kept" }]);
      assert.strictEqual(Redacted.value(restarted.url).split("@")[0], Redacted.value(started.url).split("@")[0]);
    }).pipe(Effect.scoped));

  it.live("starts under a DATA_DIR whose folders it creates itself, as the demo's data/demo on a fresh clone", () =>
    Effect.gen(function* () {
      const workdir = yield* temporaryDataDir;
      // A checkout: readable by everyone, with neither data/ nor data/demo/ yet.
      yield* Effect.promise(() => chmod(workdir, 0o755));
      const dataDir = join(workdir, "data", "demo");
      const started = yield* startEmbeddedPostgres({ dataDir });
      const answer = yield* query<{ one: number }>(started.url, "SELECT 1 AS one");
      assert.deepStrictEqual(answer, [{ one: 1 }]);
    }).pipe(Effect.scoped));

  it.live("refuses a folder another process holds, and takes it over once that process is gone", () =>
    Effect.gen(function* () {
      const dataDir = yield* temporaryDataDir;
      const holderScope = yield* Scope.make();
      const holder = yield* startHolder(dataDir).pipe(Scope.provide(holderScope));

      const refused = yield* Effect.flip(startEmbeddedPostgres({ dataDir }).pipe(Effect.scoped));
      assert.strictEqual(refused._tag, "EmbeddedPostgresError");
      assert.strictEqual(refused.reason, "locked");
      assert.strictEqual(refused.message, `another vod-tender process is using ${join(dataDir, "pg")} (pid ${holder.pid})`);

      // SIGKILL: no cleanup runs, the lock file stays and PostgreSQL keeps running orphaned.
      const orphan = yield* postmasterPid(dataDir);
      yield* Scope.close(holderScope, Exit.void);
      assert.isTrue(isAlive(orphan));

      const taken = yield* startEmbeddedPostgres({ dataDir });
      assert.isFalse(isAlive(orphan));
      const marks = yield* query<{ note: string }>(taken.url, "SELECT note FROM marks");
      assert.deepStrictEqual(marks, [{ note: "written by the holder" }]);
      const lock = yield* Effect.promise(() => readFile(join(dataDir, "pg", "vod-tender.lock"), "utf8"));
      assert.strictEqual(lock.trim(), String(process.pid));
    }).pipe(Effect.scoped));
});
