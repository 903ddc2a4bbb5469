-- persona-mcp schema, version 1. Applied once, in one transaction, by core.store.database.
-- Times are ISO-8601 UTC text ending in Z; JSON columns hold objects written by the core.

CREATE TABLE personas (
    id           TEXT PRIMARY KEY,            -- slug: aria, kira
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    spec         TEXT NOT NULL,               -- JSON: every authorable field (core.models.PersonaSpec)
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    archived_at  TEXT                         -- set by persona.delete without purge
);
CREATE UNIQUE INDEX personas_name_live ON personas (lower(name)) WHERE archived_at IS NULL;

CREATE TABLE memories (
    id               TEXT PRIMARY KEY,
    persona_id       TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    content          TEXT NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'episodic'
                     CHECK (kind IN ('episodic', 'semantic', 'emotional', 'procedural', 'reflective')),
    visibility       TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'public')),
    importance       REAL NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    strength         REAL NOT NULL DEFAULT 1.0 CHECK (strength BETWEEN 0 AND 1),
    pinned           INTEGER NOT NULL DEFAULT 0,
    access_count     INTEGER NOT NULL DEFAULT 0,
    last_accessed_at TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    archived_at      TEXT,
    source           TEXT,
    subject          TEXT,
    conversation_id  TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    content_hash     TEXT NOT NULL,
    embedding_model  TEXT,
    indexed_at       TEXT
);
CREATE INDEX memories_persona ON memories (persona_id, archived_at, created_at);
CREATE INDEX memories_hash ON memories (persona_id, content_hash);

CREATE VIRTUAL TABLE memories_fts USING fts5 (content, content = 'memories', content_rowid = 'rowid');
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO memories_fts (rowid, content) VALUES (new.rowid, new.content);
END;

-- A relationship is symmetric: one row per unordered pair, stored with party_a < party_b.
-- A party is a persona id or 'user:<id>' for a human user.
CREATE TABLE relationships (
    party_a             TEXT NOT NULL,
    party_b             TEXT NOT NULL,
    type                TEXT NOT NULL DEFAULT 'stranger',
    affinity            REAL NOT NULL DEFAULT 0 CHECK (affinity BETWEEN -1 AND 1),
    trust               REAL NOT NULL DEFAULT 0.3 CHECK (trust BETWEEN 0 AND 1),
    familiarity         REAL NOT NULL DEFAULT 0 CHECK (familiarity BETWEEN 0 AND 1),
    interaction_count   INTEGER NOT NULL DEFAULT 0,
    last_interaction_at TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (party_a, party_b),
    CHECK (party_a < party_b)
);
CREATE INDEX relationships_b ON relationships (party_b);

CREATE TABLE interactions (
    id         INTEGER PRIMARY KEY,
    party_a    TEXT NOT NULL,
    party_b    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    quality    REAL NOT NULL CHECK (quality BETWEEN -1 AND 1),
    summary    TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (party_a, party_b) REFERENCES relationships (party_a, party_b) ON DELETE CASCADE
);
CREATE INDEX interactions_pair ON interactions (party_a, party_b, created_at);

CREATE TABLE emotional_states (
    persona_id TEXT PRIMARY KEY REFERENCES personas (id) ON DELETE CASCADE,
    valence    REAL NOT NULL CHECK (valence BETWEEN -1 AND 1),
    arousal    REAL NOT NULL CHECK (arousal BETWEEN 0 AND 1),
    dominance  REAL NOT NULL CHECK (dominance BETWEEN 0 AND 1),
    energy     REAL NOT NULL CHECK (energy BETWEEN 0 AND 1),
    stress     REAL NOT NULL CHECK (stress BETWEEN 0 AND 1),
    updated_at TEXT NOT NULL
);

CREATE TABLE emotional_history (
    id         INTEGER PRIMARY KEY,
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    valence    REAL NOT NULL,
    arousal    REAL NOT NULL,
    dominance  REAL NOT NULL,
    energy     REAL NOT NULL,
    stress     REAL NOT NULL,
    reason     TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX emotional_history_persona ON emotional_history (persona_id, created_at);

CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    title        TEXT,
    user_id      TEXT,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    summary      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    closed_at    TEXT
);

CREATE TABLE conversation_participants (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    persona_id      TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    joined_at       TEXT NOT NULL,
    left_at         TEXT,
    PRIMARY KEY (conversation_id, persona_id)
);
CREATE INDEX conversation_participants_persona ON conversation_participants (persona_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    persona_id      TEXT,
    content         TEXT NOT NULL,
    tokens          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
