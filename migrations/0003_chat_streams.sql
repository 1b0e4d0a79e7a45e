-- Chat recorder additions to the live-session table: the category id next to its
-- name, and every title/category a session had, in order ({at, title, game_name}),
-- so a session's history survives its last change.
ALTER TABLE streams ADD COLUMN game_id text;
ALTER TABLE streams ADD COLUMN title_history jsonb NOT NULL DEFAULT '[]'::jsonb;

-- Open sessions are looked up on every poll and at start.
CREATE INDEX streams_open_idx ON streams (channel) WHERE ended_at IS NULL;

-- Gaps are shown per VOD and moved with the VOD's chat on reconciliation.
CREATE INDEX chat_gaps_vod_idx ON chat_gaps (vod_id, started_at);
