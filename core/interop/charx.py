"""CharX files (`.charx`, RisuAI's and the V3 spec's zip): `card.json` (a V3 card) beside the
assets it names (`embeded://assets/...`), and optionally `module.risum` and `x_meta/*.json`.

Reading never trusts the archive: the same 32 MiB limit as a PNG card for the file and for all it
unpacks to (counted while reading, not taken from the headers), at most 10,000 members, no member
that expands more than 200 times (a zip bomb), no encrypted member, no path that climbs out
(`..`, absolute, backslashes), no member twice. Everything but card.json is kept byte for byte, so
an export writes the archive back with the same assets, module and metadata."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from core.errors import InvalidInput
from core.interop.png import blank_png
from core.interop.safe_load import MAX_CONTENT_BYTES, load_json

__all__ = [
    "CARD_MEMBER",
    "EMBEDDED",
    "MAX_MEMBERS",
    "embedded_paths",
    "is_charx",
    "read_charx",
    "write_charx",
]

CARD_MEMBER = "card.json"
EMBEDDED = "embeded://"  # RisuAI's spelling, which the format keeps
MAX_MEMBERS = 10_000
_MAX_RATIO = 200  # uncompressed / compressed, past which a member is a bomb, not an asset
_RATIO_FLOOR = 1024 * 1024  # small members may compress as well as they like
_ZIP_SIGNATURE = b"PK\x03\x04"
_ICON = "assets/icon/image/main.png"
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # archives we write are the same bytes for the same content
# What a damaged archive raises from the zip and zlib modules (headers, streams, CRCs, methods).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    NotImplementedError,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    struct.error,
)


def is_charx(data: bytes) -> bool:
    """Whether the bytes start like a zip archive."""
    return data.startswith(_ZIP_SIGNATURE)


def _safe_name(name: str, argument: str) -> str:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or any(part in ("..", ".") for part in parts)
        or (len(parts[0]) == 2 and parts[0][1] == ":")
    ):
        raise InvalidInput(argument, name, "the CharX holds a member whose path is unsafe; it was not read.")
    return name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, argument: str) -> bytes:
    """A member's bytes, read in pieces and stopped as soon as it passes its declared size or the
    budget left (headers can lie)."""
    limit = min(info.file_size, budget)
    parts, total = [], 0
    with archive.open(info) as member:
        while piece := member.read(65_536):
            total += len(piece)
            if total > limit:
                raise InvalidInput(
                    argument,
                    info.filename,
                    f"the CharX unpacks to more than {MAX_CONTENT_BYTES // 2**20} MiB, or a member is larger "
                    "than its header says; it was not read.",
                )
            parts.append(piece)
    return b"".join(parts)


def read_charx(data: bytes, argument: str = "content") -> tuple[Any, dict[str, bytes]]:
    """The card document in card.json and every other member (path -> bytes)."""
    if len(data) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            argument, f"<{len(data):,} bytes>", f"the CharX exceeds {MAX_CONTENT_BYTES // 2**20} MiB."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _DAMAGED as exc:
        raise InvalidInput(argument, data[:8], f"this is not a readable CharX (zip) file: {exc}.") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            count = f"<{len(infos):,} members>"
            raise InvalidInput(argument, count, f"a CharX holds at most {MAX_MEMBERS:,}.")
        seen: set[str] = set()
        budget = MAX_CONTENT_BYTES
        members: dict[str, bytes] = {}
        for info in infos:
            name = _safe_name(info.filename, argument)
            if name in seen:
                raise InvalidInput(argument, name, "the CharX holds this member twice; it was not read.")
            seen.add(name)
            if info.flag_bits & 0x1:
                raise InvalidInput(argument, name, "the CharX has an encrypted member; it was not read.")
            if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_RATIO * max(1, info.compress_size):
                bomb = f"a CharX member expands more than {_MAX_RATIO} times (a zip bomb); it was not read."
                raise InvalidInput(argument, name, bomb)
            try:
                members[name] = _read_member(archive, info, budget, argument)
            except _DAMAGED as exc:
                raise InvalidInput(argument, name, f"a CharX member cannot be read: {exc}.") from None
            budget -= len(members[name])
    raw = members.pop(CARD_MEMBER, None)
    if raw is None:
        raise InvalidInput(argument, sorted(members)[:5], "the CharX has no card.json at its root.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(argument, raw[:40], "the CharX's card.json is not UTF-8.") from None
    return load_json(text, argument, "the CharX's card.json"), members


def embedded_paths(card: Mapping[str, Any]) -> list[str]:
    """The archive paths a card's assets point at (`embeded://...` or a plain relative path)."""
    data = card.get("data")
    assets = data.get("assets") if isinstance(data, Mapping) else None
    paths = []
    for asset in assets if isinstance(assets, list) else []:
        uri = asset.get("uri") if isinstance(asset, Mapping) else None
        if isinstance(uri, str) and (uri.startswith(EMBEDDED) or ":" not in uri):
            paths.append(uri.removeprefix(EMBEDDED))
    return paths


def write_charx(card: dict[str, Any], members: Mapping[str, bytes], icon: bytes | None = None) -> bytes:
    """A CharX archive: card.json and the members as they were. With no icon asset among them, the
    card gets one (`icon`, else a plain image), as readers expect a main icon."""
    members = dict(members)
    data = card.setdefault("data", {})
    assets = data.get("assets") if isinstance(data.get("assets"), list) else []
    if not any(isinstance(a, dict) and a.get("type") == "icon" for a in assets):
        members.setdefault(_ICON, icon if icon is not None else blank_png(str(data.get("name") or "card")))
        asset = {"type": "icon", "uri": f"{EMBEDDED}{_ICON}", "name": "main", "ext": "png"}
        data["assets"] = [*assets, asset]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        card_json = orjson.dumps(card, option=orjson.OPT_INDENT_2)
        for name, content in [(CARD_MEMBER, card_json), *members.items()]:
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
