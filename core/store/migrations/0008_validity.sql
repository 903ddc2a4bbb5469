-- persona-mcp schema, version 8: beliefs over time. A memory is valid from `valid_from` (NULL: its
-- created_at) until `valid_to` (NULL: still true). Storing a memory that supersedes another closes
-- the other's interval at the new one's start and points `superseded_by` at it; nothing is deleted.
ALTER TABLE memories ADD COLUMN valid_from TEXT;
ALTER TABLE memories ADD COLUMN valid_to TEXT;
ALTER TABLE memories ADD COLUMN superseded_by TEXT;
-- Searches leave out what stopped being true; only those few rows carry a valid_to.
CREATE INDEX memories_ended ON memories (persona_id, valid_to) WHERE valid_to IS NOT NULL;
