/**
 * Shared helpers of the chat integration tests: a migrated database per test,
 * chat rows built from real wire lines or generated, and counting queries.
 */
import { Context, Effect, Layer, Redacted } from "effect";
import * as Reactivity from "effect/reactivity/Reactivity";
import { SqlClient } from "effect/sql/SqlClient";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { PgClient } from "@effect/sql-pg/PgClient";
import { type ChatMessage, parseChatLine } from "../../../src/services/chat-message.ts";
import { connectPgClient, runMigrations } from "../../../src/services/database.ts";
import type { ChatRow } from "../../../src/services/repositories/chat.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";

/** The raw Twitch lines of the reference capture, comments and blanks removed. */
export const wireLines: ReadonlyArray<string> = readFileSync(
  new URL("../../support/wire/irc_lines.txt", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((line) => line !== "" && !line.startsWith("#"));

/** A fresh database with the schema applied; dropped by `drop`. */
export const migratedDatabase = async (): Promise<TestDatabase> => {
  const database = await createTestDatabase();
  await Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* connectPgClient(Redacted.make(database.url), { maxConnections: 1 });
      yield* runMigrations().pipe(Effect.provideService(SqlClient, client));
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer)),
  );
  return database;
};

/** `SqlClient` and `PgClient` on `url` (no migrations). */
export const sqlLayer = (url: string, maxConnections = 4): Layer.Layer<SqlClient | PgClient> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const client = yield* connectPgClient(Redacted.make(url), { maxConnections });
      return Context.make(PgClient, client).pipe(Context.add(SqlClient, client));
    }),
  ).pipe(Layer.provide(Reactivity.layer), Layer.orDie);

/** A row for a stored message without a VOD. */
export const rowOf = (message: ChatMessage, context?: Partial<Pick<ChatRow, "vodId" | "streamId" | "relTimestamp">>): ChatRow => ({
  ...message,
  vodId: context?.vodId ?? null,
  streamId: context?.streamId ?? null,
  relTimestamp: context?.relTimestamp ?? null,
});

/** A generated PRIVMSG as Twitch would send it. */
export const privmsgLine = (channel: string, user: string, text: string, sentAt: number, id: string = randomUUID()): string =>
  `@badge-info=;badges=subscriber/12;color=#1E90FF;display-name=${user};emotes=;first-msg=0;flags=;id=${id};mod=0;` +
  `room-id=1000;subscriber=1;tmi-sent-ts=${sentAt};turbo=0;user-id=${user.length}${sentAt % 1000};user-type= ` +
  `:${user.toLowerCase()}!${user.toLowerCase()}@${user.toLowerCase()}.tmi.twitch.tv PRIVMSG #${channel} :${text}`;

/** Parses a line that must be a chat event. */
export const mustParse = (line: string, receivedAt = Date.now()): ChatMessage => {
  const m = parseChatLine(line, receivedAt);
  if (m === undefined) throw new Error(`not a chat line: ${line}`);
  return m;
};

/** Number of rows per msg_id (to find duplicates) and the total. */
export const countRows = Effect.gen(function* () {
  const sql = yield* SqlClient;
  const [row] = yield* sql<{ readonly total: number; readonly ids: number }>`
    SELECT count(*)::int AS total, count(DISTINCT (msg_id, abs_timestamp))::int AS ids FROM chat_messages`;
  return row ?? { total: 0, ids: 0 };
});
