"""The shapes lorebooks travel in besides a card's character_book: SillyTavern's World Info file
(`{"entries": {"0": {...}}}`, keyed by uid, with its own field names) and a `lorebook_v3` file
(`{"spec": "lorebook_v3", "data": <character_book>}`). `as_lorebook` turns either into the
Lorebook model's own shape, so persona_create and persona_update take the file as it is. Pure:
dictionaries in, a dictionary out.

A World Info entry's fields map to the typed ones (key -> keys, keysecondary -> secondary_keys,
order -> insertion_order, disable -> not enabled, position 0/1 -> before/after the character,
position 4 -> depth, selectiveLogic, role, caseSensitive, matchWholeWords, scanDepth, sticky,
cooldown, uid -> id); its other fields (probability, group, excludeRecursion...) are kept under
the entry's extensions.world_info, so nothing it says is lost."""

from __future__ import annotations

from typing import Any

__all__ = ["ST_AT_DEPTH", "ST_LOGIC", "ST_PLACES", "ST_ROLES", "as_lorebook"]

# SillyTavern's numbers for an entry's settings.
ST_LOGIC = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
ST_ROLES = {0: "system", 1: "user", 2: "assistant"}
ST_AT_DEPTH = 4  # position number for "@ depth"
ST_PLACES = {0: "before_char", 1: "after_char"}
_MAPPED = frozenset(
    {"key", "keysecondary", "content", "constant", "selective", "selectiveLogic", "disable", "order"}
    | {"position", "depth", "role", "caseSensitive", "matchWholeWords", "scanDepth", "sticky", "cooldown"}
    | {"comment", "uid"}
)
_BOOK_FIELDS = ("name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions")


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value if str(item).strip()] if isinstance(value, list) else []


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    position = _number(raw.get("position"))
    at_depth = position == ST_AT_DEPTH and _number(raw.get("depth")) is not None
    entry: dict[str, Any] = {
        "keys": _texts(raw.get("key")),
        "secondary_keys": _texts(raw.get("keysecondary")),
        "content": str(raw.get("content") or ""),
        "constant": bool(raw.get("constant")),
        "selective": _flag(raw.get("selective")),
        "logic": ST_LOGIC.get(_number(raw.get("selectiveLogic")) or 0, "and_any"),
        "enabled": not raw.get("disable"),
        "insertion_order": _number(raw.get("order")) if _number(raw.get("order")) is not None else 100,
        "position": None
        if at_depth
        else ST_PLACES.get(position if position is not None else 1, "after_char"),
        "depth": _number(raw.get("depth")) if at_depth else None,
        "role": ST_ROLES.get(_number(raw.get("role")) or 0, "system"),
        "case_sensitive": _flag(raw.get("caseSensitive")),
        "whole_words": _flag(raw.get("matchWholeWords")),
        "scan_depth": _number(raw.get("scanDepth")),
        "sticky": _number(raw.get("sticky")),
        "cooldown": _number(raw.get("cooldown")),
        "comment": str(raw["comment"]) if raw.get("comment") else None,
        "id": raw.get("uid")
        if isinstance(raw.get("uid"), int | str) and not isinstance(raw.get("uid"), bool)
        else None,
    }
    rest = {key: value for key, value in raw.items() if key not in _MAPPED}
    if rest:
        entry["extensions"] = {"world_info": rest}
    return entry


def as_lorebook(data: Any) -> Any:
    """`data` in the Lorebook model's shape when it is a World Info or lorebook_v3 file; any
    other value as it is (the model then validates it)."""
    if not isinstance(data, dict):
        return data
    if data.get("spec") == "lorebook_v3" and isinstance(data.get("data"), dict):
        return data["data"]
    entries = data.get("entries")
    if isinstance(entries, dict):  # World Info: entries keyed by uid
        ordered = sorted(
            (raw for raw in entries.values() if isinstance(raw, dict)),
            key=lambda raw: (_number(raw.get("displayIndex")) or 0, str(raw.get("uid", ""))),
        )
        book = {key: data[key] for key in _BOOK_FIELDS if key in data}
        rest = {key: value for key, value in data.items() if key not in (*_BOOK_FIELDS, "entries")}
        if rest:
            book["extensions"] = {**(book.get("extensions") or {}), "world_info": rest}
        return {**book, "entries": [_entry(raw) for raw in ordered]}
    return data
