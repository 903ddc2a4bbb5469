"""State archives on SQLite: a consistent snapshot of the live database (online backup), its
checks (integrity, foreign keys, schema version), and copying a validated snapshot back into the
live database, in one transaction: replace or merge.

Runs on its own sqlite3 connection (in a worker thread) with the snapshot ATTACHed as `src`;
SQLite's locking serialises it with the server's writer, so it is safe while the server runs.
Foreign keys are checked at COMMIT (deferred), so a bad snapshot rolls back whole.

merge keeps the newer row of everything that has an `updated_at` (personas, memories,
relationships, emotional states, conversations, settings), adds join rows that are missing, and
adds history rows (messages, interactions, emotional history) that are not already there by
content, with new ids. Maintenance runs stay local. replace makes the database the snapshot.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Literal

from core.errors import InvalidInput

__all__ = [
    "COUNTED",
    "TABLES",
    "apply_snapshot",
    "check_snapshot",
    "count_rows",
    "live_counts",
    "table_columns",
    "take_snapshot",
]

# Parents before children.
TABLES = (
    "settings",
    "principals",
    "personas",
    "persona_grants",
    "memories",
    "memory_vectors",
    "memory_tokens",
    "memory_witnesses",
    "relationships",
    "interactions",
    "emotional_states",
    "emotional_history",
    "conversations",
    "conversation_participants",
    "messages",
    "message_witnesses",
    "maintenance_runs",
    "provider_keys",
    "lorebooks",
    "lorebook_links",
    "persona_files",
    "imported_items",
)
COUNTED = ("personas", "memories", "relationships", "emotional_states", "conversations", "messages")
_NEWER = {
    "settings": ("key",),
    "personas": ("id",),
    "memories": ("id",),
    "relationships": ("party_a", "party_b"),
    "emotional_states": ("persona_id",),
    "conversations": ("id",),
    "provider_keys": ("name",),
    "lorebooks": ("id",),
}
# Rows kept as they are here when both sides have them (a principal's token is this server's).
_JOINS = (
    "memory_witnesses",
    "conversation_participants",
    "principals",
    "persona_grants",
    "lorebook_links",
    "persona_files",
    "imported_items",
)
# History rows are the same row when these match (their integer ids differ between machines).
_HISTORY = {
    "interactions": ("party_a", "party_b", "created_at", "kind"),
    "emotional_history": ("persona_id", "created_at", "reason"),
    "messages": ("conversation_id", "created_at", "role", "persona_id", "content"),
    "audit_log": ("at", "principal", "action", "target_kind", "target_id"),
}


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """The columns of a table of the main database, in order."""
    return [row[1] for row in con.execute(f"PRAGMA main.table_info({table})")]


def count_rows(con: sqlite3.Connection, schema: str = "main") -> dict[str, int]:
    """Rows of the tables a user cares about, plus archived memories."""
    counts = {
        table: int(con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]) for table in COUNTED
    }
    archived = con.execute(f"SELECT count(*) FROM {schema}.memories WHERE archived_at IS NOT NULL").fetchone()
    counts["archived_memories"] = int(archived[0])
    return counts


def _same(columns: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{c} IS {right}.{c}" for c in columns)


def _add_history(con: sqlite3.Connection, table: str) -> int:
    """Add the archive's rows of a history table that are not here yet."""
    cols = [c for c in table_columns(con, table) if c != "id"]
    listed = ", ".join(cols)
    cursor = con.execute(
        f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM src.{table} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM main.{table} m WHERE {_same(_HISTORY[table], 'm', 's')})"
    )
    return cursor.rowcount


def _merge(con: sqlite3.Connection) -> dict[str, int]:
    written: dict[str, int] = {}
    for table, key in _NEWER.items():
        cols = table_columns(con, table)
        listed = ", ".join(cols)
        same = _same(key, "m", "s")
        newer = f"NOT EXISTS (SELECT 1 FROM main.{table} m WHERE {same} AND m.updated_at >= s.updated_at)"
        con.execute(
            f"CREATE TEMP TABLE taken_{table} AS SELECT {', '.join(key)} FROM src.{table} s WHERE {newer}"
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in key)
        picked = f"({', '.join(key)}) IN (SELECT {', '.join(key)} FROM temp.taken_{table})"
        cursor = con.execute(
            f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM src.{table} WHERE {picked} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
        written[table] = cursor.rowcount
    taken = "SELECT id FROM temp.taken_memories"
    for table in ("memory_vectors", "memory_tokens"):  # derived from each taken row's content
        listed = ", ".join(table_columns(con, table))
        con.execute(f"DELETE FROM main.{table} WHERE memory_id IN ({taken})")
        con.execute(
            f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM src.{table} "
            f"WHERE memory_id IN ({taken})"
        )
    con.execute(f"UPDATE main.memories SET indexed_at = NULL WHERE id IN ({taken})")
    for table in _JOINS:
        listed = ", ".join(table_columns(con, table))
        cursor = con.execute(
            f"INSERT OR IGNORE INTO main.{table} ({listed}) SELECT {listed} FROM src.{table}"
        )
        written[table] = cursor.rowcount
    for table in _HISTORY:
        written[table] = _add_history(con, table)
    cursor = con.execute(
        "INSERT OR IGNORE INTO main.message_witnesses (persona_id, message_id) "
        "SELECT w.persona_id, m.id FROM src.message_witnesses w JOIN src.messages s ON s.id = w.message_id "
        f"JOIN main.messages m ON {_same(_HISTORY['messages'], 'm', 's')}"
    )
    written["message_witnesses"] = cursor.rowcount
    return written


def _replace(con: sqlite3.Connection) -> dict[str, int]:
    for table in reversed(TABLES):
        con.execute(f"DELETE FROM main.{table}")
    written = {}
    for table in TABLES:
        listed = ", ".join(table_columns(con, table))
        written[table] = con.execute(
            f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM src.{table}"
        ).rowcount
    con.execute("UPDATE main.memories SET indexed_at = NULL")
    written["audit_log"] = _add_history(con, "audit_log")  # the audit log only ever grows
    return written


def _clamp_future(con: sqlite3.Connection, now: str) -> None:
    """No row of the snapshot claims a change later than this server's clock: one stamped in the
    future (a skewed or tampered clock) would otherwise win every later merge."""
    for table in _NEWER:
        con.execute(f"UPDATE src.{table} SET updated_at = ? WHERE updated_at > ?", (now, now))


def apply_snapshot(live: Path, snapshot: Path, mode: Literal["merge", "replace"], now: str) -> dict[str, int]:
    """Copy the snapshot (a scratch copy: its future `updated_at` stamps are clamped to `now`)
    into the live database in one transaction; rows written per table."""
    con = sqlite3.connect(live, timeout=60, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("ATTACH DATABASE ? AS src", (str(snapshot),))
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("PRAGMA defer_foreign_keys = ON")
            _clamp_future(con, now)
            written = _replace(con) if mode == "replace" else _merge(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return written
    finally:
        con.close()


def take_snapshot(source: Path, target: Path) -> tuple[dict[str, int], bytes]:
    """A consistent copy of the live database (SQLite's online backup): its row counts and bytes."""
    with closing(sqlite3.connect(source, timeout=60)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        counts = count_rows(dst)
    return counts, target.read_bytes()


def check_snapshot(path: Path, newest: int) -> int:
    """The snapshot's schema version, after SQLite's own integrity and foreign-key checks."""
    try:
        with closing(sqlite3.connect(path)) as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            broken = con.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(
            "path", "<archive>", f"Its database part is not a usable SQLite file ({exc})."
        ) from None
    if integrity != "ok":
        raise InvalidInput("path", "<archive>", f"Its database fails SQLite's integrity check: {integrity}.")
    if broken:
        raise InvalidInput("path", "<archive>", f"Its database has {len(broken)} broken references.")
    if version > newest:
        raise InvalidInput(
            "path",
            f"<schema {version}>",
            f"The archive comes from a newer persona-mcp (schema {version}; this one knows {newest}). "
            "Upgrade to load it.",
        )
    return version


def live_counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path, timeout=60)) as con:
        return count_rows(con)
