"""Parse untrusted persona files (cards, YAML, JSON, base64) within fixed limits.

Everything an import reads passes through here, so a hostile file fails with a clear InvalidInput
instead of exhausting memory or time: sizes are capped before parsing, YAML anchors (the
"billion laughs" bomb) are refused, and parsed documents are walked once for depth and size.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

import orjson
import yaml

from core.errors import InvalidInput

__all__ = ["MAX_CONTENT_BYTES", "MAX_DEPTH", "MAX_NODES", "decode_base64", "load_json", "load_yaml"]

MAX_CONTENT_BYTES = 32 * 1024 * 1024  # a stateful export with a large memory bundle fits; a bomb does not
MAX_DEPTH = 48  # cards nest five or six levels; SillyTavern extensions a few more
MAX_NODES = 500_000  # values in one document (a memory bundle is one string, not one node per memory)
_SCALARS = (str, int, float, bool, type(None), datetime.date)  # what orjson can store (date: YAML's)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _too_big(argument: str, size: int, what: str) -> InvalidInput:
    return InvalidInput(
        argument,
        f"<{size:,} bytes>",
        f"{what} is larger than the {MAX_CONTENT_BYTES // 2**20} MiB an import accepts.",
    )


def decode_base64(text: str, argument: str, what: str = "content") -> bytes:
    """Strict base64 (standard or URL-safe alphabet, whitespace allowed) to bytes."""
    if len(text) > MAX_CONTENT_BYTES * 4 // 3 + 4:
        raise _too_big(argument, len(text), what)
    compact = "".join(text.split())
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact.encode("ascii"))
        return base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidInput(
            argument, text, f"{what} is not valid base64: encode the file's bytes with base64."
        ) from None


def check_shape(document: Any, argument: str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH or holding more than MAX_NODES values."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InvalidInput(
                argument, "<document>", f"it holds more than {MAX_NODES:,} values; split it or trim it."
            )
        if depth > MAX_DEPTH:
            raise InvalidInput(
                argument, "<document>", f"it nests deeper than {MAX_DEPTH} levels; no persona file does."
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInput(argument, key, "mapping keys must be text; quote the key.")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
            raise InvalidInput(argument, value, "numbers must fit in 64 bits.")
        elif not isinstance(value, _SCALARS):
            raise InvalidInput(
                argument, value, f"a {type(value).__name__} cannot be stored; use text, numbers or lists."
            )


def load_json(data: bytes | str, argument: str, what: str = "content") -> Any:
    """Parse JSON text within the limits."""
    size = len(data)
    if size > MAX_CONTENT_BYTES:
        raise _too_big(argument, size, what)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(argument, data, f"{what} is not valid JSON ({exc}).") from None
    check_shape(document, argument)
    return document


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: persona files never need them, bombs do."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise yaml.YAMLError(f"aliases (*{event.anchor}) are not accepted in persona files")
        if getattr(event, "anchor", None):
            raise yaml.YAMLError(f"anchors (&{event.anchor}) are not accepted in persona files")
        return super().compose_node(parent, index)


def load_yaml(text: str, argument: str, what: str = "content") -> Any:
    """Parse YAML (safe subset, no anchors or aliases) within the limits."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONTENT_BYTES:
        raise _too_big(argument, size, what)
    try:
        document = yaml.load(text, Loader=_NoAliasLoader)
    except RecursionError:
        raise InvalidInput(argument, text, f"{what} nests too deeply to be a persona file.") from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise InvalidInput(argument, text, f"{what} is not valid YAML: {reason}.") from None
    check_shape(document, argument)
    return document
