-- persona-mcp schema, version 4: relationships that move, and who witnessed what.

-- 1 when the type was set explicitly (relationship.update type=...): interactions no longer move it.
ALTER TABLE relationships ADD COLUMN type_locked INTEGER NOT NULL DEFAULT 0;

-- Each interaction records where it left the relationship, so its trajectory can be read back.
ALTER TABLE interactions ADD COLUMN type_after TEXT;
ALTER TABLE interactions ADD COLUMN affinity_after REAL;
ALTER TABLE interactions ADD COLUMN trust_after REAL;
ALTER TABLE interactions ADD COLUMN familiarity_after REAL;
CREATE INDEX interactions_time ON interactions (created_at);

-- The personas present when a message was said. A persona's context holds only these messages.
CREATE TABLE message_witnesses (
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (persona_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_witnesses_message ON message_witnesses (message_id);
INSERT INTO message_witnesses (persona_id, message_id)
    SELECT p.persona_id, m.id FROM messages m
    JOIN conversation_participants p ON p.conversation_id = m.conversation_id;

-- Personas other than its owner who may recall a memory: present when it was made, or told later.
CREATE TABLE memory_witnesses (
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    memory_id  TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    how        TEXT NOT NULL CHECK (how IN ('present', 'told')),
    at         TEXT NOT NULL,
    PRIMARY KEY (persona_id, memory_id)
) WITHOUT ROWID;
CREATE INDEX memory_witnesses_memory ON memory_witnesses (memory_id);
INSERT INTO memory_witnesses (persona_id, memory_id, how, at)
    SELECT p.persona_id, m.id, 'present', m.created_at FROM memories m
    JOIN conversation_participants p ON p.conversation_id = m.conversation_id
    WHERE p.persona_id != m.persona_id;
