/**
 * Channel settings under which a channel's tree does nothing by itself for an
 * hour (no catalog scan due, no upload, no retention): the tests and the
 * supervisor benchmark drive it instead.
 */
import type { ChannelSettings } from "../../src/services/channel-settings.ts";

export const quietSettings: ChannelSettings = {
  chat: "auto",
  catalog: { intervalMs: 3_600_000, max: 0, maxAgeDays: 0 },
  download: true,
  upload: { enabled: false, privacy: "private", deleteAfterUpload: false },
  retention: { keepDays: 0, keepCount: 0, dryRun: false },
  priority: 0,
};
