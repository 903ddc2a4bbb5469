"""SQL for provider_keys: sealed keys, their masked hints and which master key sealed them."""

from __future__ import annotations

from core.store import Store
from core.store.port import Row

__all__ = ["KeyRepository"]


class KeyRepository:
    """Rows of provider_keys (never a key in the clear)."""

    def __init__(self, db: Store) -> None:
        self._db = db

    async def put(self, row: tuple[object, ...], now: str) -> str | None:
        """Store (name, provider, base_url, hint, master_key_id, nonce, ciphertext); the
        created_at of the key it replaced, or None when it is new."""
        async with self._db.transaction() as con:
            cursor = await con.execute("SELECT created_at FROM provider_keys WHERE name = ?", (row[0],))
            existing = await cursor.fetchone()
            await con.execute(
                "INSERT INTO provider_keys (name, provider, base_url, hint, master_key_id, nonce, "
                "ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET "
                "provider = excluded.provider, base_url = excluded.base_url, hint = excluded.hint, "
                "master_key_id = excluded.master_key_id, nonce = excluded.nonce, "
                "ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                (*row, now, now),
            )
        return str(existing[0]) if existing else None

    async def listed(self) -> list[Row]:
        return await self._db.fetch_all(
            "SELECT name, provider, base_url, hint, master_key_id, created_at, updated_at "
            "FROM provider_keys ORDER BY name"
        )

    async def names(self) -> list[str]:
        return [
            row["name"] for row in await self._db.fetch_all("SELECT name FROM provider_keys ORDER BY name")
        ]

    async def remove(self, name: str) -> bool:
        async with self._db.transaction() as con:
            cursor = await con.execute("DELETE FROM provider_keys WHERE name = ?", (name,))
            return bool(cursor.rowcount > 0)

    async def sealed(self, name: str) -> Row | None:
        return await self._db.fetch_one(
            "SELECT provider, master_key_id, nonce, ciphertext FROM provider_keys WHERE name = ?", (name,)
        )

    async def reseal(self, name: str, master_key_id: str, nonce: bytes, sealed: bytes) -> None:
        async with self._db.transaction() as con:
            await con.execute(
                "UPDATE provider_keys SET master_key_id = ?, nonce = ?, ciphertext = ? WHERE name = ?",
                (master_key_id, nonce, sealed, name),
            )
