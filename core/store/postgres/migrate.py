"""PostgreSQL migrations: numbered SQL files, each applied in its own transaction and recorded
in schema_migrations, under a session advisory lock, so any number of processes may start
together against one database: the first applies what is missing, the others wait and then find
nothing to do.

A file may say `{fts_config}`: the text search configuration (`english`, `simple` for text that
is not English...), checked against the server's pg_ts_config before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import InvalidInput

__all__ = ["LOCK_KEY", "MIGRATIONS_DIR", "migrate", "migrations"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_lock's key for migrating (any fixed 64-bit number; this one spells "persona-mcp").
LOCK_KEY = 0x7065_7273_6F6E_61
_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def migrations(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    """The numbered migration files, in order."""
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


async def migrate(conninfo: str, fts_config: str = "english", directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Bring the database at `conninfo` to the newest schema; the versions this call applied."""
    import psycopg  # the postgres extra; imported here so SQLite-only installs never need it

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as con:
        known = await con.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (fts_config,))
        if await known.fetchone() is None:
            names = await con.execute("SELECT cfgname FROM pg_ts_config ORDER BY cfgname")
            choices = ", ".join(str(row[0]) for row in await names.fetchall())
            raise InvalidInput(
                "PERSONA_MCP_FTS_CONFIG",
                fts_config,
                f"Name a text search configuration of the server: {choices}.",
            )
        await con.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            await con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row[0]
                for row in await (await con.execute("SELECT version FROM schema_migrations")).fetchall()
            }
            applied = []
            for version, path in migrations(directory):
                if version in done:
                    continue
                script = path.read_text(encoding="utf-8").replace("{fts_config}", fts_config)
                async with con.transaction():
                    await con.execute(script.encode())
                    await con.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.name)
                    )
                applied.append(version)
            return applied
        finally:
            await con.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
