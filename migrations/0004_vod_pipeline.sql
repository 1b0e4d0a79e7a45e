-- VOD pipeline: claims that survive only as long as their process, permanent
-- failures, resumable upload sessions, and channel identity by Twitch user id.

-- A claim is held by a process that keeps a session-level advisory lock on
-- claim_key (see vods-claim.ts). When the process dies its session ends, the
-- lock goes with it, and another claimer may take the VOD over at once; no
-- lease has to expire first. claimed_by names the process for operators.
ALTER TABLE vods ADD COLUMN claimed_by text;
ALTER TABLE vods ADD COLUMN claim_key integer;
ALTER TABLE vods ADD COLUMN claimed_at timestamptz;

-- Failed in a way no retry can fix (deleted, subscriber-only, private): never
-- claimed again until reprocessed. processing_error says why.
ALTER TABLE vods ADD COLUMN failed_permanently boolean NOT NULL DEFAULT false;

-- The YouTube resumable session of an unfinished upload, so a restarted
-- process continues it instead of sending the whole file again.
ALTER TABLE vods ADD COLUMN upload_session_url text;

-- The owner's Twitch user id: a VOD stays with its channel across renames.
ALTER TABLE vods ADD COLUMN twitch_user_id text;

-- The login Twitch reports now for the channel's user id; differs from name
-- after the streamer renamed the account.
ALTER TABLE channels ADD COLUMN twitch_login text;

-- What a claim scans: a channel's workable VODs in queue order.
CREATE INDEX vods_claim_queue_idx ON vods (channel, priority DESC, date ASC)
  WHERE NOT processed AND NOT is_placeholder AND NOT failed_permanently;

CREATE INDEX vods_twitch_user_id_idx ON vods (twitch_user_id);
