-- persona-mcp schema, version 11: what was imported from elsewhere (a SillyTavern chat, a ChatGPT
-- or Claude export, the MCP memory server's file), one row per message, fact or conversation of
-- the source, whether it became a memory or the write gate passed it over. Importing the same
-- file again finds every item here and adds nothing.
CREATE TABLE imported_items (
    persona_id      TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    item            TEXT NOT NULL,
    memory_id       TEXT,
    conversation_id TEXT,
    imported_at     TEXT NOT NULL,
    PRIMARY KEY (persona_id, source, item)
) WITHOUT ROWID;
