"""A card's character_book <-> Lorebook, both ways, losing nothing.

Standard fields map one to one. SillyTavern keeps entry behaviour in `extensions` (selectiveLogic,
sticky, cooldown, position 4 + depth, role, scan_depth, match_whole_words, case_sensitive); those
are read into typed fields, while `extensions` itself is kept verbatim. On export a typed value is
written back only where it differs from what the kept extensions already say, so an untouched
entry comes back exactly as it came in. Fields no spec defines are kept under
`extensions.persona_mcp.unknown_fields` and put back where they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from core.errors import InvalidInput
from core.interop.coerce import Reader
from core.lorebook import MAX_LORE_ENTRIES, Lorebook, LoreEntry
from core.world_info import ST_AT_DEPTH, ST_LOGIC, ST_LOGIC_NUMBERS, ST_PLACES, ST_ROLE_NUMBERS, ST_ROLES

__all__ = [
    "OWN_EXTENSION",
    "WRITTEN",
    "book_from_card",
    "book_to_card",
    "keep_unknown",
    "restore_unknown",
]

OWN_EXTENSION = "persona_mcp"  # our namespace inside any `extensions` object
# Values as the card wrote them where the model keeps a normalised form (keys [""], position "",
# tags that differ only in case), under extensions.persona_mcp.as_written: an export writes them
# back while the normalised value is unchanged, so a card round-trips with every value it had.
WRITTEN = "as_written"
_UNKNOWN = "unknown_fields"
_ENTRY_FIELDS = (
    "keys", "content", "extensions", "enabled", "insertion_order", "case_sensitive", "use_regex",
    "constant", "name", "priority", "id", "comment", "selective", "secondary_keys", "position",
)  # fmt: skip
_BOOK_FIELDS = (
    "name",
    "description",
    "scan_depth",
    "token_budget",
    "recursive_scanning",
    "extensions",
    "entries",
)
# SillyTavern's numbering of selectiveLogic and role.


def keep_unknown(
    source: dict[str, Any], known: tuple[str, ...], extensions: dict[str, Any], slot: str = _UNKNOWN
) -> list[str]:
    """Move fields of `source` not in `known` under extensions.persona_mcp.<slot>; return their
    names."""
    unknown = {key: value for key, value in source.items() if key not in known}
    if unknown:
        own = extensions.get(OWN_EXTENSION)
        own = dict(own) if isinstance(own, dict) else {}
        kept = own.get(slot)
        own[slot] = {**(kept if isinstance(kept, dict) else {}), **unknown}
        extensions[OWN_EXTENSION] = own
    return sorted(unknown)


def restore_unknown(
    target: dict[str, Any], extensions: dict[str, Any], slot: str = _UNKNOWN
) -> dict[str, Any]:
    """Put fields kept by keep_unknown back into `target`; return the extensions without them."""
    own = extensions.get(OWN_EXTENSION)
    if not isinstance(own, dict) or slot not in own:
        return extensions
    if isinstance(own[slot], dict):
        for key, value in own[slot].items():
            target.setdefault(key, value)
    rest = {key: value for key, value in own.items() if key != slot}
    cleaned = {key: value for key, value in extensions.items() if key != OWN_EXTENSION}
    if rest:
        cleaned[OWN_EXTENSION] = rest
    return cleaned


def _st_depth(ext: dict[str, Any]) -> int | None:
    depth = ext.get("depth")
    if ext.get("position") == ST_AT_DEPTH and isinstance(depth, int) and not isinstance(depth, bool):
        return max(0, min(depth, 1_000))
    return None


def _set_depth(ext: dict[str, Any], entry: LoreEntry) -> None:
    if entry.depth is not None:
        ext["position"], ext["depth"] = ST_AT_DEPTH, entry.depth
    elif ext.get("position") == ST_AT_DEPTH:
        ext["position"] = 0 if entry.position == "before_char" else 1


def _numbered(table: dict[int, str], value: Any, default: str) -> str:
    """SillyTavern's number for a setting, as our name (its default for anything else)."""
    return table.get(value, default) if isinstance(value, int) and not isinstance(value, bool) else default


def _nonneg(ext: dict[str, Any], key: str) -> int | None:
    value = ext.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _whole_words(ext: dict[str, Any]) -> bool | None:
    """Whether keys must be whole words, by whichever editor's field the card carries:
    SillyTavern's match_whole_words (null: its default, substrings), RisuAI's
    risu_fullWordMatching, chub's whole_words_only."""
    for field in ("match_whole_words", "risu_fullWordMatching", "whole_words_only"):
        if isinstance(ext.get(field), bool):
            return bool(ext[field])
    return None


# typed field, read from kept extensions, write into them.
_Codec = tuple[str, Callable[[dict[str, Any]], Any], Callable[[dict[str, Any], LoreEntry], None]]
_CODECS: tuple[_Codec, ...] = (
    (
        "logic",
        lambda ext: _numbered(ST_LOGIC, ext.get("selectiveLogic"), "and_any"),
        lambda ext, e: ext.__setitem__("selectiveLogic", ST_LOGIC_NUMBERS[e.logic]),
    ),
    (
        "role",
        lambda ext: _numbered(ST_ROLES, ext.get("role"), "system"),
        lambda ext, e: ext.__setitem__("role", ST_ROLE_NUMBERS[e.role]),
    ),
    ("depth", _st_depth, _set_depth),
    ("sticky", lambda ext: _nonneg(ext, "sticky"), lambda ext, e: ext.__setitem__("sticky", e.sticky)),
    (
        "cooldown",
        lambda ext: _nonneg(ext, "cooldown"),
        lambda ext, e: ext.__setitem__("cooldown", e.cooldown),
    ),
    (
        "scan_depth",
        lambda ext: _nonneg(ext, "scan_depth"),
        lambda ext, e: ext.__setitem__("scan_depth", e.scan_depth),
    ),
    ("whole_words", _whole_words, lambda ext, e: ext.__setitem__("match_whole_words", e.whole_words)),
)


def _entry_from_card(raw: Any, where: str, reader: Reader) -> LoreEntry:
    data = reader.mapping(raw, where)
    ext = dict(reader.mapping(data.get("extensions"), f"{where}.extensions"))
    dropped = keep_unknown(data, _ENTRY_FIELDS, ext)
    if dropped:
        reader.warn(f"{where}: kept unknown field(s) {', '.join(dropped)} in extensions")
    position = reader.optional_text(data.get("position"), f"{where}.position")
    written: dict[str, Any] = {}
    if position not in (None, "before_char", "after_char"):
        written["position"] = position
        if position.strip():  # "" (chub's) is unset: the default place, said nowhere
            reader.warn(f"{where}.position: {position!r} is not before_char or after_char; used after_char")
        position = "after_char" if position.strip() else None
    st_position = ext.get("position")
    if isinstance(st_position, int) and st_position not in (*ST_PLACES, ST_AT_DEPTH):
        reader.warn(f"{where}: SillyTavern position {st_position} is placed after the description here")
    fields: dict[str, Any] = {name: read(ext) for name, read, _ in _CODECS}
    if fields["whole_words"] is None:  # chub writes its hint beside the card fields
        fields["whole_words"] = _whole_words(data)
    case = reader.boolean(data.get("case_sensitive"), f"{where}.case_sensitive")
    if case is None and isinstance(ext.get("case_sensitive"), bool):
        case = ext["case_sensitive"]
    order = reader.integer(data.get("insertion_order"), f"{where}.insertion_order")
    identifier = data.get("id")
    if (identifier is not None and not isinstance(identifier, int | str)) or isinstance(identifier, bool):
        identifier = reader.text(identifier, f"{where}.id")
    keys = reader.texts(data.get("keys"), f"{where}.keys")
    if isinstance(data.get("keys"), list) and data["keys"] != keys:
        written["keys"] = data["keys"]  # [""]: a key that never matches, as written
    if written:
        keep_unknown(written, (), ext, slot=WRITTEN)
    fields.update(
        keys=keys,
        content=reader.text(data.get("content"), f"{where}.content"),
        secondary_keys=reader.texts(data.get("secondary_keys"), f"{where}.secondary_keys"),
        selective=reader.boolean(data.get("selective"), f"{where}.selective"),
        constant=bool(reader.boolean(data.get("constant"), f"{where}.constant")),
        enabled=reader.boolean(data.get("enabled"), f"{where}.enabled") is not False,
        insertion_order=100 if order is None else order,
        priority=reader.integer(data.get("priority"), f"{where}.priority"),
        position=position,
        case_sensitive=case,
        use_regex=bool(reader.boolean(data.get("use_regex"), f"{where}.use_regex")),
        name=reader.optional_text(data.get("name"), f"{where}.name"),
        id=identifier,
        comment=reader.optional_text(data.get("comment"), f"{where}.comment"),
        extensions=ext,
    )
    try:
        return LoreEntry.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, prefix=f"{reader.argument}: {where}") from None


def book_from_card(raw: Any, where: str, reader: Reader) -> Lorebook | None:
    """The Lorebook of a card's character_book (None when there is none)."""
    if raw is None:
        return None
    data = reader.mapping(raw, where)
    ext = dict(reader.mapping(data.get("extensions"), f"{where}.extensions"))
    dropped = keep_unknown(data, _BOOK_FIELDS, ext)
    if dropped:
        reader.warn(f"{where}: kept unknown field(s) {', '.join(dropped)} in extensions")
    entries = data.get("entries")
    if isinstance(entries, dict):  # SillyTavern's world files key entries by uid
        reader.warn(f"{where}.entries: read an object of entries as a list")
        entries = list(entries.values())
    if entries is not None and not isinstance(entries, list):
        raise reader.fail(f"{where}.entries", entries, "must be a list of entries.")
    if entries and len(entries) > MAX_LORE_ENTRIES:
        raise reader.fail(f"{where}.entries", f"<{len(entries)} entries>", f"at most {MAX_LORE_ENTRIES}.")
    book = dict(
        name=reader.optional_text(data.get("name"), f"{where}.name"),
        description=reader.optional_text(data.get("description"), f"{where}.description"),
        scan_depth=reader.integer(data.get("scan_depth"), f"{where}.scan_depth"),
        token_budget=reader.integer(data.get("token_budget"), f"{where}.token_budget"),
        recursive_scanning=reader.boolean(data.get("recursive_scanning"), f"{where}.recursive_scanning"),
        entries=[
            _entry_from_card(item, f"{where}.entries[{i}]", reader) for i, item in enumerate(entries or [])
        ],
        extensions=ext,
    )
    try:
        return Lorebook.model_validate(book)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, prefix=f"{reader.argument}: {where}") from None


def _entry_to_card(entry: LoreEntry, v3: bool) -> dict[str, Any]:
    card: dict[str, Any] = {
        "keys": entry.keys,
        "content": entry.content,
        "enabled": entry.enabled,
        "insertion_order": entry.insertion_order,
        "constant": entry.constant,
        "selective": entry.is_selective if entry.selective is None else entry.selective,
        "secondary_keys": entry.secondary_keys,
    }
    if v3 or entry.use_regex:
        card["use_regex"] = entry.use_regex
    optional = {
        "case_sensitive": entry.case_sensitive,
        "name": entry.name,
        "priority": entry.priority,
        "id": entry.id,
        "comment": entry.comment,
        "position": entry.position,
    }
    card.update({key: value for key, value in optional.items() if value is not None})
    written: dict[str, Any] = {}
    ext = restore_unknown(written, dict(entry.extensions), slot=WRITTEN)
    if isinstance(written.get("keys"), list) and [k for k in written["keys"] if str(k).strip()] == entry.keys:
        card["keys"] = written["keys"]
    if "position" in written and entry.position == (
        "after_char" if str(written["position"]).strip() else None
    ):
        card["position"] = written["position"]
    for name, read, write in _CODECS:
        if read(ext) != getattr(entry, name):
            write(ext, entry)
    card["extensions"] = restore_unknown(card, ext)
    return card


def book_to_card(book: Lorebook, v3: bool) -> dict[str, Any]:
    """The card form (character_book) of a Lorebook."""
    card: dict[str, Any] = {"entries": [_entry_to_card(entry, v3) for entry in book.entries]}
    optional = {
        "name": book.name,
        "description": book.description,
        "scan_depth": book.scan_depth,
        "token_budget": book.token_budget,
        "recursive_scanning": book.recursive_scanning,
    }
    card.update({key: value for key, value in optional.items() if value is not None})
    card["extensions"] = restore_unknown(card, dict(book.extensions))
    return card
