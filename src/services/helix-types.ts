/**
 * Helix response bodies: the wire schemas (snake_case, as Twitch sends them) and
 * the camelCase values the rest of the runtime uses. Only fields the runtime
 * reads are required; everything Twitch has deprecated or may omit is optional.
 */
import { Schema } from "effect";
import { parseTwitchDuration } from "./twitch-duration.ts";

const OptionalString = Schema.optional(Schema.NullOr(Schema.String));

/** Wire form of a `/users` entry. */
export const UserWire = Schema.Struct({
  id: Schema.String,
  login: Schema.String,
  display_name: Schema.String,
  type: OptionalString,
  broadcaster_type: OptionalString,
  description: OptionalString,
  profile_image_url: OptionalString,
  offline_image_url: OptionalString,
  created_at: OptionalString,
});

/** Wire form of a `/streams` entry. */
export const StreamWire = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  // Twitch has been seen to omit it (nicklaw5/helix fixture); the id is what matters.
  user_login: OptionalString,
  user_name: OptionalString,
  game_id: OptionalString,
  game_name: OptionalString,
  type: OptionalString,
  title: OptionalString,
  viewer_count: Schema.optional(Schema.NullOr(Schema.Number)),
  started_at: Schema.String,
  language: OptionalString,
  thumbnail_url: OptionalString,
  tags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
});

const MutedSegmentWire = Schema.Struct({ duration: Schema.Number, offset: Schema.Number });

/** Wire form of a `/videos` entry. */
export const VideoWire = Schema.Struct({
  id: Schema.String,
  stream_id: OptionalString,
  user_id: Schema.String,
  user_login: OptionalString,
  user_name: OptionalString,
  title: Schema.String,
  description: OptionalString,
  created_at: Schema.String,
  published_at: OptionalString,
  url: OptionalString,
  thumbnail_url: OptionalString,
  viewable: OptionalString,
  view_count: Schema.optional(Schema.NullOr(Schema.Number)),
  language: OptionalString,
  type: Schema.String,
  duration: Schema.String,
  muted_segments: Schema.optional(Schema.NullOr(Schema.Array(MutedSegmentWire))),
});

/** Helix's list envelope: `{"data":[...],"pagination":{"cursor":"..."}}`. */
export const Page = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    data: Schema.Array(item),
    pagination: Schema.optional(Schema.Struct({ cursor: Schema.optional(Schema.String) })),
  });

/** Body of `POST /oauth2/token` (client credentials). */
export const AppTokenWire = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Number,
  token_type: Schema.optional(Schema.String),
});

/** Error body Helix and id.twitch.tv send (`{"error":"…","status":401,"message":"…"}`). */
export const ErrorWire = Schema.Struct({
  error: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String),
});

/** A Twitch user (channel). */
export interface HelixUser {
  readonly id: string;
  /** Lower-case login. */
  readonly login: string;
  readonly displayName: string;
  readonly broadcasterType: string;
  readonly description: string;
  readonly profileImageUrl: string | undefined;
  readonly createdAt: string | undefined;
}

/** A live stream. */
export interface HelixStream {
  readonly id: string;
  readonly userId: string;
  /** Lower-case login; may be empty when Twitch omits it. */
  readonly userLogin: string;
  readonly userName: string;
  readonly gameId: string;
  readonly gameName: string;
  readonly title: string;
  readonly viewerCount: number;
  /** ISO timestamp of the stream start. */
  readonly startedAt: string;
  readonly language: string;
  readonly thumbnailUrl: string | undefined;
  readonly tags: ReadonlyArray<string>;
}

/** A video: an archive (past broadcast), highlight or upload. */
export interface HelixVideo {
  readonly id: string;
  /** The live stream this archive recorded; null for uploads and highlights. */
  readonly streamId: string | null;
  readonly userId: string;
  readonly userLogin: string;
  readonly userName: string;
  readonly title: string;
  readonly description: string;
  /** ISO timestamp of when recording started. */
  readonly createdAt: string;
  readonly publishedAt: string | undefined;
  readonly url: string;
  readonly thumbnailUrl: string | undefined;
  readonly viewable: string;
  readonly viewCount: number;
  readonly language: string;
  readonly type: string;
  /** Twitch's duration text ("4h27m50s"). */
  readonly duration: string;
  /** `duration` in seconds; undefined when Twitch sent something unreadable. */
  readonly durationSeconds: number | undefined;
  readonly mutedSegments: ReadonlyArray<{ readonly offset: number; readonly duration: number }>;
}

/** One page of results and the cursor of the next (undefined on the last page). */
export interface HelixPage<A> {
  readonly data: ReadonlyArray<A>;
  readonly cursor: string | undefined;
}

/** Wire user → {@link HelixUser}. */
export const toUser = (u: typeof UserWire.Type): HelixUser => ({
  id: u.id,
  login: u.login.toLowerCase(),
  displayName: u.display_name,
  broadcasterType: u.broadcaster_type ?? "",
  description: u.description ?? "",
  profileImageUrl: u.profile_image_url ?? undefined,
  createdAt: u.created_at ?? undefined,
});

/** Wire stream → {@link HelixStream}. */
export const toStream = (s: typeof StreamWire.Type): HelixStream => ({
  id: s.id,
  userId: s.user_id,
  userLogin: (s.user_login ?? "").toLowerCase(),
  userName: s.user_name ?? "",
  gameId: s.game_id ?? "",
  gameName: s.game_name ?? "",
  title: s.title ?? "",
  viewerCount: s.viewer_count ?? 0,
  startedAt: s.started_at,
  language: s.language ?? "",
  thumbnailUrl: s.thumbnail_url ?? undefined,
  tags: s.tags ?? [],
});

/** Wire video → {@link HelixVideo}. */
export const toVideo = (v: typeof VideoWire.Type): HelixVideo => ({
  id: v.id,
  streamId: v.stream_id ?? null,
  userId: v.user_id,
  userLogin: (v.user_login ?? "").toLowerCase(),
  userName: v.user_name ?? "",
  title: v.title,
  description: v.description ?? "",
  createdAt: v.created_at,
  publishedAt: v.published_at ?? undefined,
  url: v.url ?? `https://www.twitch.tv/videos/${v.id}`,
  thumbnailUrl: v.thumbnail_url ?? undefined,
  viewable: v.viewable ?? "public",
  viewCount: v.view_count ?? 0,
  language: v.language ?? "",
  type: v.type,
  duration: v.duration,
  durationSeconds: parseTwitchDuration(v.duration),
  mutedSegments: v.muted_segments ?? [],
});
