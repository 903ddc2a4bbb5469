"""The state archive file: a ZIP of named parts with a manifest (format and app version, sha256 of
every part), optionally encrypted as a whole.

Encrypted layout: MAGIC, one JSON header line (format version, cipher, KDF and its parameters,
salt, nonce), then AES-256-GCM ciphertext of the ZIP. The key comes from the passphrase through
scrypt; the header is authenticated as associated data, so changing any byte of the file (header
or body), a wrong passphrase or a cut-off file all fail the same check.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import InvalidInput, MissingInput

__all__ = ["FORMAT_VERSION", "MAGIC", "Archive", "pack", "unpack"]

FORMAT = "persona-mcp-state"
FORMAT_VERSION = 1
MAGIC = b"PERSONA-MCP-STATE-ENCRYPTED\n"
MANIFEST = "manifest.json"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # about 0.1 s and 32 MiB per derivation: slow to guess
_MAX_SCRYPT_N = 2**20
MAX_PART_BYTES = 16 * 2**30  # a guard against ZIP bombs, far above any real database
_SALT_BYTES = 16
_NONCE_BYTES = 12


@dataclass
class Archive:
    """An archive's manifest and its verified parts."""

    manifest: dict[str, Any]
    parts: dict[str, bytes]
    encrypted: bool


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def pack(manifest: dict[str, Any], parts: dict[str, bytes], passphrase: str | None) -> bytes:
    """The archive file's bytes: the manifest gains the format and each part's sha256 and size."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "parts": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in parts.items()
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        for name, data in parts.items():
            archive.writestr(name, data)
    plain = buffer.getvalue()
    if passphrase is None:
        return plain
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    header = orjson.dumps(
        {
            "format_version": FORMAT_VERSION,
            "cipher": "AES-256-GCM",
            "kdf": "scrypt",
            **_SCRYPT,
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
        }
    )
    aad = MAGIC + header + b"\n"
    return aad + AESGCM(_key(passphrase, salt, **_SCRYPT)).encrypt(nonce, plain, aad)


def _decrypt(data: bytes, passphrase: str | None, argument: str) -> bytes:
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise InvalidInput(argument, "<archive>", "The encrypted archive's header is cut off.")
    try:
        header = orjson.loads(data[len(MAGIC) : end])
        version = int(header["format_version"])
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        salt, nonce = base64.b64decode(header["salt"]), base64.b64decode(header["nonce"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InvalidInput(argument, "<archive>", "The encrypted archive's header is damaged.") from None
    if version > FORMAT_VERSION:
        raise _newer(argument, version)
    if header.get("cipher") != "AES-256-GCM" or header.get("kdf") != "scrypt" or not 2 <= n <= _MAX_SCRYPT_N:
        raise InvalidInput(
            argument, "<archive>", "The archive uses a cipher or KDF this version does not know."
        )
    if passphrase is None:
        raise MissingInput("passphrase", "The archive is encrypted: give the passphrase it was saved with.")
    try:
        return AESGCM(_key(passphrase, salt, n, r, p)).decrypt(nonce, data[end + 1 :], data[: end + 1])
    except (InvalidTag, ValueError):
        raise InvalidInput(
            "passphrase",
            "<hidden>",
            "Decryption failed: the passphrase is wrong, or the file was changed or cut short.",
        ) from None


def _newer(argument: str, version: int) -> InvalidInput:
    return InvalidInput(
        argument,
        f"<format version {version}>",
        f"The archive was written by a newer persona-mcp (format {version}; this one reads up to "
        f"{FORMAT_VERSION}). Upgrade persona-mcp to load it.",
    )


def unpack(data: bytes, passphrase: str | None, argument: str = "path") -> Archive:
    """Open an archive: decrypt if needed, check the manifest's format and every part's sha256."""
    encrypted = data.startswith(MAGIC)
    plain = _decrypt(data, passphrase, argument) if encrypted else data
    try:
        with zipfile.ZipFile(io.BytesIO(plain)) as archive:
            manifest = orjson.loads(archive.read(MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise InvalidInput(argument, "<archive>", "This is not a persona-mcp state archive.")
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise _newer(argument, version if isinstance(version, int) else -1)
            listed = manifest.get("parts")
            if not isinstance(listed, dict):
                raise InvalidInput(argument, "<archive>", "The archive's manifest lists no parts.")
            for info in archive.infolist():
                if info.file_size > MAX_PART_BYTES:
                    raise InvalidInput(
                        argument, info.filename, "A part is larger than any state this server writes."
                    )
            parts = {name: archive.read(name) for name in listed}
    except (zipfile.BadZipFile, KeyError, EOFError, orjson.JSONDecodeError, zipfile.LargeZipFile, zlib.error):
        raise InvalidInput(
            argument, "<archive>", "The archive is damaged or cut short (it is not a complete ZIP)."
        ) from None
    for name, data_ in parts.items():
        expected = listed[name].get("sha256") if isinstance(listed[name], dict) else None
        if hashlib.sha256(data_).hexdigest() != expected:
            raise InvalidInput(
                argument, name, "A part of the archive fails its sha256 check: the file was changed."
            )
    return Archive(manifest=manifest, parts=parts, encrypted=encrypted)
