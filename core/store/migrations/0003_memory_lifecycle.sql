-- persona-mcp schema, version 3: what decay, emotion stamps and pruning need.

-- Decay is computed from timestamps: `strength` is `anchor_strength` decayed over the time since
-- `anchor_at` (the last store, access or forced decay), so a run at the same instant changes
-- nothing and a server that was off for a week catches up exactly. `decayed_at` records when
-- `strength` was last brought up to date.
ALTER TABLE memories ADD COLUMN anchor_at TEXT;
ALTER TABLE memories ADD COLUMN anchor_strength REAL NOT NULL DEFAULT 1.0
    CHECK (anchor_strength BETWEEN 0 AND 1);
ALTER TABLE memories ADD COLUMN decayed_at TEXT;
UPDATE memories SET anchor_at = coalesce(last_accessed_at, updated_at), anchor_strength = strength;

-- The persona's emotional state when the memory was encoded, and how vivid the memory is
-- (0-1: the feeling in its words and the persona's arousal at the time; vivid memories fade slower).
ALTER TABLE memories ADD COLUMN emotion_valence REAL CHECK (emotion_valence BETWEEN -1 AND 1);
ALTER TABLE memories ADD COLUMN emotion_arousal REAL CHECK (emotion_arousal BETWEEN 0 AND 1);
ALTER TABLE memories ADD COLUMN emotion_label TEXT;
ALTER TABLE memories ADD COLUMN emotional_intensity REAL NOT NULL DEFAULT 0
    CHECK (emotional_intensity BETWEEN 0 AND 1);

-- Every run of decay or pruning (by hand or in the background), for decay_stats and prune_stats.
CREATE TABLE maintenance_runs (
    id           INTEGER PRIMARY KEY,
    task         TEXT NOT NULL CHECK (task IN ('decay', 'prune')),
    trigger      TEXT NOT NULL,                  -- tool, background, size
    persona_id   TEXT,                           -- null: every persona
    dry_run      INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    examined     INTEGER NOT NULL DEFAULT 0,
    changed      INTEGER NOT NULL DEFAULT 0,     -- memories decayed, or archived
    safety_stops INTEGER NOT NULL DEFAULT 0,     -- personas where a safety limit held pruning back
    error        TEXT                            -- set when the run failed (nothing it did was kept)
);
CREATE INDEX maintenance_runs_task ON maintenance_runs (task, started_at);
