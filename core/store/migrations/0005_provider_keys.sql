-- persona-mcp schema, version 5: provider keys (BYOK), sealed with AES-256-GCM under the master key.
-- Only the ciphertext is stored; `hint` is the masked form keys.list shows.
CREATE TABLE provider_keys (
    name          TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    base_url      TEXT,
    hint          TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    nonce         BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) WITHOUT ROWID;
