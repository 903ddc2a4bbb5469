-- persona-mcp schema, version 6: word-piece vectors for late-interaction ranking (core/memory/late.py).

-- The signs of each word piece's contextual vector (dimension/8 bytes per piece), from the same model
-- and pass as the memory's vector. Derived data: rebuilt from the content whenever the model changes.
CREATE TABLE memory_tokens (
    memory_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    model_id  TEXT NOT NULL,
    pieces    BLOB NOT NULL,
    PRIMARY KEY (memory_id, model_id)
) WITHOUT ROWID;

-- The model of a memory's word-piece vectors (NULL: none yet). Memories written before this version,
-- or while the embedder gave no word pieces, are filled in by the background catch-up.
ALTER TABLE memories ADD COLUMN token_model TEXT;
CREATE INDEX memories_token_model ON memories (token_model);

-- Memories stored without a conversation, in store order (rowid) per persona: the turns before and
-- after one are index seeks (neighbours.py). Ordering by created_at instead scanned every memory
-- stored in the same second (a batch shares one timestamp): 50 ms for 200 lookups at 20k memories.
CREATE INDEX memories_sitting ON memories (persona_id) WHERE conversation_id IS NULL AND archived_at IS NULL;
