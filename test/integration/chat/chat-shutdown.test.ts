import { assert, describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { parseChatLine } from "../../../src/services/chat-message.ts";
import { sqlLayer } from "./chat-fixtures.ts";
import { cleanUp, database, simulatorWith, tempDir } from "./chat-harness.ts";

afterEach(cleanUp);

const child = fileURLToPath(new URL("./fixtures/record-until-sigterm.ts", import.meta.url));
const node = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url));

describe("chat on shutdown", () => {
  it.live("SIGTERM mid-stream: the process writes out every message it received before it exits", () =>
    Effect.gen(function* () {
      const channels = ["sigterm_a", "sigterm_b"];
      const sim = yield* Effect.promise(() => simulatorWith(channels.map((login) => ({ login, chat: { rate: 300 } }))));
      const db = yield* Effect.promise(database);
      const journal = yield* Effect.promise(() => tempDir("chat-sigterm-"));
      for (const channel of channels) sim.setLive(channel, true);
      const startSeq = sim.state().linesSent;
      const result = yield* Effect.promise(
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
            const proc = spawn(node, [child, db.url, sim.urls.ircWs, journal, ...channels], { stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            let signalled = false;
            proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
            proc.stdout.on("data", (d: Buffer) => {
              out += d.toString();
              // Mid-stream: chat has been flowing for a while, none of it written yet.
              if (out.includes("ready\n") && !signalled) {
                signalled = true;
                setTimeout(() => proc.kill("SIGTERM"), 1_500);
              }
            });
            proc.on("error", reject);
            proc.on("exit", (code) => resolve({ code, out, err }));
          }),
      );
      assert.strictEqual(result.code, 0, result.err);
      const line = result.out.split("\n").find((l) => l.startsWith("{"));
      const received = (JSON.parse(line ?? "{}") as { received?: number }).received ?? -1;
      assert.isAbove(received, 300, `${result.out}\n${result.err}`);
      for (const channel of channels) sim.setLive(channel, false);

      const sent = new Map(
        sim
          .sentLines(undefined, startSeq)
          .filter((l) => ["PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"].includes(l.command))
          .map((l) => {
            const m = parseChatLine(l.line, l.at)!;
            return [`${m.msgId}|${m.sentAt}`, m] as const;
          }),
      );
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        const rows = yield* sql<{ msg_id: string; ts: number }>`
          SELECT msg_id, (EXTRACT(EPOCH FROM abs_timestamp) * 1000)::float8 AS ts FROM chat_messages`;
        assert.strictEqual(rows.length, received, "every message received is stored");
        for (const r of rows) assert.isTrue(sent.has(`${r.msg_id}|${Math.round(r.ts)}`), "and only what was sent");
      }).pipe(Effect.provide(sqlLayer(db.url)));
      assert.deepStrictEqual((yield* Effect.promise(() => readdir(journal))).filter((f) => f.endsWith(".ndjson")), [], "written to the database, not left in the journal");
    }),
  );
});
