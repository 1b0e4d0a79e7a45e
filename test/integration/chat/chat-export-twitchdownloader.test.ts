import { assert, describe, it } from "@effect/vitest";
import { Effect, Layer, Schema } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { afterEach } from "vitest";
import { exportTwitchDownloaderChat, fragmentsOf } from "../../../src/services/chat-export-twitchdownloader.ts";
import { ChatSink } from "../../../src/services/chat-sink.ts";
import { mustParse, rowOf, sqlLayer, wireLines } from "./chat-fixtures.ts";
import { cleanUp, database, tempDir } from "./chat-harness.ts";

afterEach(cleanUp);

// TwitchDownloader's ChatRoot (file version 1.4.0) as documented in the peer survey,
// with the types its C# reader insists on: ints, doubles and ISO dates where it has them.
const IsoDate = Schema.String.check(Schema.makeFilter((s) => !Number.isNaN(Date.parse(s)) || "an ISO date"));
const Int = Schema.Number.check(Schema.makeFilter((n) => Number.isInteger(n) || "an integer"));
const Fragment = Schema.Struct({ text: Schema.String, emoticon: Schema.NullOr(Schema.Struct({ emoticon_id: Schema.String })) });
const Comment = Schema.Struct({
  _id: Schema.String,
  created_at: IsoDate,
  channel_id: Schema.String,
  content_type: Schema.Literal("video"),
  content_id: Schema.String,
  content_offset_seconds: Schema.Number,
  commenter: Schema.Struct({
    display_name: Schema.String,
    _id: Schema.String,
    name: Schema.String,
    bio: Schema.NullOr(Schema.String),
    created_at: IsoDate,
    updated_at: IsoDate,
    logo: Schema.NullOr(Schema.String),
  }),
  message: Schema.Struct({
    body: Schema.String,
    bits_spent: Int,
    fragments: Schema.Array(Fragment),
    user_badges: Schema.Array(Schema.Struct({ _id: Schema.String, version: Schema.String })),
    user_color: Schema.NullOr(Schema.String),
    user_notice_params: Schema.Struct({ msg_id: Schema.NullOr(Schema.String) }),
    emoticons: Schema.Array(Schema.Struct({ _id: Schema.String, begin: Int, end: Int })),
  }),
});
const ChatRoot = Schema.Struct({
  FileInfo: Schema.Struct({
    Version: Schema.Struct({ Major: Int, Minor: Int, Patch: Int }),
    CreatedAt: IsoDate,
    UpdatedAt: IsoDate,
  }),
  streamer: Schema.Struct({ name: Schema.String, login: Schema.String, id: Int }),
  clipper: Schema.Null,
  video: Schema.Struct({
    title: Schema.String,
    description: Schema.NullOr(Schema.String),
    id: Schema.String,
    created_at: IsoDate,
    start: Schema.Number,
    end: Schema.Number,
    length: Schema.Number,
    viewCount: Int,
    game: Schema.NullOr(Schema.String),
    chapters: Schema.Array(Schema.Unknown),
  }),
  comments: Schema.Array(Comment),
  embeddedData: Schema.Null,
});

describe("TwitchDownloader chat export", () => {
  it("splits a message around its emotes by code point", () => {
    assert.deepStrictEqual(fragmentsOf("👉 <3 👉 <3", [{ id: "483", begin: 2, end: 3 }, { id: "483", begin: 7, end: 8 }]), [
      { text: "👉 ", emoticon: null },
      { text: "<3", emoticon: { emoticon_id: "483" } },
      { text: " 👉 ", emoticon: null },
      { text: "<3", emoticon: { emoticon_id: "483" } },
    ]);
    assert.deepStrictEqual(fragmentsOf("Kappa", [{ id: "25", begin: 0, end: 9 }]), [{ text: "Kappa", emoticon: null }]);
  });

  it.live("exports a VOD's chat in TwitchDownloader's documented shape, in order, without deleted messages", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const dir = yield* Effect.promise(() => tempDir("chat-export-"));
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient;
        const start = new Date(Date.UTC(2020, 6, 12, 10, 0, 0));
        yield* sql`INSERT INTO channels (name, twitch_user_id, display_name, source) VALUES ('pajlada', '11148817', 'pajlada', 'env')`;
        const [vod] = yield* sql<{ id: number }>`
          INSERT INTO vods (channel, twitch_vod_id, stream_id, title, date, duration_seconds, view_count)
          VALUES ('pajlada', '700000001', 's-paj', 'forsen plays', ${start}, 36000, 42) RETURNING id`;
        const sink = yield* ChatSink;
        // The capture's chat in #pajlada, as if it had been this VOD's.
        const messages = wireLines.flatMap((l) => {
          try {
            const m = mustParse(l);
            return m.channel === "pajlada" ? [m] : [];
          } catch {
            return [];
          }
        });
        for (const m of messages) sink.offer(rowOf(m, { vodId: vod!.id, streamId: "s-paj", relTimestamp: (m.sentAt - start.getTime()) / 1000 }));
        yield* sink.flush;
        const file = yield* exportTwitchDownloaderChat(vod!.id);
        const decoded = yield* Schema.decodeUnknownEffect(ChatRoot)(JSON.parse(JSON.stringify(file)), { onExcessProperty: "error" });
        assert.strictEqual(decoded.streamer.id, 11148817);
        assert.strictEqual(decoded.video.id, "700000001");
        assert.strictEqual(decoded.video.length, 36000);

        const shown = messages.filter((m) => m.kind === "PRIVMSG" || m.kind === "USERNOTICE");
        const deleted = new Set(yield* sql<{ msg_id: string }>`SELECT msg_id FROM chat_messages WHERE deleted_at IS NOT NULL`.pipe(Effect.map((r) => r.map((x) => x.msg_id))));
        const distinct = new Set(shown.map((m) => `${m.msgId}|${m.sentAt}`));
        assert.strictEqual(decoded.comments.length, distinct.size - deleted.size);
        const offsets = decoded.comments.map((c) => c.content_offset_seconds);
        assert.deepStrictEqual(offsets, [...offsets].sort((a, b) => a - b), "in time order");
        for (const c of decoded.comments) {
          assert.strictEqual(c.message.fragments.map((f) => f.text).join(""), c.message.body, "fragments rebuild the body");
        }
        const emotes = decoded.comments.find((c) => c._id === "f9c5774b-faa7-4378-b1af-c4e08b532dc2");
        assert.deepStrictEqual(
          emotes?.message.fragments.filter((f) => f.emoticon !== null).map((f) => [f.text, f.emoticon?.emoticon_id]),
          [["Kappa", "25"], ["Keepo", "1902"], ["Kappa", "25"], ["Kappa", "25"], ["Keepo", "1902"], ["Keepo", "1902"], [":)", "499"], [":)", "499"], [":P", "490"]],
        );
        assert.deepStrictEqual(emotes?.message.user_badges, [{ _id: "moderator", version: "1" }, { _id: "subscriber", version: "12" }]);
        const announcement = decoded.comments.find((c) => c._id === "9045a344-75b9-44fa-af49-c413bcb39559");
        assert.strictEqual(announcement?.message.user_notice_params.msg_id, "announcement");
        const cheer = decoded.comments.find((c) => c._id === "d7f03a35-f339-41ca-b4d4-7c0721438570");
        assert.strictEqual(cheer?.message.bits_spent, 1);
        assert.strictEqual(cheer?.commenter.name, "tetyys");
        assert.strictEqual(cheer?.content_offset_seconds, (1594571566672 - start.getTime()) / 1000);
      }).pipe(Effect.provide(ChatSink.layer({ journalDirectory: dir }).pipe(Layer.orDie, Layer.provideMerge(sqlLayer(db.url)))));
    }));

  it.live("reports a VOD that does not exist", () =>
    Effect.gen(function* () {
      const db = yield* Effect.promise(database);
      const error = yield* exportTwitchDownloaderChat(424242).pipe(Effect.flip, Effect.provide(sqlLayer(db.url)));
      assert.strictEqual(error._tag, "ChatExportNotFound");
    }));
});
