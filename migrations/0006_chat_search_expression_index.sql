-- Chat full-text search indexes an expression instead of a stored tsvector
-- column.
--
-- Why: the stored column kept a second copy of every message's words in the
-- table (measured on simulator chat: 15% of the table's size) and wrote it to
-- the WAL on every insert, the hottest write path; the index alone computes
-- the vector once per row (measured: about 5% less PostgreSQL time per batch).
-- Ranking and phrase checks compute the vector again for the rows a search
-- matches, which is cheap for chat-sized texts.
--
-- Searches must use this exact expression to reach the index
-- (`chatSearchVector` in src/services/chat-search.ts). On an existing archive
-- this builds the index over every partition while holding the chat table's
-- lock; dropping the column frees its space as rows are rewritten or vacuumed.
ALTER TABLE chat_messages DROP COLUMN search;
CREATE INDEX chat_messages_search_idx ON chat_messages
  USING gin ((to_tsvector('simple'::regconfig, coalesce(message, '') || ' ' || coalesce(system_message, ''))));
