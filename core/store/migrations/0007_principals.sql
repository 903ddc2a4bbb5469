-- persona-mcp schema, version 7: principals (who is calling), persona ownership and grants, and who
-- wrote what. The local owner (stdio, the CLI, the old single PERSONA_MCP_TOKEN) is the principal
-- named 'owner'; it has no row here and is always an admin.

-- One row per principal made with `persona-mcp token add`. Only the SHA-256 of a token is kept
-- (tokens are 256 random bits, so a fast hash is enough); `subject` maps an OAuth `sub` to it.
CREATE TABLE principals (
    name        TEXT PRIMARY KEY,
    admin       INTEGER NOT NULL DEFAULT 0,
    token_hash  TEXT UNIQUE,
    subject     TEXT UNIQUE,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT
) WITHOUT ROWID;

-- What a principal may do with a persona it does not own: read (see it, chat with it, keep its own
-- memories of it) or write (also change the persona, its mood and its shared knowledge).
CREATE TABLE persona_grants (
    persona_id  TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    principal   TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('read', 'write')),
    granted_at  TEXT NOT NULL,
    granted_by  TEXT NOT NULL,
    PRIMARY KEY (persona_id, principal)
) WITHOUT ROWID;
CREATE INDEX persona_grants_principal ON persona_grants (principal);

-- Deletions, purges and access changes, with the principal that made them (never a secret).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    principal   TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

-- A persona belongs to the principal that made it; NULL marks the shipped personas everyone may
-- use. Personas already here were made by the local owner, except the ones seeding added (they share
-- the seeding time as created_at).
ALTER TABLE personas ADD COLUMN owner TEXT;
ALTER TABLE personas ADD COLUMN updated_by TEXT;
UPDATE personas SET owner = 'owner'
WHERE created_at IS NOT (SELECT value FROM settings WHERE key = 'personas_seeded_at');
CREATE INDEX personas_owner ON personas (owner);
-- Live names are unique per owner (another principal's persona may share a name it cannot see).
DROP INDEX personas_name_live;
CREATE UNIQUE INDEX personas_name_live ON personas (ifnull(owner, ''), lower(name)) WHERE archived_at IS NULL;

-- Who wrote each memory: what one principal tells a persona is not shown to another (see
-- core/access/policy.py). Everything already here was the local owner's.
ALTER TABLE memories ADD COLUMN created_by TEXT NOT NULL DEFAULT 'owner';
ALTER TABLE memories ADD COLUMN updated_by TEXT;
CREATE INDEX memories_created_by ON memories (persona_id, created_by);

ALTER TABLE conversations ADD COLUMN created_by TEXT NOT NULL DEFAULT 'owner';
CREATE INDEX conversations_created_by ON conversations (created_by);

ALTER TABLE relationships ADD COLUMN updated_by TEXT;
ALTER TABLE interactions ADD COLUMN created_by TEXT;
ALTER TABLE emotional_history ADD COLUMN created_by TEXT;
