import { Schema } from "effect";
import { describe, expect, it } from "vitest";
import { Page, StreamWire, toStream, toUser, toVideo, UserWire, VideoWire } from "../../../src/services/helix-types.ts";

// Bodies from reference/wire/helix (provenance in its SOURCES.md).
const VIDEOS_ARCHIVE_REAL_CAPTURE = `{"data":[{"id":"1023837339","stream_id":"42079406220","user_id":"158394109","user_login":"muxfd","user_name":"muxfd","title":"nyc biking - ☀️ inwood hill park","description":"","created_at":"2021-05-15T19:06:13Z","published_at":"2021-05-15T19:06:13Z","url":"https://www.twitch.tv/videos/1023837339","thumbnail_url":"https://static-cdn.jtvnw.net/cf_vods/dgeft87wbj63p/42942302ff21c251487b_muxfd_42079406220_1621105563//thumb/thumb0-%{width}x%{height}.jpg","viewable":"public","view_count":2276,"language":"en","type":"archive","duration":"4h27m50s","muted_segments":null}],"pagination":{}}`;
const VIDEOS_HIGHLIGHT_WITH_CURSOR = `{"data":[{"id":"224404190","user_id":"30080751","user_name":"dyrus","user_name":"Dyrus","title":"jhin mains LUL","description":"LUL","created_at":"2018-01-31T22:35:55Z","published_at":"2018-01-31T22:35:55Z","url":"https://www.twitch.tv/videos/224404190","thumbnail_url":"https://static-cdn.jtvnw.net/s3_vods/427483724d153cb8c673_dyrus_27413838016_782035045//thumb/thumb224404190-%{width}x%{height}.jpg","viewable":"public","view_count":4924,"language":"en","type":"highlight","duration":"50s","muted_segments":[{"duration": 30,"offset": 120}]}],"pagination":{"cursor":"eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6MX19"}}`;
const STREAMS_LIVE_WITH_CURSOR = `{"data":[{"id":"27833742640","user_id":"19571641","user_login":"ninja","user_name":"Ninja","game_id":"33214","game_name":"Tekken","tag_ids":[],"type":"live","title":"I have lost my voice D: | twitter.com/Ninja","viewer_count":72124,"started_at":"2018-03-06T15:07:45Z","language":"en","thumbnail_url":"https://static-cdn.jtvnw.net/previews-ttv/live_user_ninja-{width}x{height}.jpg","is_mature": false},{"id":"27834185424","user_id":"17337557","user_name":"DrDisrespect","game_id":"33214","game_name":"Tekken","tag_ids":[],"type":"live","title":"Turbo Treehouses || @DrDisRespect","viewer_count":29687,"started_at":"2018-03-06T16:05:00Z","language":"en","thumbnail_url":"https://static-cdn.jtvnw.net/previews-ttv/live_user_drdisrespectlive-{width}x{height}.jpg","is_mature": true}],"pagination":{"cursor":"eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6Mn19"}}`;
const STREAMS_NULL_TAGS = `{"data":[{"id":"123456789","user_id":"98765","user_login":"sandysanderman","user_name":"SandySanderman","game_id":"494131","game_name":"Little Nightmares","type":"live","title":"hablamos y le damos a Little Nightmares 1","tags":null,"viewer_count":78365,"started_at":"2021-03-10T15:04:21Z","language":"es","thumbnail_url":"https://static-cdn.jtvnw.net/previews-ttv/live_user_auronplay-{width}x{height}.jpg","tag_ids":null,"is_mature":false}],"pagination":{"cursor":"eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6MjB9fQ=="}}`;
const STREAMS_EMPTY = `{"data":[],"pagination":{}}`;
const USERS_BY_LOGIN = `{"data":[{"id":"26301881","login":"sodapoppin","display_name":"sodapoppin","type":"","broadcaster_type":"partner","description":"Wtf do i write here? Click my stream, or i scream.","profile_image_url":"https://static-cdn.jtvnw.net/jtv_user_pictures/sodapoppin-profile_image-10049b6200f90c14-300x300.png","offline_image_url":"https://static-cdn.jtvnw.net/jtv_user_pictures/sodapoppin-channel_offline_image-2040c6fcacec48db-1920x1080.jpeg","view_count":190154823,"created_at":"2011-11-22T04:40:56.75883Z"}]}`;

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, json: string) =>
  Schema.decodeUnknownSync(schema)(JSON.parse(json));

describe("Helix wire schemas", () => {
  it("decode a real archive video, reading its duration", () => {
    const page = decode(Page(VideoWire), VIDEOS_ARCHIVE_REAL_CAPTURE);
    expect(page.pagination?.cursor).toBeUndefined();
    const video = toVideo(page.data[0]!);
    expect(video).toMatchObject({
      id: "1023837339",
      streamId: "42079406220",
      userLogin: "muxfd",
      title: "nyc biking - ☀️ inwood hill park",
      type: "archive",
      duration: "4h27m50s",
      durationSeconds: 4 * 3600 + 27 * 60 + 50,
      createdAt: "2021-05-15T19:06:13Z",
      mutedSegments: [],
    });
  });

  it("decode a video without stream_id or user_login, with muted segments and a cursor", () => {
    const page = decode(Page(VideoWire), VIDEOS_HIGHLIGHT_WITH_CURSOR);
    expect(page.pagination?.cursor).toBe("eyJiIjpudWxsLCJhIjp7Ik9mZnNldCI6MX19");
    const video = toVideo(page.data[0]!);
    expect(video.streamId).toBeNull();
    expect(video.userLogin).toBe("");
    expect(video.durationSeconds).toBe(50);
    expect(video.mutedSegments).toEqual([{ duration: 30, offset: 120 }]);
  });

  it("decode live streams, including one without user_login and one with null tags", () => {
    const streams = decode(Page(StreamWire), STREAMS_LIVE_WITH_CURSOR).data.map(toStream);
    expect(streams.map((s) => [s.userId, s.userLogin, s.startedAt])).toEqual([
      ["19571641", "ninja", "2018-03-06T15:07:45Z"],
      ["17337557", "", "2018-03-06T16:05:00Z"],
    ]);
    expect(toStream(decode(Page(StreamWire), STREAMS_NULL_TAGS).data[0]!).tags).toEqual([]);
    expect(decode(Page(StreamWire), STREAMS_EMPTY).data).toEqual([]);
  });

  it("decode users and lower-case their login", () => {
    const user = toUser(decode(Page(UserWire), USERS_BY_LOGIN).data[0]!);
    expect(user).toMatchObject({ id: "26301881", login: "sodapoppin", broadcasterType: "partner" });
  });

  it("reject a body missing what the runtime needs", () => {
    expect(() => decode(Page(VideoWire), `{"data":[{"id":"1","title":"t"}]}`)).toThrow();
    expect(() => decode(Page(StreamWire), `{"data":[{"id":"1","user_id":"2"}]}`)).toThrow();
    expect(() => decode(Page(UserWire), `{"error":"Bad Request","status":400}`)).toThrow();
  });
});
