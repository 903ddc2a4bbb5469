"""Persona files: recognise and read any supported format, and write each one.

Formats: Character Card V2 and V3 JSON, cards inside PNG files (tEXt `chara` for V2, `ccv3` for
V3, base64 JSON), CharX archives (charx.py), V1 cards (read only), and our own YAML and JSON (a
persona's fields plus `id` and an optional `state`). Reading never trusts the file: see
safe_load.py, png.py and charx.py for the limits.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
import yaml

from core.errors import InvalidInput
from core.interop.cards import (
    CardSpec,
    card_document,
    card_spec_of,
    read_card,
    v2_backfill,
    with_v1_mirror,
)
from core.interop.charx import embedded_paths, is_charx, read_charx, write_charx
from core.interop.coerce import Reader
from core.interop.png import blank_png, is_png, text_chunks, with_text_chunks
from core.interop.safe_load import decode_base64, load_json, load_yaml
from core.models import Persona, PersonaSpec
from core.world_info import lorebook_shape

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "ExportFormat",
    "ImportFormat",
    "ParsedPersona",
    "parse",
    "render",
]

ImportFormat = Literal["auto", "card_v2", "card_v3", "yaml", "json", "png", "charx"]
ExportFormat = Literal["card_v2", "card_v3", "yaml", "json", "png", "charx"]
IMPORT_FORMATS: tuple[str, ...] = ImportFormat.__args__  # type: ignore[attr-defined]
EXPORT_FORMATS: tuple[str, ...] = ExportFormat.__args__  # type: ignore[attr-defined]
_PNG_BASE64 = "iVBORw0KGgo"  # how every base64-encoded PNG starts
_ZIP_BASE64 = "UEsDB"  # and every zip (a CharX)
PNG_FILE = "card.png"  # the name a PNG card's own image is kept under
_DATA_URL = "data:image/png;base64,"
_ARG = "content"


@dataclass
class ParsedPersona:
    """A persona file, read: its fields (not yet validated), and what came with them."""

    fields: dict[str, Any]
    format: str  # what was detected, e.g. "card_v3 (png)"
    persona_id: str | None = None
    state: Any = None
    warnings: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # what the container held besides the card


def _png_card(png: bytes) -> Any:
    chunks = text_chunks(png, _ARG)
    key = "ccv3" if "ccv3" in chunks else "chara" if "chara" in chunks else None
    if key is None:
        raise InvalidInput(
            _ARG, "<png>", "the PNG carries no character card (no 'chara' or 'ccv3' tEXt chunk)."
        )
    raw = decode_base64(chunks[key], _ARG, f"the PNG's '{key}' chunk")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(_ARG, raw[:40], f"the PNG's '{key}' chunk is not UTF-8 JSON.") from None
    return load_json(text, _ARG, f"the card in the PNG's '{key}' chunk")


def _document(content: str, fmt: ImportFormat) -> tuple[Any, str, dict[str, bytes]]:
    text = content.strip()
    if not text:
        raise InvalidInput(_ARG, content, "it is empty: pass the card JSON, YAML, or a base64 PNG.")
    if fmt == "png" or text.startswith((_PNG_BASE64, _DATA_URL)):
        png = decode_base64(text.removeprefix(_DATA_URL), _ARG, "the PNG")
        if not is_png(png):
            raise InvalidInput(_ARG, text, "this is not a PNG file (its signature is wrong).")
        return _png_card(png), "png", {PNG_FILE: png}
    if fmt == "charx" or text.startswith(_ZIP_BASE64):
        archive = decode_base64(text, _ARG, "the CharX")
        if not is_charx(archive):
            raise InvalidInput(_ARG, text, "this is not a CharX file (a zip archive).")
        card, members = read_charx(archive, _ARG)
        return card, "charx", members
    if fmt in ("json", "card_v2", "card_v3") or text.startswith(("{", "[")):
        return load_json(text, _ARG), "json", {}
    return load_yaml(text, _ARG), "yaml", {}


def parse(content: str, fmt: ImportFormat = "auto") -> ParsedPersona:
    """Read a persona file of any supported format (auto-detected unless `fmt` says)."""
    document, container, files = _document(content, fmt)
    if not isinstance(document, dict):
        raise InvalidInput(_ARG, document, "a persona file holds one object (a card, or a persona's fields).")
    shape = lorebook_shape(document)
    if shape is not None:
        kind = "lorebook_v3" if shape == "lorebook_v3" else "SillyTavern World Info"
        raise InvalidInput(
            _ARG,
            kind,
            f"this is a lorebook ({kind}), not a persona: import it with lorebook_import (or "
            "`persona-mcp import FILE`) to attach it to personas, or give it as a persona's own book: "
            "persona_update(persona_id, changes={lorebook: <the file>}).",
        )
    spec = card_spec_of(document)
    wanted = {"card_v2": "v2", "card_v3": "v3"}.get(fmt)
    if wanted is not None and spec not in (wanted, "v1" if wanted == "v2" else None):
        found = f"a card_{spec} card" if spec else "not a character card"
        raise InvalidInput("format", fmt, f"the content is {found}; omit format to detect it.")
    if fmt in ("yaml", "json") and spec is not None:
        raise InvalidInput(
            "format", fmt, f"the content is a card_{spec} character card; use format=card_{spec}."
        )
    if spec is not None:
        card = read_card(document, spec, Reader(_ARG))
        detected = f"card_{spec}" + (f" ({container})" if container in ("png", "charx") else "")
        warnings = list(card.warnings)
        missing = [path for path in embedded_paths(document) if container == "charx" and path not in files]
        if missing:
            warnings.append(f"the CharX lacks asset file(s) its card names: {', '.join(missing[:5])}")
        return ParsedPersona(card.fields, detected, card.persona_id, card.state, warnings, files)
    fields = dict(document)
    persona_id = fields.pop("id", None)
    state = fields.pop("state", None)
    if persona_id is not None and not isinstance(persona_id, str):
        raise InvalidInput(f"{_ARG}.id", persona_id, "an id is text, e.g. 'aria'.")
    return ParsedPersona(fields, container, persona_id, state, files=files)


def _native(persona: Persona, state: dict[str, Any] | None) -> dict[str, Any]:
    fields = persona.model_dump(mode="json", include=set(PersonaSpec.model_fields), exclude_defaults=True)
    document = {"id": persona.id, **fields}
    if state is not None:
        document["state"] = state
    return document


def render(
    persona: Persona,
    fmt: ExportFormat,
    now: datetime,
    state: dict[str, Any] | None = None,
    card_spec: CardSpec = "v3",
    image: bytes | None = None,
    files: dict[str, bytes] | None = None,
) -> str:
    """The persona as a file of format `fmt` (text; base64 for png and charx). `files` are what
    its card came with (a PNG's image, a CharX's members): written back as they were."""
    files = files or {}
    if fmt == "yaml":
        return yaml.safe_dump(_native(persona, state), sort_keys=False, allow_unicode=True, width=100)
    if fmt == "json":
        return orjson.dumps(_native(persona, state), option=orjson.OPT_INDENT_2).decode()
    if fmt in ("card_v2", "card_v3"):
        card = card_document(persona, "v2" if fmt == "card_v2" else "v3", now, state)
        return orjson.dumps(card, option=orjson.OPT_INDENT_2).decode()
    if fmt == "charx":
        card = card_document(persona, "v3", now, state)
        members = {path: data for path, data in files.items() if path != PNG_FILE}
        return base64.b64encode(write_charx(card, members, files.get(PNG_FILE) or image)).decode("ascii")
    card = card_document(persona, card_spec, now, state)
    image = image if image is not None else files.get(PNG_FILE)
    chunks = (
        {"ccv3": _b64(card), "chara": _b64(v2_backfill(card))}
        if card_spec == "v3"
        else {"chara": _b64(with_v1_mirror(card))}
    )
    png = with_text_chunks(image if image is not None else blank_png(persona.name), chunks, "image")
    return base64.b64encode(png).decode("ascii")


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(orjson.dumps(card)).decode("ascii")
