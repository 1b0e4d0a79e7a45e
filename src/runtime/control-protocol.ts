/**
 * The `/control` WebSocket protocol, version 1: every request, reply and event as
 * an Effect `Schema`. The server decodes each incoming frame with these schemas;
 * clients (ctl, the console, tests) can decode replies with the result schemas.
 * `docs/control-protocol.md` describes the same messages for people; keep the two
 * in step.
 *
 * Wire shapes:
 * - request  `{ id, command, params? }`
 * - reply    `{ id, result }` or `{ id, error: { code, message } }` (`id` is null
 *   when the frame was too broken to carry one)
 * - event    `{ type: "event", subscription, event: { topic, channel, at, ... } }`
 * - hello    `{ type: "hello", protocol, ... }`, the first frame after the upgrade
 */
import { Schema } from "effect";
import { ChannelSettingsPatch as FileSettingsPatch } from "../services/channels-file.ts";
import { TwitchLogin } from "../services/twitch-login.ts";

/** Version of this protocol; bumped on any incompatible change. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** WebSocket subprotocol naming the version; clients may offer it, the server selects it. */
export const CONTROL_SUBPROTOCOL = "vod-tender.control.v1";

/**
 * Prefix of the subprotocol that carries the bearer token for clients that cannot
 * set an `Authorization` header (browsers): `bearer.<token>`.
 */
export const BEARER_SUBPROTOCOL_PREFIX = "bearer.";

// ---------------------------------------------------------------------------
// Errors

/** Every error code a reply can carry. */
export const ControlErrorCode = Schema.Literals([
  "bad_json",
  "bad_request",
  "unknown_command",
  "invalid_params",
  "frame_too_large",
  "rate_limited",
  "not_found",
  "conflict",
  "forbidden",
  "unavailable",
  "timeout",
  "internal",
]);
export type ControlErrorCode = typeof ControlErrorCode.Type;

/** The `error` member of a failed reply. */
export const ControlErrorBody = Schema.Struct({
  code: ControlErrorCode,
  message: Schema.String,
});
export type ControlErrorBody = typeof ControlErrorBody.Type;

// ---------------------------------------------------------------------------
// Shared values

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0));
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1));

/** A request id: a short string or a safe integer, echoed in the reply. */
export const RequestId = Schema.Union([
  Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128)),
  Schema.Int.check(Schema.isBetween({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
]).annotate({ expected: "a string (1-128 characters) or an integer" });
export type RequestId = typeof RequestId.Type;

/** A channel name as written by a person; decodes to the lower-case login. */
export const ChannelName = TwitchLogin;

/** A `vods.id`. */
export const VodId = PositiveInt.annotate({ expected: "a VOD id (a positive integer)" });

export const ChatMode = Schema.Literals(["off", "auto", "always"]);
export const UploadPrivacy = Schema.Literals(["private", "unlisted", "public"]);
export const ChannelSource = Schema.Literals(["env", "file", "control"]);

/** Resolved per-channel settings, as in `ChannelSettings` (services/channel-settings.ts). */
export const ChannelSettingsSchema = Schema.Struct({
  chat: ChatMode,
  catalog: Schema.Struct({ intervalMs: PositiveInt, max: NonNegativeInt, maxAgeDays: NonNegativeInt }),
  download: Schema.Boolean,
  upload: Schema.Struct({ enabled: Schema.Boolean, privacy: UploadPrivacy, deleteAfterUpload: Schema.Boolean }),
  retention: Schema.Struct({ keepDays: NonNegativeInt, keepCount: NonNegativeInt, dryRun: Schema.Boolean }),
  priority: Schema.Int,
});

/**
 * Some settings to change, written as in the channels file (`catalog.interval`
 * is a duration such as "6h"); what is left out keeps its current (or default) value.
 */
export const ChannelSettingsPatch = FileSettingsPatch;
export type ChannelSettingsPatch = typeof FileSettingsPatch.Type;

/** Event topics a client can subscribe to. */
export const EventTopic = Schema.Literals(["transition", "restart", "progress", "chat_rate", "error", "channel", "config"]);
export type EventTopic = typeof EventTopic.Type;

/** Every topic, in the order the documentation lists them. */
export const eventTopics: ReadonlyArray<EventTopic> = EventTopic.literals;

// ---------------------------------------------------------------------------
// Results

/** A channel's download in flight. */
export const DownloadProgress = Schema.Struct({
  vodId: Schema.Number,
  /** 0-100, null while the total is unknown. */
  percent: Schema.NullOr(Schema.Number),
  bytes: Schema.Number,
  total: Schema.NullOr(Schema.Number),
  /** queued, preparing, downloading, verifying, uploading, backoff. */
  state: Schema.optionalKey(Schema.String),
  title: Schema.optionalKey(Schema.String),
});

/** One actor of a channel's subtree, for the inspector. */
export interface ActorNode {
  readonly actor: string;
  readonly state: string;
  readonly children: ReadonlyArray<ActorNode>;
}

/** Schema of {@link ActorNode} (recursive). */
export const ActorNode: Schema.Codec<ActorNode> = Schema.Struct({
  actor: Schema.String,
  state: Schema.String,
  children: Schema.Array(Schema.suspend((): Schema.Codec<ActorNode> => ActorNode)),
});

/** One channel as the runtime sees it now. */
export const ChannelStatus = Schema.Struct({
  name: Schema.String,
  source: ChannelSource,
  paused: Schema.Boolean,
  /** State of the channel actor: starting, running, degraded, paused, failed, stopping... */
  state: Schema.String,
  /** Why the channel is failed or degraded, when it is. */
  reason: Schema.NullOr(Schema.String),
  /** Breaker of the channel's processor (loading, closed, open, halfOpen, probing); null while the processor does not run. */
  breaker: Schema.NullOr(Schema.String),
  /** State of each child actor by name (catalog, processor, chat, ...). */
  children: Schema.Record(Schema.String, Schema.String),
  settings: ChannelSettingsSchema,
  /** Child restarts since the channel started. */
  restarts: NonNegativeInt,
  lastError: Schema.NullOr(Schema.Struct({ message: Schema.String, at: Schema.String })),
  download: Schema.NullOr(DownloadProgress),
  /** Chat messages per minute over the last minute; null when chat is not recorded. */
  chatRate: Schema.NullOr(Schema.Number),
  /** The channel actor and everything below it, when the runtime reports it. */
  tree: Schema.optionalKey(ActorNode),
});
export type ChannelStatus = typeof ChannelStatus.Type;

/** One VOD row, as listed. */
export const VodSummary = Schema.Struct({
  id: Schema.Number,
  channel: Schema.String,
  twitchVodId: Schema.NullOr(Schema.String),
  title: Schema.NullOr(Schema.String),
  date: Schema.NullOr(Schema.String),
  durationSeconds: Schema.NullOr(Schema.Number),
  priority: Schema.Number,
  processed: Schema.Boolean,
  downloadState: Schema.NullOr(Schema.String),
  progress: Schema.NullOr(Schema.Number),
  processingError: Schema.NullOr(Schema.String),
  youtubeUrl: Schema.NullOr(Schema.String),
});
export type VodSummary = typeof VodSummary.Type;

/** One chat message found by `chat.search`. */
export const ChatHit = Schema.Struct({
  channel: Schema.String,
  vodId: Schema.NullOr(Schema.Number),
  msgId: Schema.String,
  username: Schema.NullOr(Schema.String),
  displayName: Schema.NullOr(Schema.String),
  message: Schema.String,
  /** ISO time the message was sent. */
  at: Schema.String,
  /** Seconds into the VOD, when known. */
  offsetSeconds: Schema.NullOr(Schema.Number),
});
export type ChatHit = typeof ChatHit.Type;

/** One message or user notice of a VOD, as `chat.vod` reads it. */
export const ChatLine = Schema.Struct({
  msgId: Schema.String,
  kind: Schema.String,
  /** Seconds into the VOD. */
  offsetSeconds: Schema.NullOr(Schema.Number),
  /** ISO time the message was sent. */
  at: Schema.String,
  username: Schema.NullOr(Schema.String),
  displayName: Schema.NullOr(Schema.String),
  message: Schema.String,
  /** ISO time a moderator deleted it (CLEARMSG or CLEARCHAT), else null. */
  deletedAt: Schema.NullOr(Schema.String),
});
export type ChatLine = typeof ChatLine.Type;

/** A window in which a VOD's chat was not recorded. */
export const ChatGap = Schema.Struct({
  /** Seconds into the VOD (null when the VOD's start is not known). */
  fromSeconds: Schema.NullOr(Schema.Number),
  /** Null while the gap is still open. */
  toSeconds: Schema.NullOr(Schema.Number),
  reason: Schema.String,
});
export type ChatGap = typeof ChatGap.Type;

/** A page of a VOD's chat: its messages in order, where the next page starts, and every gap of the VOD. */
export const ChatPage = Schema.Struct({
  vodId: Schema.Number,
  messages: Schema.Array(ChatLine),
  nextFrom: Schema.NullOr(Schema.Number),
  gaps: Schema.Array(ChatGap),
});
export type ChatPage = typeof ChatPage.Type;

const Seconds = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ expected: "seconds into the VOD (0 or more)" });

/** What a reload changed (or, with `ok: false`, why nothing changed). */
export const ReloadReport = Schema.Struct({
  ok: Schema.Boolean,
  added: Schema.Array(Schema.String),
  removed: Schema.Array(Schema.String),
  updated: Schema.Array(Schema.String),
  /** Channels whose changes failed to apply; the rest of the diff still applied. */
  failed: Schema.Array(Schema.Struct({ channel: Schema.String, message: Schema.String })),
  /** Why the file was rejected, one problem per entry with its line. */
  errors: Schema.Array(
    Schema.Struct({ message: Schema.String, line: Schema.optionalKey(Schema.Number), column: Schema.optionalKey(Schema.Number) }),
  ),
});
export type ReloadReport = typeof ReloadReport.Type;

// ---------------------------------------------------------------------------
// Commands: params and results

const Empty = Schema.Struct({});
const Named = Schema.Struct({ name: ChannelName });
const OneVod = Schema.Struct({ id: VodId });
const Ok = Schema.Struct({ ok: Schema.Literal(true) });

/**
 * Every command: the schema of its `params` and of its `result`, and whether it
 * changes anything (mutations are written to `audit_log`).
 */
export const commands = {
  "channels.list": { params: Empty, result: Schema.Struct({ channels: Schema.Array(ChannelStatus) }), mutates: false },
  "channels.status": {
    params: Schema.Struct({ name: Schema.optionalKey(ChannelName) }),
    result: Schema.Struct({ channels: Schema.Array(ChannelStatus) }),
    mutates: false,
  },
  "channels.add": {
    params: Schema.Struct({ name: ChannelName, paused: Schema.optionalKey(Schema.Boolean), settings: Schema.optionalKey(ChannelSettingsPatch) }),
    result: Schema.Struct({ channel: ChannelStatus }),
    mutates: true,
  },
  "channels.remove": { params: Named, result: Schema.Struct({ removed: Schema.String }), mutates: true },
  "channels.pause": { params: Named, result: Schema.Struct({ channel: ChannelStatus }), mutates: true },
  "channels.resume": { params: Named, result: Schema.Struct({ channel: ChannelStatus }), mutates: true },
  "channels.update": {
    params: Schema.Struct({ name: ChannelName, settings: ChannelSettingsPatch }),
    result: Schema.Struct({ channel: ChannelStatus }),
    mutates: true,
  },
  "vods.list": {
    params: Schema.Struct({
      channel: Schema.optionalKey(ChannelName),
      limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 }))),
      offset: Schema.optionalKey(NonNegativeInt),
    }),
    result: Schema.Struct({ vods: Schema.Array(VodSummary), total: NonNegativeInt }),
    mutates: false,
  },
  "vods.scan": {
    params: Schema.Struct({ channel: Schema.optionalKey(ChannelName) }),
    result: Schema.Struct({ channels: Schema.Array(Schema.String) }),
    mutates: true,
  },
  "vods.catalog": {
    params: Schema.Struct({ channel: ChannelName }),
    result: Schema.Struct({ channel: Schema.String, requested: Schema.Literal(true) }),
    mutates: true,
  },
  "vods.reprocess": { params: OneVod, result: Schema.Struct({ vod: VodSummary }), mutates: true },
  "vods.cancel": { params: OneVod, result: Schema.Struct({ cancelled: Schema.Boolean }), mutates: true },
  "vods.prioritize": {
    params: Schema.Struct({ id: VodId, priority: Schema.Int }),
    result: Schema.Struct({ vod: VodSummary }),
    mutates: true,
  },
  "breaker.reset": { params: Schema.Struct({ channel: ChannelName }), result: Ok, mutates: true },
  "chat.search": {
    params: Schema.Struct({
      query: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
      channel: Schema.optionalKey(ChannelName),
      vodId: Schema.optionalKey(VodId),
      limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 }))),
    }),
    result: Schema.Struct({ messages: Schema.Array(ChatHit) }),
    mutates: false,
  },
  "chat.vod": {
    params: Schema.Struct({
      id: VodId,
      from: Schema.optionalKey(Seconds),
      to: Schema.optionalKey(Seconds),
      limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 }))),
    }),
    result: ChatPage,
    mutates: false,
  },
  "config.reload": { params: Empty, result: ReloadReport, mutates: true },
  subscribe: {
    params: Schema.Struct({
      topics: Schema.optionalKey(Schema.Array(EventTopic).check(Schema.isMinLength(1))),
      channels: Schema.optionalKey(Schema.Array(ChannelName).check(Schema.isMinLength(1), Schema.isMaxLength(10_000))),
    }),
    result: Schema.Struct({
      subscription: Schema.String,
      topics: Schema.Array(EventTopic),
      channels: Schema.NullOr(Schema.Array(Schema.String)),
    }),
    mutates: false,
  },
  unsubscribe: { params: Schema.Struct({ subscription: Schema.String }), result: Ok, mutates: false },
} as const;

/** A command name. */
export type CommandName = keyof typeof commands;

/** Every command name, in declaration order. */
export const commandNames = Object.keys(commands) as ReadonlyArray<CommandName>;

/** Decoded `params` of a command. */
export type CommandParams<C extends CommandName> = (typeof commands)[C]["params"]["Type"];

/** `params` of a command as sent on the wire (names not yet normalised). */
export type CommandParamsEncoded<C extends CommandName> = (typeof commands)[C]["params"]["Encoded"];

/** `result` of a command. */
export type CommandResult<C extends CommandName> = (typeof commands)[C]["result"]["Type"];

/** True when `name` is a command of this protocol version. */
export const isCommandName = (name: string): name is CommandName => Object.hasOwn(commands, name);

/** The outer shape of every request; `params` is checked against its command next. */
export const RequestEnvelope = Schema.Struct({
  id: RequestId,
  command: Schema.String,
  params: Schema.optionalKey(Schema.Unknown),
});

// ---------------------------------------------------------------------------
// Events

const EventBase = {
  /** The channel concerned, or null for process-wide events. */
  channel: Schema.NullOr(Schema.String),
  /** ISO time of the event. */
  at: Schema.String,
};

/** An actor changed state; `actor` is its path under the channel ("channel", "processor", "processor.breaker", ...). */
export const TransitionEvent = Schema.Struct({
  topic: Schema.Literal("transition"),
  ...EventBase,
  actor: Schema.String,
  from: Schema.NullOr(Schema.String),
  to: Schema.String,
  /** The event that caused it, when known. */
  cause: Schema.optionalKey(Schema.String),
});

/** A supervisor restarted a child after it failed. */
export const RestartEvent = Schema.Struct({
  topic: Schema.Literal("restart"),
  ...EventBase,
  actor: Schema.String,
  /** Restarts within the current intensity window, this one included. */
  attempt: Schema.Number,
  reason: Schema.String,
  backoffMs: Schema.optionalKey(Schema.Number),
});

/** A download made progress. */
export const ProgressEvent = Schema.Struct({
  topic: Schema.Literal("progress"),
  ...EventBase,
  vodId: Schema.Number,
  percent: Schema.NullOr(Schema.Number),
  bytes: Schema.Number,
  total: Schema.NullOr(Schema.Number),
  /** Bytes per second. */
  speed: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  /** Seconds left. */
  eta: Schema.optionalKey(Schema.NullOr(Schema.Number)),
});

/** The chat rate of a channel, reported periodically while chat is recorded. */
export const ChatRateEvent = Schema.Struct({
  topic: Schema.Literal("chat_rate"),
  ...EventBase,
  perMinute: Schema.Number,
});

/** Something failed; `actor` says where. */
export const ErrorEvent = Schema.Struct({
  topic: Schema.Literal("error"),
  ...EventBase,
  actor: Schema.optionalKey(Schema.String),
  message: Schema.String,
});

/** A channel was added, removed, paused, resumed or updated, by whatever means. */
export const ChannelEvent = Schema.Struct({
  topic: Schema.Literal("channel"),
  ...EventBase,
  change: Schema.Literals(["added", "removed", "paused", "resumed", "updated"]),
  source: Schema.optionalKey(ChannelSource),
});

/** A reload of the channels file ran; carries its report. */
export const ConfigEvent = Schema.Struct({
  topic: Schema.Literal("config"),
  ...EventBase,
  trigger: Schema.Literals(["start", "watch", "sighup", "control"]),
  report: ReloadReport,
});

/** Any event a subscriber can receive. */
export const ControlEvent = Schema.Union([TransitionEvent, RestartEvent, ProgressEvent, ChatRateEvent, ErrorEvent, ChannelEvent, ConfigEvent]);
export type ControlEvent = typeof ControlEvent.Type;

// ---------------------------------------------------------------------------
// Server frames

/** First frame the server sends on a new connection. */
export const HelloFrame = Schema.Struct({
  type: Schema.Literal("hello"),
  protocol: Schema.Literal(CONTROL_PROTOCOL_VERSION),
  server: Schema.String,
  commands: Schema.Array(Schema.String),
  topics: Schema.Array(EventTopic),
  limits: Schema.Struct({
    maxFrameBytes: Schema.Number,
    requestsPerSecond: Schema.Number,
    burst: Schema.Number,
    heartbeatMs: Schema.Number,
  }),
});
export type HelloFrame = typeof HelloFrame.Type;

/** An event delivered to one subscription. */
export const EventFrame = Schema.Struct({
  type: Schema.Literal("event"),
  subscription: Schema.String,
  event: ControlEvent,
});
export type EventFrame = typeof EventFrame.Type;

/** A reply: `result` on success, `error` otherwise. */
export const ReplyFrame = Schema.Union([
  Schema.Struct({ id: Schema.NullOr(RequestId), result: Schema.Unknown }),
  Schema.Struct({ id: Schema.NullOr(RequestId), error: ControlErrorBody }),
]);
export type ReplyFrame = typeof ReplyFrame.Type;

/** Any frame the server sends. */
export const ServerFrame = Schema.Union([HelloFrame, EventFrame, ReplyFrame]);
export type ServerFrame = typeof ServerFrame.Type;

/** WebSocket close codes the server uses, beyond the standard ones. */
export const ControlCloseCode = {
  /** Standard: the server is shutting down. */
  goingAway: 1001,
  /** Standard: a frame above the hard limit (the connection cannot be trusted to stay in sync). */
  tooBig: 1009,
  /** The client read too slowly; its outgoing buffer passed the limit. */
  slowConsumer: 4008,
  /** The client kept sending after being told it was over its rate. */
  flood: 4029,
} as const;
