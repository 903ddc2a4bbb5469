-- persona-mcp schema, version 9: lorebooks as their own objects ("knowledge packs"). A book is
-- imported once and attached to any number of personas and conversations; a persona's own card
-- book stays in its spec. `digest` (SHA-256 of the book's content) makes a second import of the
-- same file by the same owner find the first.
CREATE TABLE lorebooks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    book        TEXT NOT NULL,
    format      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX lorebooks_owner ON lorebooks (owner, digest);

-- Where a book applies: a persona (every chat it has) or a conversation (every persona in it).
-- Exactly one of persona_id and conversation_id is set; deleting either side removes the row.
CREATE TABLE lorebook_links (
    lorebook_id     TEXT NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
    persona_id      TEXT REFERENCES personas (id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    attached_at     TEXT NOT NULL,
    attached_by     TEXT NOT NULL,
    CHECK ((persona_id IS NULL) <> (conversation_id IS NULL))
);
CREATE UNIQUE INDEX lorebook_links_persona ON lorebook_links (persona_id, lorebook_id)
    WHERE persona_id IS NOT NULL;
CREATE UNIQUE INDEX lorebook_links_conversation ON lorebook_links (conversation_id, lorebook_id)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX lorebook_links_book ON lorebook_links (lorebook_id);
