-- ANALYZE of chat skips the columns no query filters, joins or sorts on.
--
-- Why: autovacuum analyzes the month's partition after every tenth of growth,
-- sampling 30,000 rows, and summarising message texts, badges, emotes and
-- event parameters was most of that work (measured on 300,000 simulator rows:
-- 680 ms of CPU per ANALYZE, 300 ms without them). Early in a busy month it
-- runs every minute or two beside ingest. Reads select on channel, user, VOD,
-- stream, kind, deletion and time; search reaches the text through its
-- index's expression, whose statistics stay.
--
-- This reaches the existing partitions; later ones take the targets of
-- chat_messages when they are created (src/services/chat-partitions.ts).
ALTER TABLE chat_messages
  ALTER COLUMN display_name SET STATISTICS 0,
  ALTER COLUMN color SET STATISTICS 0,
  ALTER COLUMN badges SET STATISTICS 0,
  ALTER COLUMN emotes SET STATISTICS 0,
  ALTER COLUMN bits SET STATISTICS 0,
  ALTER COLUMN reply_parent_msg_id SET STATISTICS 0,
  ALTER COLUMN reply_parent_user_login SET STATISTICS 0,
  ALTER COLUMN reply_parent_msg_body SET STATISTICS 0,
  ALTER COLUMN message SET STATISTICS 0,
  ALTER COLUMN is_action SET STATISTICS 0,
  ALTER COLUMN first_msg SET STATISTICS 0,
  ALTER COLUMN msg_params SET STATISTICS 0,
  ALTER COLUMN system_message SET STATISTICS 0,
  ALTER COLUMN raw SET STATISTICS 0,
  ALTER COLUMN created_at SET STATISTICS 0;
