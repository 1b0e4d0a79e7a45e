import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { get } from "node:http";
import { createServer } from "node:net";
import WebSocket from "ws";
import { inspectSupervisor, startInspector } from "../../../src/runtime/inspector.ts";
import { Supervisor } from "../../../src/services/supervisor.ts";
import { freePort } from "../../support/postgres-server.ts";
import { eventually, settings, supervisorLayer } from "./supervisor-harness.ts";

interface Relayed {
  readonly type: string;
  readonly sessionId?: string;
  readonly parentId?: string;
  readonly snapshot?: { readonly value?: unknown };
}

const activeResources = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
};

/** A client of the relay, as the inspector page is: it sees what the runtime's inspector sends. */
const relayClient = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ socket: WebSocket; received: Array<Relayed> }>((resolve, reject) => {
          const received: Array<Relayed> = [];
          const socket = new WebSocket(`ws://127.0.0.1:${port}`);
          socket.on("message", (data) => received.push(JSON.parse(String(data)) as Relayed));
          socket.once("open", () => resolve({ socket, received }));
          socket.once("error", reject);
        }),
    ),
    ({ socket }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            socket.once("close", () => resolve());
            socket.close();
          }),
      ),
  );

const page = (url: string) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        get(url, { agent: false }, (response) => {
          let body = "";
          response.on("data", (chunk) => (body += String(chunk)));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        }).once("error", reject);
      }),
  );

describe("inspector", () => {
  it.live("relays the actor tree to inspector clients, serves the inspector page, and leaves nothing behind", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort());
      const before = activeResources();
      yield* Effect.gen(function* () {
        const inspector = yield* inspectSupervisor(port);
        assert.strictEqual(inspector.url, `http://localhost:${port}`);
        const { received } = yield* relayClient(port);
        const supervisor = yield* Supervisor;
        yield* supervisor.addChannel("alice", settings);
        const status = yield* eventually(Effect.map(supervisor.status("alice"), (s) => (s.state === "running" ? s : undefined)));
        const processor = status.tree.children.find((child) => child.actor === "processor")!;

        // The channel actor and its children arrive as actors of one tree, with their snapshots.
        const channelActor = yield* eventually(
          Effect.sync(() => received.find((event) => event.type === "@xstate.actor" && event.sessionId === status.tree.sessionId)),
        );
        assert.isString(channelActor.parentId);
        yield* eventually(
          Effect.sync(() =>
            received.find((event) => event.type === "@xstate.actor" && event.sessionId === processor.sessionId && event.parentId === status.tree.sessionId),
          ),
        );
        yield* eventually(
          Effect.sync(() => received.find((event) => event.type === "@xstate.snapshot" && event.sessionId === processor.sessionId && event.snapshot?.value === "idle")),
        );

        const served = yield* page(`http://127.0.0.1:${port}/`);
        assert.strictEqual(served.status, 200);
        assert.include(served.body, "Stately Inspector");
        assert.include(served.body, `ws://localhost:${port}`);
      }).pipe(Effect.scoped, Effect.provide(supervisorLayer()));
      // Relay, inspector client and supervisor are gone: no socket, server or timer of theirs remains.
      const beyond = () => Object.entries(activeResources()).filter(([kind, count]) => count > (before[kind] ?? 0));
      yield* eventually(Effect.sync(() => (beyond().length === 0 ? true : undefined)), 5_000).pipe(Effect.ignore);
      assert.deepStrictEqual(Object.fromEntries(beyond()), {});
    }));

  it.live("refuses a port that is taken, instead of crashing the process", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort());
      const holder = createServer();
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => holder.listen(port, () => resolve()))),
        () => Effect.promise(() => new Promise<void>((resolve) => holder.close(() => resolve()))),
      );
      const refused = yield* Effect.flip(startInspector(port));
      assert.deepInclude(refused, { _tag: "InspectorUnavailable", port, message: `port ${port} is in use` });
    }).pipe(Effect.scoped));
});
