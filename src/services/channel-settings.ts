/**
 * Per-channel settings: what the channels file, the environment defaults and the
 * control channel can set for one channel. Every field is resolved (defaults
 * applied) by the time a channel actor sees it.
 */

/** How chat is recorded: never, while the channel is live, or around the clock. */
export type ChatMode = "off" | "auto" | "always";

/** YouTube privacy of an uploaded VOD. */
export type UploadPrivacy = "private" | "unlisted" | "public";

/** Where a channel's definition came from; decides who may remove it. */
export type ChannelSource = "env" | "file" | "control";

export interface CatalogSettings {
  /** Time between two full catalog scans, in milliseconds. */
  readonly intervalMs: number;
  /** Most VODs to catalog per channel (0 = no limit). */
  readonly max: number;
  /** Oldest VOD age to catalog, in days (0 = no limit). */
  readonly maxAgeDays: number;
}

export interface UploadSettings {
  readonly enabled: boolean;
  readonly privacy: UploadPrivacy;
  /** Delete the local file once the upload is verified. */
  readonly deleteAfterUpload: boolean;
}

export interface RetentionSettings {
  /** Keep downloaded files this many days (0 = forever). */
  readonly keepDays: number;
  /** Keep at most this many downloaded files (0 = no limit). */
  readonly keepCount: number;
  /** Report what retention would delete without deleting it. */
  readonly dryRun: boolean;
}

export interface ChannelSettings {
  readonly chat: ChatMode;
  readonly catalog: CatalogSettings;
  /** Whether the processor downloads this channel's VODs at all. */
  readonly download: boolean;
  readonly upload: UploadSettings;
  readonly retention: RetentionSettings;
  /** Higher runs first when channels compete for a download slot on equal turns. */
  readonly priority: number;
}

/** One channel the runtime should run, with its resolved settings. */
export interface ChannelSpec {
  /** Twitch login, lower case. */
  readonly name: string;
  readonly source: ChannelSource;
  /** A paused channel keeps its actor but runs no children. */
  readonly paused: boolean;
  readonly settings: ChannelSettings;
}
