import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { justlogRoutes } from "../../../src/runtime/justlog-api.ts";
import { serveHttp } from "../../../src/runtime/http-server.ts";
import { parseChatLine, parseIrcLine } from "../../../src/services/chat-message.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { mustParse, rowOf, sqlLayer, wireLines } from "./chat-fixtures.ts";
import { cleanUp, database, tempDir } from "./chat-harness.ts";

afterEach(cleanUp);

const pajlada = wireLines.filter((l) => parseChatLine(l, 0)?.channel === "pajlada" && /tmi-sent-ts=159/.test(l));

/** Stores the capture's July 2020 #pajlada chat, then serves the API; runs `body` with its base URL. */
const withApi = <A>(body: (base: string) => Promise<A>, options?: { readonly keepRaw?: boolean }) =>
  Effect.gen(function* () {
    const db = yield* Effect.promise(database);
    const dir = yield* Effect.promise(() => tempDir("justlog-"));
    return yield* Effect.gen(function* () {
      const sql = yield* SqlClient;
      yield* sql`INSERT INTO channels (name, twitch_user_id, display_name, source) VALUES ('pajlada', '11148817', 'pajlada', 'env')`;
      const sink = yield* ChatSink;
      for (const line of pajlada) sink.offer(rowOf(mustParse(line)));
      yield* sink.flush;
      const routes = yield* justlogRoutes();
      const { url } = yield* serveHttp({ address: "127.0.0.1:0", routes });
      return yield* Effect.promise(() => body(url));
    }).pipe(
      Effect.scoped,
      Effect.provide(ChatSink.layer({ journalDirectory: dir, keepRaw: options?.keepRaw ?? false }).pipe(Layer.orDie, Layer.provideMerge(sqlLayer(db.url)))),
    );
  });

const get = async (url: string, headers?: Record<string, string>) => {
  const res = await fetch(url, { redirect: "manual", headers });
  return { status: res.status, location: res.headers.get("location"), text: await res.text() };
};

describe("justlog-compatible API", () => {
  it.live("serves a channel's day in justlog's text, JSON and raw forms, and redirects to the latest day", () =>
    withApi(async (base) => {
      const latest = await get(`${base}/channel/pajlada`);
      assert.strictEqual(latest.status, 303);
      const newest = new Date(Math.max(...pajlada.map((l) => parseChatLine(l, 0)!.sentAt)));
      assert.strictEqual(latest.location, `/channel/pajlada/${newest.getUTCFullYear()}/${newest.getUTCMonth() + 1}/${newest.getUTCDate()}`);

      const day = await get(`${base}/channel/pajlada/2020/7/12`);
      assert.strictEqual(day.status, 200);
      const lines = day.text.trimEnd().split("\n");
      assert.include(lines, "[2020-07-12 09:12:35] #pajlada jun1orrrr: dank cam");
      assert.include(lines, "[2020-07-12 11:37:08] #pajlada fabzeef has been timed out for 1 seconds");
      const times = lines.map((l) => l.slice(1, 20));
      assert.deepStrictEqual(times, [...times].sort((a, b) => (a.localeCompare(b, "en", { numeric: true }))));

      const json = JSON.parse((await get(`${base}/channel/pajlada/2020/7/12?json`)).text) as {
        messages: Array<{ id: string; type: number; username: string; displayName: string; timestamp: string; raw: string; tags: Record<string, string>; text: string }>;
      };
      const dank = json.messages.find((m) => m.id === "e9d998c3-36f1-430f-89ec-6b887c28af36");
      assert.deepStrictEqual(
        { type: dank?.type, username: dank?.username, displayName: dank?.displayName, timestamp: dank?.timestamp, text: dank?.text },
        { type: 1, username: "jun1orrrr", displayName: "JuN1oRRRR", timestamp: "2020-07-12T09:12:35.039Z", text: "dank cam" },
      );
      // The rebuilt IRC line parses back to the same message.
      const again = parseChatLine(dank!.raw, 0);
      assert.strictEqual(again?.msgId, dank?.id);
      assert.strictEqual(again?.text, "dank cam");
      assert.strictEqual(dank?.tags["user-id"], "29803735");
      assert.deepStrictEqual(
        [...new Set(json.messages.map((m) => m.type))].sort((a, b) => a - b),
        [1, 2, 13],
      );
      const resub = JSON.parse((await get(`${base}/channel/pajlada/2020/7/23?json`)).text) as typeof json;
      assert.deepStrictEqual(resub.messages.map((m) => [m.type, m.tags["msg-id"]]), [[4, "resub"]]);
      const viaHeader = await get(`${base}/channel/pajlada/2020/7/12`, { accept: "application/json" });
      assert.deepStrictEqual(JSON.parse(viaHeader.text), json);

      const raw = (await get(`${base}/channel/pajlada/2020/7/12?raw&reverse`)).text.trimEnd().split("\n");
      assert.strictEqual(raw.length, lines.length);
      for (const line of raw) assert.isDefined(parseIrcLine(line));
      assert.strictEqual(parseIrcLine(raw[0]!)?.tags["tmi-sent-ts"], String(Math.max(...json.messages.map((m) => Date.parse(m.timestamp)))));
    }));

  it.live("serves a user's month, redirects to their latest month, and lists channels and available logs", () =>
    withApi(async (base) => {
      const lower = await get(`${base}/channel/pajlada/user/Randers`);
      assert.strictEqual(lower.location, "/channel/pajlada/user/randers", "upper case redirects to lower case, as justlog does");
      const latest = await get(`${base}/channel/pajlada/user/randers`);
      assert.strictEqual(latest.status, 303);
      assert.strictEqual(latest.location, "/channel/pajlada/user/randers/2020/7");
      const month = (await get(`${base}/channel/pajlada/user/randers/2020/7`)).text.trimEnd().split("\n");
      assert.isAbove(month.length, 3);
      assert.isTrue(month.every((l) => / #pajlada (randers: |randers's message)/.test(l) || l.includes("randers")), month.join("\n"));
      const byId = JSON.parse((await get(`${base}/channelid/11148817/userid/40286300?json`)).text) as { messages: Array<{ username: string }> };
      assert.isTrue(byId.messages.length > 0 && byId.messages.every((m) => m.username === "randers"));

      const channels = JSON.parse((await get(`${base}/channels`)).text);
      assert.deepStrictEqual(channels, { channels: [{ userID: "11148817", name: "pajlada" }] });
      const list = JSON.parse((await get(`${base}/list?channel=pajlada`)).text) as { availableLogs: Array<Record<string, string>> };
      assert.deepStrictEqual(list.availableLogs[0], { year: "2020", month: "7", day: "23" });
      const userList = JSON.parse((await get(`${base}/list?channel=pajlada&user=randers`)).text);
      assert.deepStrictEqual(userList, { availableLogs: [{ year: "2020", month: "7" }] });
      assert.strictEqual((await get(`${base}/channel/nobody/2020/7/12`)).text, "");
      assert.strictEqual((await get(`${base}/channel/nobody`)).status, 404);
      const upper = await get(`${base}/channel/PAJLADA/2020/7/12`);
      assert.strictEqual(upper.status, 303);
      assert.strictEqual(upper.location, "/channel/pajlada/2020/7/12");
    }));

  it.live("serves the received line itself with ?raw when raw lines are kept", () =>
    withApi(
      async (base) => {
        const raw = (await get(`${base}/channel/pajlada/2020/7/12?raw`)).text.trimEnd().split("\n");
        for (const line of raw) assert.include(pajlada, line);
      },
      { keepRaw: true },
    ));
});
