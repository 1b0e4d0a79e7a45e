/**
 * The chat stack of the end-to-end tests: the simulator (IRC over WebSocket,
 * Helix), a migrated database, and the real sink, connection pool and
 * recorder on top, as the runtime wires them.
 */
import { Layer } from "effect";
import type { SqlClient } from "effect/sql/SqlClient";
import type { PgClient } from "@effect/sql-pg/PgClient";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatConnections, type ChatConnectionsOptions } from "../../../src/services/chat-connections.ts";
import { ChatRecorder, type ChatRecorderOptions } from "../../../src/services/chat-recorder.ts";
import { ChatSink, type ChatSinkOptions } from "../../../src/services/chat-sink.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import type { TestDatabase } from "../../support/database.ts";
import { migratedDatabase, sqlLayer } from "./chat-fixtures.ts";

/** Everything a test needs to tear down, in reverse order. */
export const cleanups: Array<() => Promise<void>> = [];

/** Runs and clears the cleanups (call from `afterEach`). */
export const cleanUp = async (): Promise<void> => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
};

/** A simulator with these channels (no generated chat unless a rate is given). */
export const simulatorWith = async (
  channels: ReadonlyArray<string | { readonly login: string; readonly chat?: Record<string, unknown> }>,
  options?: { readonly joinRateLimit?: { joins: number; windowSeconds: number } | null; readonly recordLines?: boolean },
): Promise<Simulator> => {
  const sim = await startSimulator({
    scenario: {
      irc: { joinRateLimit: options?.joinRateLimit ?? null },
      channels: channels.map((c) => (typeof c === "string" ? { login: c, chat: { rate: 0 } } : { chat: { rate: 0 }, ...c })),
    },
    recordLines: options?.recordLines ?? true,
  });
  cleanups.push(() => sim.stop());
  return sim;
};

/** A migrated database dropped after the test. */
export const database = async (): Promise<TestDatabase> => {
  const db = await migratedDatabase();
  cleanups.push(() => db.drop());
  return db;
};

/** A temporary folder removed after the test. */
export const tempDir = async (prefix: string): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

/** Options of the stack's parts. */
export interface StackOptions {
  readonly sink?: Partial<ChatSinkOptions>;
  readonly connections?: Partial<ChatConnectionsOptions>;
  readonly recorder?: ChatRecorderOptions;
}

/** Sink, connections and recorder over `dbUrl` and the simulator's chat, released in reverse. */
export const chatStack = (
  sim: Simulator,
  dbUrl: string,
  journalDirectory: string,
  options?: StackOptions,
): Layer.Layer<ChatRecorder | ChatConnections | ChatSink | SqlClient | PgClient> => {
  const base = ChatSink.layer({ journalDirectory, ...options?.sink }).pipe(Layer.orDie, Layer.provideMerge(sqlLayer(dbUrl, 4)));
  const connections = ChatConnections.layer({
    url: sim.urls.ircWs,
    reconnect: { initialMs: 50, maxMs: 1_000 },
    joinTimeoutMs: 2_000,
    ...options?.connections,
  }).pipe(Layer.provideMerge(base));
  return ChatRecorder.layer({ heartbeatMs: 200, ...options?.recorder }).pipe(Layer.provideMerge(connections));
};
