"""Provider keys (BYOK): stored sealed, listed masked, never returned in full by a tool.

Each key is encrypted with AES-256-GCM under the master key (master.py) with a fresh 96-bit
nonce; its name and provider are bound in as associated data, so a sealed value cannot be moved
to another name. SQLite holds only the ciphertext, a masked hint and the fingerprint of the
master key that sealed it, so a backup never carries a key in the clear.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import anyio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, Field

from core.access import require_admin
from core.clock import Clock, iso
from core.errors import Hidden, InvalidInput, NotFound, Unavailable
from core.keys.master import MasterKey, from_env_text, key_file
from core.keys.repository import KeyRepository
from core.redact import remember
from core.store import Store

__all__ = ["KeyInfo", "KeyList", "KeyRemoved", "KeyService", "mask"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_VALUE = re.compile(r"[\x21-\x7e]{8,4096}")  # printable ASCII, no spaces: header-safe
_URL = re.compile(r"https?://[^\s]{1,490}")
_NONCE_BYTES = 12


def mask(value: str) -> str:
    """What may be shown of a key: its well-known prefix and last four characters at most."""
    if len(value) >= 20:
        return f"{value[:3]}…{value[-4:]}"
    if len(value) >= 12:
        return f"…{value[-2:]}"
    return "…"


class KeyInfo(BaseModel):
    """A stored provider key, as keys_list shows it: never the key itself."""

    name: str
    provider: str
    base_url: str | None
    masked: str = Field(description="Prefix and last characters only, to tell keys apart.")
    readable: bool = Field(description="Whether the current master key opens it.")
    created_at: str
    updated_at: str


class KeyList(BaseModel):
    keys: list[KeyInfo]
    master_key: str = Field(
        description="Where the master key comes from: PERSONA_MCP_MASTER_KEY, a key file, or none yet."
    )


class KeySet(KeyInfo):
    replaced: bool = Field(description="True when a key of this name existed and was overwritten.")


class KeyRemoved(BaseModel):
    name: str
    removed: bool


def _hidden(value: str) -> Hidden:
    """How an error shows an argument of a key: its length only."""
    return Hidden(f"({len(value)} characters, hidden)")


def _seal(master: MasterKey, name: str, provider: str, value: str) -> tuple[bytes, bytes]:
    """A fresh nonce and the key sealed under the master key, its name and provider bound in."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce, AESGCM(master.key).encrypt(nonce, value.encode(), _aad(name, provider))


def _aad(name: str, provider: str) -> bytes:
    return f"persona-mcp provider key v1\0{name}\0{provider}".encode()


class KeyService:
    """keys_set / keys_list / keys_remove, and `reveal` for the code that calls a provider."""

    def __init__(self, db: Store, clock: Clock, master_env: str | None, master_file: Path) -> None:
        self._repo = KeyRepository(db)
        self._clock = clock
        self._master_env = master_env
        self._master_file = master_file
        self._master: MasterKey | None = None
        self._lock = anyio.Lock()

    async def _master_key(self, create: bool) -> MasterKey | None:
        async with self._lock:
            if self._master is None:
                if self._master_env is not None:
                    self._master = await anyio.to_thread.run_sync(from_env_text, self._master_env)
                else:
                    self._master = await anyio.to_thread.run_sync(key_file, self._master_file, create)
            return self._master

    def _source(self) -> str:
        if self._master_env is not None:
            return "PERSONA_MCP_MASTER_KEY"
        return f"key file {self._master_file}" if self._master_file.exists() else "none yet"

    async def set(self, name: str, value: str, provider: str | None, base_url: str | None) -> KeySet:
        """Store (or replace) the key `name`."""
        require_admin("keys_set")
        value = value.strip()
        # A key pasted into the wrong argument must not come back in an error: no argument of a
        # key is ever echoed, only its length.
        if not _NAME.fullmatch(name):
            raise InvalidInput(
                "name", _hidden(name), "Use 1-64 lowercase letters, digits, '.', '_' or '-', e.g. 'openai'."
            )
        provider = name if provider is None else provider
        if not _NAME.fullmatch(provider):
            raise InvalidInput(
                "provider", _hidden(provider), "Use a short lowercase name such as 'openai' or 'ollama'."
            )
        if not _VALUE.fullmatch(value):
            # the value itself is never echoed, not even in an error
            raise InvalidInput(
                "value",
                _hidden(value),
                "Give the key as issued: 8-4096 printable characters without spaces or line breaks.",
            )
        if base_url is not None and not _URL.fullmatch(base_url):
            raise InvalidInput(
                "base_url",
                _hidden(base_url),
                "Give an http:// or https:// URL, e.g. https://api.openai.com/v1.",
            )
        remember(value)
        hint = mask(value)
        master = await self._master_key(create=True)
        assert master is not None
        nonce, sealed = _seal(master, name, provider, value)
        now = iso(self._clock.now())
        existing = await self._repo.put((name, provider, base_url, hint, master.key_id, nonce, sealed), now)
        created = existing or now
        return KeySet(
            name=name,
            provider=provider,
            base_url=base_url,
            masked=hint,
            readable=True,
            created_at=created,
            updated_at=now,
            replaced=existing is not None,
        )

    async def list(self) -> KeyList:
        """Every stored key, masked, with whether the current master key opens it."""
        require_admin("keys_list")
        rows = await self._repo.listed()
        master = await self._master_key(create=False) if rows else None
        keys = [
            KeyInfo(
                name=row["name"],
                provider=row["provider"],
                base_url=row["base_url"],
                masked=row["hint"],
                readable=master is not None and master.opening(row["master_key_id"]) is not None,
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]
        return KeyList(keys=keys, master_key=self._source())

    async def remove(self, name: str) -> KeyRemoved:
        """Delete the key `name` for good."""
        require_admin("keys_remove")
        if not await self._repo.remove(name):
            known = await self._repo.names()
            listed = f"stored: {', '.join(known)}" if known else "none are stored"
            raise NotFound("provider key", _hidden(name), f"Give one keys_list shows ({listed}).")
        return KeyRemoved(name=name, removed=True)

    async def reveal(self, name: str) -> str | None:
        """The key `name` in the clear, for a provider call; None when no such key is stored."""
        row = await self._repo.sealed(name)
        if row is None:
            return None
        master = await self._master_key(create=False)
        key = master.opening(row["master_key_id"]) if master is not None else None
        if master is None or key is None:
            raise Unavailable(
                f"The provider key {name!r} was sealed with a different master key than this server has "
                "(PERSONA_MCP_MASTER_KEY or the master.key file): restore that key, or keys_set it again."
            )
        try:
            plain = AESGCM(key).decrypt(row["nonce"], row["ciphertext"], _aad(name, row["provider"]))
        except InvalidTag:
            raise Unavailable(
                f"The stored provider key {name!r} fails its integrity check (altered in the database): "
                "keys_set it again."
            ) from None
        value = plain.decode()
        remember(value)
        if key != master.key:  # sealed under the old reading of PERSONA_MCP_MASTER_KEY: seal it anew
            await self._reseal(name, row["provider"], value, master)
        return value

    async def _reseal(self, name: str, provider: str, value: str, master: MasterKey) -> None:
        nonce, sealed = _seal(master, name, provider, value)
        await self._repo.reseal(name, master.key_id, nonce, sealed)
