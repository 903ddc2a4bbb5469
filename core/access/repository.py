"""SQL for principals, persona grants and the audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from core.access.policy import Level
from core.store.port import Row, Store

__all__ = ["AccessRepository", "audit", "has_principals"]


def has_principals(database: Path, database_url: str | None = None) -> bool:
    """Whether the database (if it exists yet) holds a principal with a live token: read at start,
    before the store opens, to decide whether a server may listen beyond loopback. With a
    PostgreSQL URL, that database is asked instead of the SQLite file."""
    if database_url is not None:
        import psycopg

        try:
            with psycopg.connect(database_url, connect_timeout=10) as connection:
                found = connection.execute(
                    "SELECT count(*) FROM principals WHERE revoked_at IS NULL"
                ).fetchone()
        except psycopg.Error:  # no schema yet, or unreachable (serving will say so)
            return False
        return bool(found and found[0])
    if not database.exists():
        return False
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT count(*) FROM principals WHERE revoked_at IS NULL").fetchone()
    except sqlite3.Error:  # no principals table yet (an older schema), or unreadable
        return False
    return bool(row and row[0])


async def audit(
    tx: aiosqlite.Connection,
    at: str,
    principal: str,
    action: str,
    target_kind: str,
    target_id: str,
    detail: str | None = None,
) -> None:
    """One audit_log row, written in the caller's transaction (so it commits with the change)."""
    await tx.execute(
        "INSERT INTO audit_log (at, principal, action, target_kind, target_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, principal, action, target_kind, target_id, detail),
    )


class AccessRepository:
    """Reads and writes of principals, persona_grants and audit_log."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def principal(self, name: str) -> Row | None:
        return await self._db.fetch_one("SELECT * FROM principals WHERE name = ?", (name,))

    async def by_token(self, token_hash: str) -> Row | None:
        return await self._db.fetch_one(
            "SELECT * FROM principals WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
        )

    async def by_subject(self, subject: str) -> Row | None:
        return await self._db.fetch_one(
            "SELECT * FROM principals WHERE subject = ? AND revoked_at IS NULL", (subject,)
        )

    async def principals(self) -> list[Row]:
        return await self._db.fetch_all("SELECT * FROM principals ORDER BY name")

    async def any_token(self) -> bool:
        """Whether any principal has a live token (then HTTP requests must carry one)."""
        return bool(await self._db.scalar("SELECT count(*) FROM principals WHERE revoked_at IS NULL"))

    async def put_principal(self, row: dict[str, Any], at: str, by: str) -> None:
        """Insert the principal, or give a revoked one of that name a new life (and token)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO principals (name, admin, token_hash, subject, created_at, created_by) "
                "VALUES (:name, :admin, :token_hash, :subject, :at, :by) "
                "ON CONFLICT (name) DO UPDATE SET admin = :admin, token_hash = :token_hash, "
                "subject = :subject, created_at = :at, created_by = :by, revoked_at = NULL",
                {**row, "at": at, "by": by},
            )
            await audit(
                tx, at, by, "principal_add", "principal", row["name"], "admin" if row["admin"] else None
            )

    async def revoke(self, name: str, at: str, by: str) -> bool:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE principals SET revoked_at = ?, token_hash = NULL, subject = NULL "
                "WHERE name = ? AND revoked_at IS NULL",
                (at, name),
            )
            if cursor.rowcount:
                await audit(tx, at, by, "principal_revoke", "principal", name)
            return bool(cursor.rowcount)

    async def grant(self, persona_id: str, principal: str) -> Level | None:
        row = await self._db.fetch_one(
            "SELECT level FROM persona_grants WHERE persona_id = ? AND principal = ?", (persona_id, principal)
        )
        return row[0] if row else None

    async def grants(self, principal: str | None = None, persona_id: str | None = None) -> list[Row]:
        clauses, params = [], []
        if principal is not None:
            clauses.append("principal = ?")
            params.append(principal)
        if persona_id is not None:
            clauses.append("persona_id = ?")
            params.append(persona_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._db.fetch_all(
            f"SELECT * FROM persona_grants {where} ORDER BY principal, persona_id", params
        )

    async def put_grant(self, persona_id: str, principal: str, level: Level | None, at: str, by: str) -> bool:
        """Set (or with level None remove) a grant; whether anything changed."""
        async with self._db.transaction() as tx:
            if level is None:
                cursor = await tx.execute(
                    "DELETE FROM persona_grants WHERE persona_id = ? AND principal = ?",
                    (persona_id, principal),
                )
            else:
                cursor = await tx.execute(
                    "INSERT INTO persona_grants (persona_id, principal, level, granted_at, granted_by) "
                    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (persona_id, principal) DO UPDATE "
                    "SET level = ?3, granted_at = ?4, granted_by = ?5 WHERE persona_grants.level != ?3",
                    (persona_id, principal, level, at, by),
                )
            if cursor.rowcount:
                action = "ungrant" if level is None else f"grant_{level}"
                await audit(tx, at, by, action, "persona", persona_id, principal)
            return bool(cursor.rowcount)

    async def owned(self, principal: str) -> list[str]:
        rows = await self._db.fetch_all("SELECT id FROM personas WHERE owner = ? ORDER BY id", (principal,))
        return [row[0] for row in rows]

    async def audit_log(self, limit: int, principal: str | None = None) -> list[Row]:
        where, params = ("WHERE principal = ?", [principal]) if principal else ("", [])
        return await self._db.fetch_all(
            f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
