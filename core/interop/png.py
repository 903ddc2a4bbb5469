"""PNG files as card carriers: read and write the tEXt chunks cards live in (`chara`, `ccv3`).

Only the chunk layer is handled (signature, lengths, CRCs, tEXt); image data is never decoded, so a
hostile image cannot become a decompression bomb. Every problem is an InvalidInput that says what
is wrong with the file.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator, Mapping

from core.errors import InvalidInput
from core.interop.safe_load import MAX_CONTENT_BYTES

__all__ = ["PNG_SIGNATURE", "blank_png", "is_png", "text_chunks", "with_text_chunks"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_CHUNK = 24 * 1024 * 1024  # a card with a large memory bundle fits; more is not a card
_MAX_CHUNKS = 100_000
_BLANK_SIZE = 64  # pixels per side of the image made when none is given


def is_png(data: bytes) -> bool:
    """Whether the bytes start with the PNG signature."""
    return data.startswith(PNG_SIGNATURE)


def _chunks(png: bytes, argument: str) -> Iterator[tuple[bytes, bytes, int, int]]:
    """(type, data, start, end) of each chunk, checked: lengths, CRCs, IHDR first, IEND last."""
    if len(png) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            argument, f"<{len(png):,} bytes>", f"the PNG exceeds {MAX_CONTENT_BYTES // 2**20} MiB."
        )
    if not is_png(png):
        raise InvalidInput(argument, png[:16], "this is not a PNG file (its signature is wrong).")
    offset, count = len(PNG_SIGNATURE), 0
    while True:
        if offset + 12 > len(png):
            raise InvalidInput(argument, "<png>", "the PNG is truncated: it ends before its IEND chunk.")
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        if length > 2**31 - 1:
            raise InvalidInput(argument, length, "a PNG chunk declares an impossible length.")
        if not kind.isalpha():
            raise InvalidInput(argument, kind, "a PNG chunk has an invalid type: the file is damaged.")
        if kind in (b"tEXt", b"iTXt", b"zTXt") and length > MAX_TEXT_CHUNK:
            raise InvalidInput(
                argument,
                f"<{length:,} bytes>",
                f"a {kind.decode()} chunk is larger than {MAX_TEXT_CHUNK // 2**20} MiB.",
            )
        end = offset + 12 + length
        if end > len(png):
            raise InvalidInput(argument, f"<{kind.decode()} chunk>", "the PNG is truncated inside a chunk.")
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            raise InvalidInput(
                argument, f"<{kind.decode()} chunk>", "a PNG chunk fails its CRC check: the file is damaged."
            )
        if count == 0 and kind != b"IHDR":
            raise InvalidInput(argument, kind, "the PNG does not start with an IHDR chunk.")
        count += 1
        if count > _MAX_CHUNKS:
            raise InvalidInput(argument, count, f"the PNG has more than {_MAX_CHUNKS:,} chunks.")
        yield kind, data, offset, end
        if kind == b"IEND":
            return
        offset = end


def text_chunks(png: bytes, argument: str = "content") -> dict[str, str]:
    """The tEXt chunks of a PNG, keyword -> text (the first one wins for a repeated keyword)."""
    found: dict[str, str] = {}
    for kind, data, _, _ in _chunks(png, argument):
        if kind != b"tEXt":
            continue
        keyword, separator, text = data.partition(b"\0")
        if not separator or not 1 <= len(keyword) <= 79:
            raise InvalidInput(argument, keyword[:79], "a tEXt chunk has no valid keyword.")
        found.setdefault(keyword.decode("latin-1"), text.decode("latin-1"))
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_text_chunks(png: bytes, chunks: Mapping[str, str], argument: str = "image") -> bytes:
    """The PNG with these tEXt chunks (ASCII text) placed before IEND, replacing any of the same
    keyword; every other chunk is kept byte for byte."""
    parts = [PNG_SIGNATURE]
    for kind, data, start, end in _chunks(png, argument):
        if kind == b"tEXt" and data.partition(b"\0")[0].decode("latin-1") in chunks:
            continue
        if kind == b"IEND":
            parts.extend(_chunk(b"tEXt", f"{key}\0{text}".encode("ascii")) for key, text in chunks.items())
        parts.append(png[start:end])
    return b"".join(parts)


def blank_png(seed: str) -> bytes:
    """A small valid PNG: a soft two-colour gradient picked from `seed` (the persona's name)."""
    digest = hashlib.sha256(seed.encode()).digest()
    top, bottom = digest[:3], digest[3:6]
    rows = bytearray()
    for y in range(_BLANK_SIZE):
        mix = y / (_BLANK_SIZE - 1)
        pixel = bytes(int(a + (b - a) * mix) // 2 + 96 for a, b in zip(top, bottom, strict=True))
        rows += b"\0" + pixel * _BLANK_SIZE  # filter type 0, then RGB pixels
    header = struct.pack(">IIBBBBB", _BLANK_SIZE, _BLANK_SIZE, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
