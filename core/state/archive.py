"""The state archive file: a ZIP of named parts with a manifest (format and app version, sha256 of
every part), optionally encrypted as a whole.

Encrypted layout: MAGIC, one JSON header line (format version, cipher, KDF and its parameters,
salt, nonce), then AES-256-GCM ciphertext of the ZIP. The key comes from the passphrase through
scrypt; the header is authenticated as associated data, so changing any byte of the file (header
or body), a wrong passphrase or a cut-off file all fail the same check.

Opening is bounded before any work is done: the file's size, the manifest's size, each part's and
all parts' unpacked sizes (and the free disk they are unpacked to), the part names, and scrypt's
parameters (only those this version writes, so a crafted header cannot ask for hours of CPU or
gigabytes of memory). Parts are streamed to files, never held in memory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import InvalidInput, MissingInput
from core.files import open_regular

__all__ = ["FORMAT_VERSION", "MAGIC", "MAX_ARCHIVE_BYTES", "Archive", "pack", "unpack"]

FORMAT = "persona-mcp-state"
FORMAT_VERSION = 1
MAGIC = b"PERSONA-MCP-STATE-ENCRYPTED\n"
MANIFEST = "manifest.json"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # about 0.1 s and 32 MiB per derivation: slow to guess
# What a header may ask of scrypt: the parameters this version writes, or up to 4x the cost for
# archives from a later one (n = 2**17: ~0.4 s, 128 MiB). Nothing else is tried.
_SCRYPT_N = (2**14, 2**15, 2**16, 2**17)
_SCRYPT_R = 8
_SCRYPT_P = 1
MAX_ARCHIVE_BYTES = 8 * 2**30  # the file; far above the state of 100k memories (~300 MB)
_MAX_ENCRYPTED_BYTES = 2**31 - 1  # AES-GCM in one piece (the cryptography library's limit)
MAX_PART_BYTES = 16 * 2**30  # one unpacked part
MAX_TOTAL_BYTES = 16 * 2**30  # all unpacked parts together
_MAX_MANIFEST_BYTES = 2**20
_FREE_MARGIN = 64 * 2**20  # unpacking leaves this much disk free
_PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CHUNK = 2**20
_SALT_BYTES = 16
_NONCE_BYTES = 12


@dataclass
class Archive:
    """An archive's manifest and its verified parts, unpacked to files."""

    manifest: dict[str, Any]
    parts: dict[str, Path]
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
    if header.get("cipher") != "AES-256-GCM" or header.get("kdf") != "scrypt":
        raise InvalidInput(
            argument, "<archive>", "The archive uses a cipher or KDF this version does not know."
        )
    if n not in _SCRYPT_N or r != _SCRYPT_R or p != _SCRYPT_P or len(salt) != _SALT_BYTES:
        raise InvalidInput(
            argument,
            f"<scrypt n={n} r={r} p={p}>",
            "The archive's key parameters are outside what persona-mcp writes (n 2^14-2^17, r 8, p 1): "
            "it was not made by state_save, or its header was changed.",
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


def unpack(path: Path, passphrase: str | None, scratch: Path, argument: str = "path") -> Archive:
    """Open the archive file `path`: decrypt if needed, check the manifest's format, and stream
    every part into the folder `scratch`, checking its sha256 and every size limit on the way."""
    source: IO[bytes] = open_regular(path, MAX_ARCHIVE_BYTES, argument)
    encrypted = source.read(len(MAGIC)) == MAGIC
    source.seek(0)
    if encrypted:
        with source:
            if os.fstat(source.fileno()).st_size > _MAX_ENCRYPTED_BYTES:
                raise InvalidInput(
                    argument, str(path), "An encrypted archive is at most 2 GiB; this one is larger."
                )
            data = source.read()
        source = io.BytesIO(_decrypt(data, passphrase, argument))
        del data
    try:
        with zipfile.ZipFile(source) as archive:
            manifest, listed = _manifest(archive, argument)
            parts = _extract(archive, listed, scratch, argument)
    except (zipfile.BadZipFile, KeyError, EOFError, orjson.JSONDecodeError, zipfile.LargeZipFile, zlib.error):
        raise InvalidInput(
            argument, "<archive>", "The archive is damaged or cut short (it is not a complete ZIP)."
        ) from None
    finally:
        source.close()
    return Archive(manifest=manifest, parts=parts, encrypted=encrypted)


def _manifest(archive: zipfile.ZipFile, argument: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if archive.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
        raise InvalidInput(
            argument, MANIFEST, "The archive's manifest is larger than any this server writes."
        )
    manifest = orjson.loads(archive.read(MANIFEST))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(argument, "<archive>", "This is not a persona-mcp state archive.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _newer(argument, version if isinstance(version, int) else -1)
    listed = manifest.get("parts")
    if not isinstance(listed, dict):
        raise InvalidInput(argument, "<archive>", "The archive's manifest lists no parts.")
    return manifest, listed


def _extract(
    archive: zipfile.ZipFile, listed: dict[str, Any], scratch: Path, argument: str
) -> dict[str, Path]:
    """Each listed part, streamed to a file in `scratch` within the size limits."""
    infos = {}
    for name in listed:
        if not isinstance(name, str) or not _PART_NAME.fullmatch(name) or not isinstance(listed[name], dict):
            raise InvalidInput(argument, name, "The manifest names a part this server never writes.")
        infos[name] = archive.getinfo(name)
        if infos[name].file_size > MAX_PART_BYTES:
            raise InvalidInput(argument, name, "A part is larger than any state this server writes.")
    total = sum(info.file_size for info in infos.values())
    if total > MAX_TOTAL_BYTES:
        raise InvalidInput(argument, "<archive>", "Its parts are larger than any state this server writes.")
    free = shutil.disk_usage(scratch).free - _FREE_MARGIN
    if total > free:
        raise InvalidInput(
            argument,
            "<archive>",
            f"Unpacking it needs {total >> 20:,} MiB and {scratch} has {max(0, free) >> 20:,} MiB free.",
        )
    parts = {}
    for name, info in infos.items():
        target = scratch / name
        digest = hashlib.sha256()
        written = 0
        with archive.open(info) as part, open(target, "wb") as out:
            while chunk := part.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:  # more than the ZIP declared: a crafted entry
                    raise InvalidInput(argument, name, "A part is larger than the archive says.")
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != listed[name].get("sha256"):
            raise InvalidInput(
                argument, name, "A part of the archive fails its sha256 check: the file was changed."
            )
        parts[name] = target
    return parts
