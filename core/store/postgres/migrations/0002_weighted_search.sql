-- Word search scores the content and the subject apart (BM25 with the subject at half weight, as
-- SQLite's FTS5 query does): the content's lexemes carry weight A, the subject's weight B.
DROP INDEX memories_search;
ALTER TABLE memories DROP COLUMN search;
ALTER TABLE memories ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('{fts_config}', content), 'A')
    || setweight(to_tsvector('{fts_config}', coalesce(subject, '')), 'B')
) STORED;
CREATE INDEX memories_search ON memories USING gin (search);

-- What the schema was made with, read by every worker (its searches must use the configuration
-- the stored tsvectors were made with).
CREATE TABLE store_config (
    key   ctext PRIMARY KEY,
    value ctext NOT NULL
);
INSERT INTO store_config (key, value) VALUES ('fts_config', '{fts_config}');
