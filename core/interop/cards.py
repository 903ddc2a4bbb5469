"""Character Cards (V1, V2 `chara_card_v2`, V3 `chara_card_v3`) <-> persona fields.

Every card field has a persona field (see _TEXT, _LISTS and _V3), so nothing is lost either way.
What a card cannot hold (traits, interests, aliases, mood baseline...) travels in
`extensions.persona_mcp.persona`, which plain card readers ignore; a stateful export adds
`extensions.persona_mcp.state`. Fields no spec defines are kept under
`extensions.persona_mcp.unknown_fields` (inside `data`) or `unknown_card_fields` (beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.interop.coerce import Reader
from core.interop.lore_codec import (
    OWN_EXTENSION,
    WRITTEN,
    book_from_card,
    book_to_card,
    keep_unknown,
    restore_unknown,
)
from core.models import Persona
from core.personas.decorators import parse_decorators

__all__ = [
    "CARD_FIELDS",
    "OWN_FIELDS",
    "V3_BACKFILL_NOTE",
    "CardImport",
    "CardSpec",
    "card_document",
    "card_spec_of",
    "read_card",
    "v2_backfill",
    "with_v1_mirror",
]

CardSpec = Literal["v2", "v3"]
SPEC_NAMES: dict[CardSpec, str] = {"v2": "chara_card_v2", "v3": "chara_card_v3"}
_VERSIONS: dict[CardSpec, str] = {"v2": "2.0", "v3": "3.0"}
V3_BACKFILL_NOTE = (
    "This character card is Character Card V3, but it is loaded as a Character Card V2. Please use a "
    "Character Card V3 compatible application to use this character card properly."
)
# card field -> persona field
_TEXT = {
    "name": "name",
    "description": "description",
    "personality": "personality",
    "scenario": "scenario",
    "first_mes": "first_message",
    "mes_example": "example_dialogue",
    "creator_notes": "creator_notes",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "creator": "creator",
    "character_version": "character_version",
}
_LISTS = {"alternate_greetings": "alternate_greetings", "tags": "tags"}
_V3 = ("nickname", "creator_notes_multilingual", "source", "group_only_greetings", "creation_date", "assets")
_V2_DATA = (*_TEXT, *_LISTS, "character_book", "extensions")
_V3_DATA = (*_V2_DATA, *_V3, "modification_date")
# Persona fields a card has no place for: they travel in extensions.persona_mcp.persona.
OWN_FIELDS = (
    "aliases", "traits", "speaking_style", "interests", "knowledge_domains", "backstory", "values",
    "talkativeness", "emotional_baseline", "llm",
)  # fmt: skip
CARD_FIELDS = (*_TEXT.values(), *_LISTS.values(), *_V3, "lorebook", "extensions")
# The old TavernAI / Pygmalion names a V1 card may use.
_V1_NAMES = {
    "char_name": "name",
    "char_persona": "description",
    "world_scenario": "scenario",
    "char_greeting": "first_mes",
    "example_dialogue": "mes_example",
}
_V1_BACKFILL = ("name", "description", "personality", "scenario", "first_mes", "mes_example")


@dataclass
class CardImport:
    """What a card holds, as persona fields (not yet validated), plus what rides along."""

    fields: dict[str, Any]
    spec: str  # "v1", "v2" or "v3"
    persona_id: str | None
    state: dict[str, Any] | None
    warnings: list[str]


def card_spec_of(document: Any) -> str | None:
    """'v2' or 'v3' for a card object, 'v1' for a spec-less card, None for anything else."""
    if not isinstance(document, dict):
        return None
    spec = document.get("spec")
    if spec == "chara_card_v3":
        return "v3"
    if spec == "chara_card_v2" or (spec is None and isinstance(document.get("data"), dict)):
        return "v2"
    if spec is None and "name" in document and any(key in document for key in ("first_mes", "mes_example")):
        return "v1"
    if spec is None and "char_name" in document:
        return "v1"
    return None


def _read_data(data: dict[str, Any], spec: str, reader: Reader) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for card_name, field in _TEXT.items():
        fields[field] = reader.text(data.get(card_name), f"data.{card_name}")
    for card_name, field in _LISTS.items():
        fields[field] = reader.texts(data.get(card_name), f"data.{card_name}")
    if spec == "v3":
        fields["nickname"] = reader.text(data.get("nickname"), "data.nickname")
        notes = reader.mapping(data.get("creator_notes_multilingual"), "data.creator_notes_multilingual")
        fields["creator_notes_multilingual"] = {
            str(code): reader.text(text, f"data.creator_notes_multilingual.{code}")
            for code, text in notes.items()
        }
        fields["source"] = reader.texts(data.get("source"), "data.source")
        fields["group_only_greetings"] = reader.texts(
            data.get("group_only_greetings"), "data.group_only_greetings"
        )
        fields["creation_date"] = reader.integer(data.get("creation_date"), "data.creation_date")
        assets = data.get("assets")
        if assets is not None and not isinstance(assets, list):
            raise reader.fail("data.assets", assets, "must be a list of {type, uri, name, ext}.")
        fields["assets"] = assets or []
    fields["lorebook"] = book_from_card(data.get("character_book"), "data.character_book", reader)
    return fields


def _talkativeness(extensions: dict[str, Any]) -> float | None:
    """SillyTavern's extensions.talkativeness (text, 0-1), when it is a number."""
    try:
        value = float(extensions.get("talkativeness"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if 0.0 <= value <= 1.0 else None


def read_card(document: dict[str, Any], spec: str, reader: Reader) -> CardImport:
    """Persona fields from a card object of the given spec ('v1', 'v2' or 'v3')."""
    if spec == "v1":
        reader.warn("a V1 card (no spec field): read its top-level fields")
        data = {_V1_NAMES.get(key, key): value for key, value in document.items()}
        extensions: dict[str, Any] = {}
        keep_unknown(data, (*_V2_DATA, *_V1_NAMES), extensions)
    else:
        version = document.get("spec_version")
        expected = _VERSIONS[spec]  # type: ignore[index]
        if str(version) != expected:
            reader.warn(f"spec_version {version!r}: read as {expected}")
        data = reader.mapping(document.get("data"), "data")
        extensions = dict(reader.mapping(data.get("extensions"), "data.extensions"))
        known = _V3_DATA if spec == "v3" else _V2_DATA
        dropped = keep_unknown(data, known, extensions)
        if dropped:
            reader.warn(f"data: kept unknown field(s) {', '.join(dropped)} in extensions")
        outside = {
            key: value for key, value in document.items() if key not in ("spec", "spec_version", "data")
        }
        backfill = [key for key in _V1_BACKFILL if key in outside]
        for key in backfill:
            outside.pop(key)
        if keep_unknown(outside, (), extensions, slot="unknown_card_fields"):
            reader.warn(f"kept top-level field(s) {', '.join(sorted(outside))} in extensions")
        if backfill:
            extensions.setdefault(OWN_EXTENSION, {})["v1_backfill"] = True
    fields = _read_data(data, spec, reader)
    if fields["creator_notes"].startswith(V3_BACKFILL_NOTE):
        fields["creator_notes"] = fields["creator_notes"].removeprefix(V3_BACKFILL_NOTE).lstrip("\n")
        reader.warn("creator_notes: removed the notice a V3 card carries in its V2 copy")
    seen: dict[str, str] = {}
    for tag in (tag.strip() for tag in fields["tags"]):
        first = seen.setdefault(tag.casefold(), tag)
        if first != tag:
            reader.warn(f"data.tags: {tag!r} is {first!r} but for case: one tag here, both in exports")
    if len(seen) < len(fields["tags"]):
        keep_unknown({"tags": fields["tags"]}, (), extensions, slot=WRITTEN)
    if fields.get("creation_date") is None:  # unknown (a V1 or V2 card has none): 0, as V3 says
        fields["creation_date"] = 0
    own = extensions.get(OWN_EXTENSION)
    own = dict(own) if isinstance(own, dict) else {}
    persona = reader.mapping(own.pop("persona", None), f"data.extensions.{OWN_EXTENSION}.persona")
    state = own.pop("state", None)
    persona_id = own.pop("id", None)
    if own:
        extensions[OWN_EXTENSION] = own
    else:
        extensions.pop(OWN_EXTENSION, None)
    fields["extensions"] = extensions
    talk = _talkativeness(extensions)
    if talk is not None and "talkativeness" not in persona:
        fields["talkativeness"] = talk
    unknown = sorted(set(persona) - set(OWN_FIELDS))
    if unknown:
        reader.warn(f"extensions.{OWN_EXTENSION}.persona: ignored unknown field(s) {', '.join(unknown)}")
    fields.update({key: value for key, value in persona.items() if key in OWN_FIELDS})
    return CardImport(
        fields=fields,
        spec=spec,
        persona_id=persona_id if isinstance(persona_id, str) else None,
        state=state if isinstance(state, dict) else None,
        warnings=reader.warnings,
    )


def card_document(
    persona: Persona, spec: CardSpec, now: datetime, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The card object for a persona (what a card file holds)."""
    v3 = spec == "v3"
    data: dict[str, Any] = {card: getattr(persona, field) for card, field in _TEXT.items()}
    data.update({card: list(getattr(persona, field)) for card, field in _LISTS.items()})
    if v3:
        data["nickname"] = persona.nickname
        data["group_only_greetings"] = list(persona.group_only_greetings)
        # A card's own date (0: unknown, as imported cards without one say); ours when we made it.
        made = persona.creation_date
        data["creation_date"] = int(persona.created_at.timestamp()) if made is None else made
        data["modification_date"] = int(now.timestamp())
        if persona.creator_notes_multilingual:
            data["creator_notes_multilingual"] = dict(persona.creator_notes_multilingual)
        if persona.source:
            data["source"] = list(persona.source)
        if persona.assets:
            data["assets"] = [asset.model_dump() for asset in persona.assets]
    if persona.lorebook is not None:
        data["character_book"] = book_to_card(persona.lorebook, v3)
    written: dict[str, Any] = {}
    extensions = restore_unknown(written, dict(persona.extensions), slot=WRITTEN)
    tags = written.get("tags")
    if isinstance(tags, list) and list(dict.fromkeys(str(t).strip().casefold() for t in tags)) == [
        tag.casefold() for tag in persona.tags
    ]:
        data["tags"] = tags  # as the card wrote them, case variants and all
    extensions = restore_unknown(data, extensions)
    outside: dict[str, Any] = {}
    extensions = restore_unknown(outside, extensions, slot="unknown_card_fields")
    own = extensions.get(OWN_EXTENSION)
    own = dict(own) if isinstance(own, dict) else {}
    if own.pop("v1_backfill", False):
        outside.update({key: data[key] for key in _V1_BACKFILL})
    own["id"] = persona.id
    own["persona"] = persona.model_dump(mode="json", include=set(OWN_FIELDS))
    if state is not None:
        own["state"] = state
    talk = _talkativeness(extensions)
    if talk is not None and talk != persona.talkativeness:
        extensions["talkativeness"] = str(persona.talkativeness)
    data["extensions"] = {**extensions, OWN_EXTENSION: own}
    return {"spec": SPEC_NAMES[spec], "spec_version": _VERSIONS[spec], "data": data, **outside}


def v2_backfill(card_v3: dict[str, Any]) -> dict[str, Any]:
    """The V2 card written beside a V3 one in a PNG (`chara` chunk) for V2-only readers: lorebook
    entries without V3 decorators (the V3 spec: a V2 reader would send `@@depth 0` to the model),
    and the V1 fields mirrored at the top, as SillyTavern writes them, for V1-only readers."""
    data = {key: value for key, value in card_v3["data"].items() if key in _V2_DATA}
    notes = data.get("creator_notes") or ""
    data["creator_notes"] = f"{V3_BACKFILL_NOTE}\n\n{notes}".strip()
    book = data.get("character_book")
    if isinstance(book, dict) and isinstance(book.get("entries"), list):
        data["character_book"] = {
            **book,
            "entries": [
                {**entry, "content": parse_decorators(entry["content"])[1]}
                if isinstance(entry, dict) and isinstance(entry.get("content"), str)
                else entry
                for entry in book["entries"]
            ],
        }
    return with_v1_mirror({"spec": SPEC_NAMES["v2"], "spec_version": _VERSIONS["v2"], "data": data})


def with_v1_mirror(card_v2: dict[str, Any]) -> dict[str, Any]:
    """A V2 card with the V1 fields mirrored at its top (name, description, first_mes...), as
    SillyTavern writes a PNG's `chara` chunk, so V1-only readers find them; fields the card
    already has at its top stay."""
    mirror = {key: card_v2["data"][key] for key in _V1_BACKFILL if key in card_v2.get("data", {})}
    return {**mirror, **card_v2}
