import { assert, describe, it } from "@effect/vitest";
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { ProcessorWork } from "../../../src/actors/processor-work.ts";
import type { DownloadJob } from "../../../src/machines/download.ts";
import { Supervisor } from "../../../src/services/supervisor.ts";
import { eventually, fastOptions, recordEvents, settings, supervisorLayer } from "./supervisor-harness.ts";

/** Counts of the handles Node keeps the process alive with, by kind. */
const activeResources = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
};

/**
 * Waits until Node holds no handle beyond `baseline` (a closed handle leaves
 * the list a loop turn after its close), then checks it.
 */
const noneBeyond = (baseline: Record<string, number>) =>
  Effect.gen(function* () {
    const beyond = () => Object.entries(activeResources()).filter(([kind, count]) => count > (baseline[kind] ?? 0));
    yield* eventually(Effect.sync(() => (beyond().length === 0 ? true : undefined)), 5_000).pipe(Effect.ignore);
    assert.deepStrictEqual(Object.fromEntries(beyond()), {});
  });

/** A local TCP server that counts the connections it holds. */
const tcpServer = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ server: Server; port: number; connections: Set<Socket> }>((resolve) => {
        const connections = new Set<Socket>();
        const server = createServer((socket) => {
          connections.add(socket);
          socket.on("close", () => connections.delete(socket));
          socket.on("end", () => socket.end());
          socket.on("error", () => socket.destroy());
        });
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          resolve({ server, port: typeof address === "object" && address !== null ? address.port : 0, connections });
        });
      }),
  ),
  ({ server, connections }) =>
    Effect.promise(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of connections) socket.destroy();
          server.close(() => resolve());
        }),
    ),
);

const job: DownloadJob = { vodId: 7, twitchVodId: "v7", title: "Marathon" };

/**
 * A processor that claims one VOD and downloads it the way the real one will:
 * a subprocess, a socket and a timer, each acquired in the stage's scope; the
 * download never finishes on its own. `release` says how a resource lets go.
 */
const busyProcessor = (port: number, started: { child?: ChildProcess }, release: "promptly" | "never" = "promptly") =>
  Layer.effect(
    ProcessorWork,
    ProcessorWork.useSync((idle) => {
      const claimed = new Set<string>();
      return ProcessorWork.of({
        ...idle,
        claimNext: (channel) => Effect.sync(() => (claimed.has(channel) ? null : (claimed.add(channel), job))),
        prepare: () => Effect.void,
        download: (_channel, _job, _attempt, onProgress) =>
          Effect.gen(function* () {
            yield* Effect.acquireRelease(
              Effect.sync(() => {
                const child = spawn("sleep", ["600"], { stdio: "ignore" });
                started.child = child;
                return child;
              }),
              (child) =>
                Effect.promise(
                  () =>
                    new Promise<void>((resolve) => {
                      // "close": the process has exited and Node has released its handle.
                      child.once("close", () => resolve());
                      child.kill("SIGKILL");
                    }),
                ),
            );
            yield* Effect.acquireRelease(
              Effect.promise(() => new Promise<Socket>((resolve) => {
                const socket: Socket = connect(port, "127.0.0.1", () => resolve(socket));
              })),
              (socket) => Effect.promise(() => new Promise<void>((resolve) => {
                socket.once("close", () => resolve());
                socket.destroy();
              })),
            );
            yield* Effect.acquireRelease(
              Effect.sync(() => {
                const timer = setTimeout(() => {}, 600_000);
                // A timer that is never cleared must not keep the test process alive.
                if (release === "never") timer.unref();
                return timer;
              }),
              (timer): Effect.Effect<void> => (release === "never" ? Effect.never : Effect.sync(() => clearTimeout(timer))),
            );
            onProgress({ bytes: 1_048_576, total: 10_485_760, percent: 10, speed: 524_288, eta: 18 });
            return yield* Effect.never;
          }),
      });
    }),
  ).pipe(Layer.provide(ProcessorWork.layerIdle));

const processAlive = (child: ChildProcess | undefined): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

describe("teardown", () => {
  it.live("removing a channel mid-download leaves no fiber, timer, socket or child process behind", () =>
    Effect.gen(function* () {
      const { port, connections } = yield* tcpServer;
      const started: { child?: ChildProcess } = {};
      const scope = yield* Scope.make();
      const context = yield* Layer.buildWithScope(supervisorLayer({ processor: busyProcessor(port, started) }), scope);
      const supervisor = Context.get(context, Supervisor);
      const baselineResources = activeResources();
      const baseline = yield* supervisor.resources;

      yield* supervisor.addChannel("alice", settings);
      const downloading = yield* eventually(
        Effect.map(supervisor.status("alice"), (status) => (status.download?.progress?.percent === 10 ? status : undefined)),
      );
      assert.strictEqual(downloading.download?.state, "downloading");
      assert.isTrue(processAlive(started.child));
      assert.strictEqual(connections.size, 1);
      const busy = yield* supervisor.resources;
      assert.isAbove(busy.fibers, 0);
      assert.isAbove(busy.timers, 0);

      const report = yield* supervisor.removeChannel("alice");
      assert.deepStrictEqual(report, { channel: "alice", abandoned: 0 });

      // The runtime's own accounting: nothing of the channel is left.
      assert.deepStrictEqual(yield* supervisor.resources, baseline);
      // Node's: the subprocess exited and was reaped, both ends of the socket are closed, the timer is gone.
      assert.isFalse(processAlive(started.child));
      yield* eventually(Effect.sync(() => (connections.size === 0 ? true : undefined)));
      yield* noneBeyond(baselineResources);
      yield* Scope.close(scope, Exit.void);
    }));

  it.live("a teardown that outlives the shutdown timeout is abandoned and reported, not waited for", () =>
    Effect.gen(function* () {
      const { port } = yield* tcpServer;
      const started: { child?: ChildProcess } = {};
      const layer = supervisorLayer({ processor: busyProcessor(port, started, "never"), options: fastOptions({ shutdownTimeoutMs: 200 }) });
      yield* Effect.gen(function* () {
        const supervisor = yield* Supervisor;
        const seen = yield* recordEvents;
        yield* supervisor.addChannel("alice", settings);
        yield* eventually(Effect.map(supervisor.status("alice"), (status) => (status.download?.progress !== null && status.download !== null ? true : undefined)));
        const report = yield* supervisor.removeChannel("alice");
        assert.isAbove(report.abandoned, 0);
        const abandoned = seen.filter((event) => event._tag === "ShutdownAbandoned");
        assert.isNotEmpty(abandoned);
        assert.deepInclude(abandoned[0], { channel: "alice", actor: "alice/processor", timeoutMs: 200 });
        // The channel is gone even though its work is not; the name is free again.
        assert.deepStrictEqual(yield* supervisor.list, []);
        yield* supervisor.addChannel("alice", { ...settings, download: false });
      }).pipe(Effect.scoped, Effect.provide(layer));
      started.child?.kill("SIGKILL");
    }));

  it.live("shutting the supervisor down mid-download stops every channel in order and leaves nothing behind", () =>
    Effect.gen(function* () {
      const { port, connections } = yield* tcpServer;
      const started: { child?: ChildProcess } = {};
      const before = activeResources();
      yield* Effect.gen(function* () {
        const supervisor = yield* Supervisor;
        yield* supervisor.addChannel("alice", settings);
        yield* supervisor.addChannel("bob", { ...settings, chat: "always" });
        yield* eventually(Effect.map(supervisor.status("alice"), (status) => (status.download?.progress !== null && status.download !== null ? true : undefined)));
        assert.isTrue(processAlive(started.child));
      }).pipe(Effect.scoped, Effect.provide(supervisorLayer({ processor: busyProcessor(port, started) })));
      assert.isFalse(processAlive(started.child));
      yield* eventually(Effect.sync(() => (connections.size === 0 ? true : undefined)));
      yield* noneBeyond(before);
    }));
});
