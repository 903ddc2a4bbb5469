"""The master key that seals provider keys.

From PERSONA_MCP_MASTER_KEY when set: 32 random bytes written as canonical base64 (standard or
URL-safe, padded or not) or as 64 hex digits are used as they are; any other text (16 characters
or more) is a passphrase, stretched with scrypt. Versions before 0.2 also took text that merely
decoded to 32 bytes once characters such as '-' were dropped (a passphrase like
"correct-horse-battery-staple-...") as a raw key: keys sealed that way are still opened, and
sealed anew under the stretched key when next used. Otherwise from a key file
(default <data dir>/master.key) holding 32 random bytes as base64, created on first use with
0600 permissions; a key file others can read is refused, as ssh refuses such a private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from core.errors import Unavailable

__all__ = ["KEY_BYTES", "MasterKey", "from_env_text", "key_file"]

KEY_BYTES = 32
_ENV_SALT = b"persona-mcp master key v1"
_ENV_SOURCE = "PERSONA_MCP_MASTER_KEY"


def _key_id(key: bytes) -> str:
    return hmac.new(key, b"persona-mcp master key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    key: bytes = b""
    source: str = ""  # PERSONA_MCP_MASTER_KEY, or the key file's path
    # What versions before 0.2 made of the same PERSONA_MCP_MASTER_KEY text, when that differs:
    # only ever used to open keys it sealed.
    legacy: bytes | None = None

    @property
    def key_id(self) -> str:
        """A fingerprint naming this key without revealing it: which key sealed which secret."""
        return _key_id(self.key)

    def opening(self, key_id: str) -> bytes | None:
        """The key that opens what the key `key_id` sealed: this one, its legacy reading, or None."""
        if key_id == self.key_id:
            return self.key
        if self.legacy is not None and key_id == _key_id(self.legacy):
            return self.legacy
        return None

    def __repr__(self) -> str:  # never print the key itself
        return f"MasterKey(source={self.source!r}, key_id={self.key_id!r})"


def _raw_key(text: str) -> bytes | None:
    """32 bytes when `text` is exactly such a key: 64 hex digits, or canonical base64 (standard or
    URL-safe alphabet, with or without its padding). Nothing is skipped or repaired."""
    if len(text) == 2 * KEY_BYTES and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    for alphabet in (b"+/", b"-_"):
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
        encoded = base64.b64encode(raw, altchars=alphabet).decode()
        if len(raw) == KEY_BYTES and text in (encoded, encoded.rstrip("=")):
            return raw
    return None


def _lax_raw_key(text: str) -> bytes | None:
    """How versions before 0.2 read the text: base64 decoding that skipped unknown characters."""
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    return None


def from_env_text(text: str) -> MasterKey:
    """The master key PERSONA_MCP_MASTER_KEY gives (scrypt takes about 0.1 s for a passphrase)."""
    text = text.strip()
    raw = _raw_key(text)
    if raw is not None:
        return MasterKey(raw, _ENV_SOURCE)
    stretched = hashlib.scrypt(
        text.encode(), salt=_ENV_SALT, n=2**15, r=8, p=1, maxmem=64 * 2**20, dklen=KEY_BYTES
    )
    return MasterKey(stretched, _ENV_SOURCE, legacy=_lax_raw_key(text))


def _read_key_file(path: Path) -> MasterKey:
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Unavailable(
            f"The master key file {path} can be read by other users (mode {stat.filemode(mode)}): "
            f"run `chmod 600 {path}`; provider keys stay sealed until then."
        )
    raw = _raw_key(path.read_text(encoding="ascii", errors="replace").strip())
    if raw is None:
        raise Unavailable(
            f"The master key file {path} does not hold a key (32 bytes as base64). Restore it from your "
            "copy; without it the stored provider keys cannot be read (keys_set them again)."
        )
    return MasterKey(raw, str(path))


def key_file(path: Path, create: bool) -> MasterKey | None:
    """The key in `path`; when it does not exist, a new one (if `create`) or None."""
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key_file(path)
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return _read_key_file(path)
