-- persona-mcp schema, version 2: what the memory engine needs.

-- Vectors live in SQLite too, so the Chroma index can be rebuilt without re-embedding and a
-- process that does not own the index can still rank by meaning. `seq` grows with every write.
CREATE TABLE memory_vectors (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    model_id  TEXT NOT NULL,
    vector    BLOB NOT NULL,                 -- float32, little-endian, unit length
    UNIQUE (memory_id, model_id)
);

-- Live rows the vector index has not caught up with yet (indexed_at is cleared on every change).
CREATE INDEX memories_pending ON memories (persona_id) WHERE indexed_at IS NULL AND archived_at IS NULL;
-- Memories to embed after a change of model (or written while no embedder was loaded).
CREATE INDEX memories_embedding ON memories (embedding_model);
CREATE INDEX memories_conversation ON memories (conversation_id, created_at) WHERE conversation_id IS NOT NULL;
CREATE INDEX memories_visibility ON memories (visibility, persona_id) WHERE visibility != 'private';

-- Lexical search: stem words (painting ~ painted) and index the subject along with the content.
DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_update;
DROP TABLE memories_fts;
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    content, subject, content = 'memories', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, subject) VALUES (new.rowid, new.content, coalesce(new.subject, ''));
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, subject)
    VALUES ('delete', old.rowid, old.content, coalesce(old.subject, ''));
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, subject ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, subject)
    VALUES ('delete', old.rowid, old.content, coalesce(old.subject, ''));
    INSERT INTO memories_fts (rowid, content, subject) VALUES (new.rowid, new.content, coalesce(new.subject, ''));
END;
INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');
