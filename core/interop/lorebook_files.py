"""Lorebook files, both ways: SillyTavern World Info, `lorebook_v3`, a bare character_book, or the
book inside a character card, read into a Lorebook; a Lorebook written back as World Info or
`lorebook_v3` without losing a value (core/world_info.py and lore_codec.py keep what the typed
fields do not say)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field, ValidationError

from core.errors import InvalidInput
from core.interop.coerce import Reader
from core.interop.lore_codec import book_from_card, book_to_card
from core.interop.safe_load import load_json, load_yaml
from core.lorebook import Lorebook
from core.personas.lorebooks import LorebookImported, LorebookService
from core.personas.service import PersonaService
from core.world_info import as_lorebook, lorebook_shape, to_world_info

__all__ = [
    "LOREBOOK_FORMATS",
    "LorebookExport",
    "LorebookFile",
    "LorebookFormat",
    "LorebookTransfer",
    "read_lorebook",
    "write_lorebook",
]

LorebookFormat = Literal["world_info", "lorebook_v3"]
LOREBOOK_FORMATS: tuple[LorebookFormat, ...] = ("world_info", "lorebook_v3")
_ARG = "content"


@dataclass
class LorebookFile:
    """A lorebook read from a file: the book, the shape it came in, and what had to be coerced."""

    book: Lorebook
    format: str  # world_info, lorebook_v3, character_book, or card_v2/card_v3 (the card's own book)
    warnings: list[str] = field(default_factory=list)


def _document(content: str | dict[str, Any]) -> Any:
    if isinstance(content, dict):
        return content
    text = content.strip()
    if not text:
        raise InvalidInput(_ARG, content, "it is empty: pass a World Info or lorebook_v3 file (JSON).")
    return load_json(text, _ARG) if text.startswith(("{", "[")) else load_yaml(text, _ARG)


def read_lorebook(content: str | dict[str, Any]) -> LorebookFile:
    """The lorebook in `content`: a World Info file, a lorebook_v3 file, a character_book object,
    or a character card with a book (its book is taken)."""
    document = _document(content)
    reader = Reader(_ARG)
    if not isinstance(document, dict):
        raise InvalidInput(_ARG, document, "a lorebook file holds one object (World Info or lorebook_v3).")
    shape: str | None = lorebook_shape(document)
    if shape == "world_info":
        try:
            return LorebookFile(Lorebook.model_validate(as_lorebook(document)), shape)
        except ValidationError as exc:
            raise InvalidInput.from_validation(exc, prefix=_ARG) from None
    if shape == "lorebook_v3":
        data = document.get("data")
        if not isinstance(data, dict):
            raise InvalidInput(f"{_ARG}.data", data, "a lorebook_v3 file keeps its book under data.")
        book, where = data, "data"
    elif isinstance(document.get("entries"), list):
        book, where, shape = document, "book", "character_book"
    elif isinstance(document.get("data"), dict) and isinstance(document["data"].get("character_book"), dict):
        spec = str(document.get("spec") or "chara_card_v2").removeprefix("chara_")
        book, where, shape = document["data"]["character_book"], "data.character_book", spec
        reader.warn(f"took the lorebook of the character card ({document['data'].get('name') or 'unnamed'})")
    else:
        raise InvalidInput(
            _ARG,
            sorted(document)[:8],
            "this is not a lorebook: expected SillyTavern World Info ({entries: {uid: entry}}), "
            "lorebook_v3 ({spec: 'lorebook_v3', data: {...}}), a character_book ({entries: [...]}) "
            "or a character card with a character_book.",
        )
    parsed = book_from_card(book, where, reader)
    assert parsed is not None  # book is a dict here
    return LorebookFile(parsed, shape, reader.warnings)


def write_lorebook(book: Lorebook, fmt: LorebookFormat) -> dict[str, Any]:
    """`book` as a World Info or lorebook_v3 document."""
    if fmt == "world_info":
        return to_world_info(book.model_dump(mode="json"))
    return {"spec": "lorebook_v3", "data": book_to_card(book, v3=True)}


class LorebookExport(BaseModel):
    """A lorebook written as a file."""

    lorebook_id: str | None = Field(description="None for a persona's own card book.")
    name: str
    format: LorebookFormat
    entries: int
    filename: str
    content: str = Field(description="The file's text (JSON).")


class LorebookTransfer:
    """Lorebook files in and out of the store: read, store, attach; read, write."""

    def __init__(self, lorebooks: LorebookService, personas: PersonaService) -> None:
        self._lorebooks = lorebooks
        self._personas = personas

    async def import_file(
        self,
        content: str | dict[str, Any],
        name: str | None = None,
        lorebook_id: str | None = None,
        attach: list[str] | None = None,
    ) -> LorebookImported:
        """Read a lorebook file, store it (a repeat import finds the stored one) and attach it to
        the personas named (each needs write access, checked before anything is stored)."""
        parsed = read_lorebook(content)
        for index, persona_id in enumerate(attach or []):
            await self._personas.get_for(persona_id, "write", "lorebook_attach", f"attach[{index}]")
        stored = await self._lorebooks.add(parsed.book, parsed.format, name, lorebook_id, parsed.warnings)
        for persona_id in attach or []:
            await self._lorebooks.attach(stored.id, persona_id=persona_id)
        if attach:
            stored.personas = sorted({*stored.personas, *attach})
        return stored

    async def export(
        self, lorebook_id: str | None, fmt: LorebookFormat, persona_id: str | None = None
    ) -> LorebookExport:
        """A stored book (or, with persona_id, a persona's own card book) as a file."""
        if (lorebook_id is None) == (persona_id is None):
            raise InvalidInput(
                "lorebook_id",
                lorebook_id,
                "Name exactly one of lorebook_id (a stored book) or persona_id (that persona's card book).",
            )
        if persona_id is not None:
            persona = await self._personas.get(persona_id)
            if persona.lorebook is None:
                raise InvalidInput("persona_id", persona_id, "That persona's card has no lorebook.")
            book, name, stem = (
                persona.lorebook,
                persona.lorebook.name or f"{persona.name}'s lorebook",
                persona.id,
            )
        else:
            detail = await self._lorebooks.get(str(lorebook_id))
            book, name, stem = detail.book, detail.name, detail.id
        document = write_lorebook(book, fmt)
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
        suffix = "json" if fmt == "world_info" else "lorebook.json"
        return LorebookExport(
            lorebook_id=lorebook_id,
            name=name,
            format=fmt,
            entries=len(book.entries),
            filename=f"{stem}.{suffix}",
            content=text,
        )
