import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveHttp } from "../../../src/runtime/http-server.ts";
import { vodChatRoutes } from "../../../src/runtime/vod-chat-api.ts";
import { ensureChatPartitionsCovering } from "../../../src/services/chat-partitions.ts";
import { insertChatRows } from "../../../src/services/repositories/chat.ts";
import { VodsRepository } from "../../../src/services/repositories/vods.ts";
import { createTestDatabase, type TestDatabase } from "../../support/database.ts";
import { mustParse, privmsgLine, rowOf } from "../chat/chat-fixtures.ts";
import { clientLayer, insertVod } from "./vod-fixtures.ts";

const TOKEN = "vod-chat-token";
const start = Date.UTC(2026, 10, 20, 18, 0, 0);
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

let database: TestDatabase;
let scope: Scope.Closeable;
let url = "";
let vodId = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  scope = Effect.runSync(Scope.make());
  const context = await Effect.runPromise(Layer.buildWithScope(VodsRepository.layer.pipe(Layer.provideMerge(clientLayer(database.url, true))), scope));
  const sql = Context.get(context, SqlClient);
  const provide = Effect.provideService(SqlClient, sql);
  vodId = await Effect.runPromise(insertVod({ channel: "chatty", twitch_vod_id: "777", stream_id: "s7", date: new Date(start), title: "the stream" }).pipe(provide));
  // Ten messages a second apart, the third at the same moment as the second; the fifth deleted by a moderator.
  const times = [0, 1_000, 1_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000];
  const rows = times.map((t, i) => rowOf(mustParse(privmsgLine("chatty", `Viewer${i}`, `line ${i}`, start + t, id(i))), { vodId, streamId: "s7", relTimestamp: t / 1000 }));
  const deletion = rowOf(mustParse(`@login=viewer4;room-id=1000;target-msg-id=${id(4)};tmi-sent-ts=${start + 9_500} :tmi.twitch.tv CLEARMSG #chatty :line 4`), {
    vodId,
    streamId: "s7",
    relTimestamp: 9.5,
  });
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureChatPartitionsCovering(new Date(start), new Date(start));
      yield* insertChatRows([...rows, deletion], { keepRaw: false });
      yield* sql`INSERT INTO chat_gaps (channel, vod_id, stream_id, started_at, ended_at, reason)
        VALUES ('chatty', ${vodId}, 's7', ${new Date(start + 1_500)}, ${new Date(start + 2_500)}, 'reconnect')`;
    }).pipe(provide),
  );
  const routes = await Effect.runPromise(vodChatRoutes({ adminToken: Redacted.make(TOKEN), vods: Context.get(context, VodsRepository) }).pipe(provide));
  url = (await Effect.runPromise(Scope.provide(scope)(serveHttp({ address: "127.0.0.1:0", routes })))).url;
});
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void));
  await database?.drop();
});

const get = async (path: string, token: string | null = TOKEN) => {
  const response = await fetch(`${url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> };
};

interface WindowBody {
  readonly vod: { readonly id: number; readonly twitch_vod_id: string };
  readonly messages: ReadonlyArray<{ readonly msg_id: string; readonly offset_seconds: number; readonly username: string; readonly message: string; readonly deleted_at: string | null }>;
  readonly next_from: number | null;
  readonly gaps: ReadonlyArray<{ readonly from_seconds: number; readonly to_seconds: number; readonly reason: string }>;
}

describe("VOD chat over HTTP", () => {
  it("answers a time window of a VOD's chat, oldest first, with deletions flagged and the VOD's gaps in seconds", async () => {
    const { status, body } = await get("/vods/777/chat?from=3&to=6");
    expect(status).toBe(200);
    const window = body as unknown as WindowBody;
    expect(window.vod).toMatchObject({ id: vodId, twitch_vod_id: "777" });
    expect(window.messages.map((m) => [m.offset_seconds, m.username, m.message])).toEqual([
      [3, "viewer3", "line 3"],
      [4, "viewer4", "line 4"],
      [5, "viewer5", "line 5"],
    ]);
    expect(window.messages[1]?.deleted_at).toBe(new Date(start + 9_500).toISOString());
    expect(window.messages[0]?.deleted_at).toBeNull();
    expect(window.next_from).toBeNull();
    expect(window.gaps).toEqual([expect.objectContaining({ from_seconds: 1.5, to_seconds: 2.5, reason: "reconnect" })]);
    // The row id names the VOD as well as its Twitch id.
    expect(((await get(`/vods/${vodId}/chat?from=3&to=6`)).body as unknown as WindowBody).messages).toEqual(window.messages);
  });

  it("pages by offset: messages sharing the offset where a page ends start the next page, none shown twice or skipped", async () => {
    const seen: Array<string> = [];
    let from: number | null = 0;
    let pages = 0;
    while (from !== null) {
      const page = (await get(`/vods/777/chat?from=${from}&limit=2`)).body as unknown as WindowBody;
      seen.push(...page.messages.map((m) => m.msg_id));
      from = page.next_from;
      pages++;
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => id(i)));
    // The first page stops before the two messages at 1 s: [0 s] then [1 s, 1 s], ...
    expect(pages).toBe(6);
  });

  it("exports the VOD's chat as a TwitchDownloader file, without the deleted message", async () => {
    const { status, headers, body } = await get("/vods/777/chat/export");
    expect(status).toBe(200);
    expect(headers.get("content-disposition")).toBe('attachment; filename="777.json"');
    const file = body as { video: { id: string; title: string }; comments: Array<{ _id: string; content_offset_seconds: number; message: { body: string } }> };
    expect(file.video).toMatchObject({ id: "777", title: "the stream" });
    expect(file.comments.map((c) => c._id)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9].map(id));
    expect(file.comments[3]).toMatchObject({ content_offset_seconds: 3, message: { body: "line 3" } });
  });

  it("names what is wrong with a request: unknown VOD, bad window, bad limit, missing token", async () => {
    expect(await get("/vods/999999/chat")).toMatchObject({ status: 404, body: { error: { code: "not_found", message: "no VOD 999999" } } });
    expect(await get("/vods/999999/chat/export")).toMatchObject({ status: 404 });
    expect(await get("/vods/777/chat?from=-1")).toMatchObject({ status: 400, body: { error: { message: 'from must be a number of seconds, 0 or more (got "-1")' } } });
    expect(await get("/vods/777/chat?from=5&to=5")).toMatchObject({ status: 400, body: { error: { message: "to (5) must be after from (5)" } } });
    expect(await get("/vods/777/chat?limit=0")).toMatchObject({ status: 400, body: { error: { message: 'limit must be an integer from 1 to 5000 (got "0")' } } });
    expect(await get("/vods/777/chat", null)).toMatchObject({ status: 401 });
    expect(await get("/vods/777/chat/export", "wrong")).toMatchObject({ status: 401 });
  });
});
