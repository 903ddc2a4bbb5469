-- persona-mcp schema, version 10: the files a card came in besides its text. A PNG card's image
-- (with every chunk it had) and a CharX archive's assets, module.risum and x_meta files are kept
-- byte for byte, so an export writes them back as they were. Removed with the persona.
CREATE TABLE persona_files (
    persona_id  TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (persona_id, path)
) WITHOUT ROWID;
