/**
 * `--inspect`: shows the actor tree in the XState inspector.
 *
 * Starts `@statelyai/inspect`'s local relay (`createInspectorServer`, never
 * opening a browser: this runs on servers) and attaches a WebSocket inspector
 * to the root of the tree, so every actor, event and snapshot reaches the
 * page the relay serves. The page embeds the hosted Stately UI, so viewing
 * needs a browser with internet access; the events themselves stay on this
 * machine. The same events are on the runtime event bus as `ActorInspected`
 * for the console.
 *
 * The relay's HTTP server reports a busy port only through an unhandled
 * `error` event (which would crash the process), so the port is checked first;
 * the inspector connects only once the relay accepts connections, because its
 * reconnect timer would otherwise outlive a shutdown.
 */
import { createWebSocketInspector } from "@statelyai/inspect";
import { createInspectorServer } from "@statelyai/inspect/server";
import { Effect, Schema } from "effect";
import type { Scope } from "effect";
import { createConnection, createServer } from "node:net";
import type { InspectionEvent, Observer } from "xstate";
import { Supervisor } from "../services/supervisor.ts";

/** The inspector could not start. */
export class InspectorUnavailable extends Schema.TaggedError<InspectorUnavailable>()("InspectorUnavailable", {
  port: Schema.Number,
  message: Schema.String,
}) {}

/** A running inspector relay. */
export interface Inspector {
  /** The page to open in a browser. */
  readonly url: string;
  /** Where inspection events are relayed (`ws://...`); other receivers may connect too. */
  readonly relayUrl: string;
  /** The observer to attach to an actor system. */
  readonly observer: Observer<InspectionEvent>;
}

/** Default port of the relay, as in `@statelyai/inspect`. */
export const DEFAULT_INSPECTOR_PORT = 8080;

const portIsFree = (port: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? `port ${port} is in use` : error.message));
    probe.listen(port, () => probe.close(() => resolve(undefined)));
  });

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });

/** Starts the relay and a WebSocket inspector connected to it, for the life of the scope. */
export const startInspector = (port: number = DEFAULT_INSPECTOR_PORT): Effect.Effect<Inspector, InspectorUnavailable, Scope.Scope> =>
  Effect.gen(function* () {
    const busy = yield* Effect.promise(() => portIsFree(port));
    if (busy !== undefined) return yield* new InspectorUnavailable({ port, message: busy });
    const server = yield* Effect.acquireRelease(
      Effect.sync(() => createInspectorServer({ port, autoOpen: false })),
      (relay) => Effect.sync(() => relay.stop()),
    );
    const listening = yield* Effect.promise(async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (await accepts(port)) return true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return false;
    });
    if (!listening) {
      server.stop();
      return yield* new InspectorUnavailable({ port, message: `the relay did not start listening on port ${port}` });
    }
    const relayUrl = `ws://127.0.0.1:${port}`;
    // Released before the relay (scopes close in reverse), so the client closes cleanly and never retries.
    const inspector = yield* Effect.acquireRelease(
      Effect.sync(() => createWebSocketInspector({ url: relayUrl })),
      (client) => Effect.sync(() => client.stop()),
    );
    return { url: `http://localhost:${port}`, relayUrl, observer: inspector.inspect };
  });

/** Starts an inspector and attaches it to the Supervisor's tree, for the life of the scope. */
export const inspectSupervisor = (port: number = DEFAULT_INSPECTOR_PORT): Effect.Effect<Inspector, InspectorUnavailable, Scope.Scope | Supervisor> =>
  Effect.gen(function* () {
    const inspector = yield* startInspector(port);
    const supervisor = yield* Supervisor;
    yield* supervisor.inspect(inspector.observer);
    return inspector;
  });
