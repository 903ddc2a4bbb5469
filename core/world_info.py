"""The shapes lorebooks travel in besides a card's character_book: SillyTavern's World Info file
(`{"entries": {"0": {...}}}`, keyed by uid, with its own field names) and a `lorebook_v3` file
(`{"spec": "lorebook_v3", "data": <character_book>}`). `as_lorebook` turns either into the
Lorebook model's own shape, so persona_create and persona_update take the file as it is. Pure:
dictionaries in, a dictionary out.

A World Info entry's fields map to the typed ones (key -> keys, keysecondary -> secondary_keys,
order -> insertion_order, disable -> not enabled, position 0/1 -> before/after the character,
position 4 -> depth, selectiveLogic, role, caseSensitive, matchWholeWords, scanDepth, sticky,
cooldown, uid -> id); its other fields (probability, group, excludeRecursion...) are kept under
the entry's extensions.world_info, so nothing it says is lost. Where a mapped field was written in a
way the typed value does not reproduce (a position SillyTavern places elsewhere, `key: [""]`, a
field left out), the value as written is kept under extensions.persona_mcp.world_info and
`to_world_info` writes it back while the typed value is unchanged: a file round-trips exactly.

`to_world_info` also writes books that came from a card: the SillyTavern settings a card keeps in
an entry's extensions (snake_case there) are written under World Info's names."""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "ST_AT_DEPTH",
    "ST_LOGIC",
    "ST_LOGIC_NUMBERS",
    "ST_PLACES",
    "ST_ROLES",
    "ST_ROLE_NUMBERS",
    "as_lorebook",
    "lorebook_shape",
    "to_world_info",
]

# SillyTavern's numbers for an entry's settings.
ST_LOGIC = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
ST_ROLES = {0: "system", 1: "user", 2: "assistant"}
ST_LOGIC_NUMBERS = {name: number for number, name in ST_LOGIC.items()}
ST_ROLE_NUMBERS = {name: number for number, name in ST_ROLES.items()}
ST_AT_DEPTH = 4  # position number for "@ depth"
ST_PLACES = {0: "before_char", 1: "after_char"}
_MAPPED = frozenset(
    {"key", "keysecondary", "content", "constant", "selective", "selectiveLogic", "disable", "order"}
    | {"position", "depth", "role", "caseSensitive", "matchWholeWords", "scanDepth", "sticky", "cooldown"}
    | {"comment", "uid"}
)
_BOOK_FIELDS = ("name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions")
_OWN = "persona_mcp"  # our slot in an entry's extensions (core/interop/lore_codec.py OWN_EXTENSION)
_AS_WRITTEN = "world_info"  # under it: mapped fields as the file wrote them
_ABSENT = "absent"  # under that: mapped fields the file left out
_EMPTY = "world_info_empty"  # book fields the file wrote as null or {}
# SillyTavern's card export keeps World Info settings in entry.extensions under these names.
_CARD_NAMES = {
    "exclude_recursion": "excludeRecursion", "prevent_recursion": "preventRecursion",
    "delay_until_recursion": "delayUntilRecursion", "display_index": "displayIndex",
    "use_probability": "useProbability", "group_override": "groupOverride",
    "group_weight": "groupWeight", "use_group_scoring": "useGroupScoring",
    "automation_id": "automationId", "match_persona_description": "matchPersonaDescription",
    "match_character_description": "matchCharacterDescription",
    "match_character_personality": "matchCharacterPersonality",
    "match_character_depth_prompt": "matchCharacterDepthPrompt", "match_scenario": "matchScenario",
    "match_creator_notes": "matchCreatorNotes", "ignore_budget": "ignoreBudget",
    "probability": "probability", "group": "group", "vectorized": "vectorized", "delay": "delay",
    "outlet_name": "outletName", "triggers": "triggers", "character_filter": "characterFilter",
}  # fmt: skip


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        return []
    return [str(item) for item in value if item is not None and str(item).strip()]


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
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
        else ST_PLACES.get(position if position is not None else 0, "after_char"),
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
    return entry


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    entry = _typed(raw)
    extensions: dict[str, Any] = {}
    rest = {key: value for key, value in raw.items() if key not in _MAPPED}
    if rest:
        extensions["world_info"] = rest
    written = _mapped(entry)
    differ = {key: raw[key] for key in _MAPPED if key in raw and raw[key] != written.get(key)}
    absent = sorted(key for key in written if key not in raw)
    if differ or absent:
        extensions[_OWN] = {_AS_WRITTEN: {**differ, **({_ABSENT: absent} if absent else {})}}
    if extensions:
        entry["extensions"] = extensions
    return entry


def _mapped(entry: dict[str, Any]) -> dict[str, Any]:
    """The World Info fields a typed entry (the Lorebook model's dump) says, in SillyTavern's form."""
    depth = entry.get("depth")
    position = ST_AT_DEPTH if depth is not None else (0 if entry.get("position") == "before_char" else 1)
    fields: dict[str, Any] = {
        "key": list(entry.get("keys") or []),
        "keysecondary": list(entry.get("secondary_keys") or []),
        "comment": entry.get("comment") or "",
        "content": entry.get("content") or "",
        "constant": bool(entry.get("constant")),
        "selective": entry.get("selective") if entry.get("selective") is not None else True,
        "selectiveLogic": ST_LOGIC_NUMBERS.get(entry.get("logic") or "and_any", 0),
        "order": entry.get("insertion_order", 100),
        "position": position,
        "disable": entry.get("enabled") is False,
        "depth": depth if depth is not None else 4,
        "role": ST_ROLE_NUMBERS.get(entry.get("role") or "system", 0),
        "caseSensitive": entry.get("case_sensitive"),
        "matchWholeWords": entry.get("whole_words"),
        "scanDepth": entry.get("scan_depth"),
        "sticky": entry.get("sticky"),
        "cooldown": entry.get("cooldown"),
    }
    if entry.get("id") is not None:
        fields["uid"] = entry["id"]
    return fields


def _world_entry(entry: dict[str, Any], index: int) -> dict[str, Any]:
    """One Lorebook entry (model dump) as a World Info entry."""
    extensions = dict(entry.get("extensions") or {})
    own = extensions.pop(_OWN, None)
    own = dict(own) if isinstance(own, dict) else {}
    written = own.pop(_AS_WRITTEN, None)
    written = dict(written) if isinstance(written, dict) else {}
    rest = extensions.pop("world_info", None)
    out: dict[str, Any] = {}
    for name, wi_name in _CARD_NAMES.items():  # a card's SillyTavern settings, under WI names
        if name in extensions:
            out[wi_name] = extensions.pop(name)
    out.update(rest if isinstance(rest, dict) else {})
    mapped = _mapped(entry)
    target = {key: entry.get(key) for key in _typed({})}

    def misses(fields: dict[str, Any]) -> set[str]:
        typed = _typed(fields)
        return {key for key, value in target.items() if typed[key] != value}

    absent = written.pop(_ABSENT, [])
    for key in absent if isinstance(absent, list) else []:  # left out, where that says the same
        without = {k: v for k, v in mapped.items() if k != key}
        if key in mapped and misses(without) <= misses(mapped):
            mapped = without
    for key, value in written.items():  # as written, where that still reads as the same value
        if key in _MAPPED and misses({**mapped, key: value}) <= misses(mapped):
            mapped[key] = value
    out.update(mapped)
    if "uid" not in out:
        out["uid"] = index
    if own:
        extensions[_OWN] = own
    if extensions:  # what no World Info field says (other tools' extensions) rides along
        out["extensions"] = extensions
    return out


def to_world_info(book: dict[str, Any]) -> dict[str, Any]:
    """A Lorebook (its model dump) as a SillyTavern World Info file: entries keyed by uid."""
    entries: dict[str, Any] = {}
    for index, entry in enumerate(book.get("entries") or []):
        out = _world_entry(entry, index)
        uid = out["uid"]
        key = str(uid)
        while key in entries:  # ids are the book's own; two alike still both arrive
            index += 1_000_000
            key = str(index)
            out["uid"] = index
        entries[key] = out
    extensions = dict(book.get("extensions") or {})
    rest = extensions.pop("world_info", None)
    own = extensions.pop(_OWN, None)
    own = dict(own) if isinstance(own, dict) else {}
    empty = own.pop(_EMPTY, [])
    if own:
        extensions[_OWN] = own
    world: dict[str, Any] = {"entries": entries}
    for key in _BOOK_FIELDS[:-1]:
        if book.get(key) is not None:
            world[key] = book[key]
        elif isinstance(empty, list) and key in empty:
            world[key] = None
    world.update(rest if isinstance(rest, dict) else {})
    if extensions or (isinstance(empty, list) and "extensions" in empty):
        world["extensions"] = extensions
    return world


def lorebook_shape(document: Any) -> Literal["world_info", "lorebook_v3"] | None:
    """Which lorebook file `document` is (SillyTavern World Info, lorebook_v3), or None."""
    if not isinstance(document, dict):
        return None
    if document.get("spec") == "lorebook_v3":
        return "lorebook_v3"
    return "world_info" if isinstance(document.get("entries"), dict) else None


def as_lorebook(data: Any) -> Any:
    """`data` in the Lorebook model's shape when it is a World Info or lorebook_v3 file; any
    other value as it is (the model then validates it)."""
    if not isinstance(data, dict):
        return data
    if lorebook_shape(data) == "lorebook_v3" and isinstance(data.get("data"), dict):
        return data["data"]
    entries = data.get("entries")
    if isinstance(entries, dict):  # World Info: entries keyed by uid
        # SillyTavern's order: displayIndex where an entry has one, else its place in the file.
        listed = [raw for raw in entries.values() if isinstance(raw, dict)]

        def place(index: int) -> tuple[int, int]:
            shown = _number(listed[index].get("displayIndex"))
            return (index if shown is None else shown, index)

        ordered = [listed[index] for index in sorted(range(len(listed)), key=place)]
        book = {key: data[key] for key in _BOOK_FIELDS if key in data}
        rest = {key: value for key, value in data.items() if key not in (*_BOOK_FIELDS, "entries")}
        # Fields written empty (null, {}) that the model holds as unset: said again on export.
        empty = [key for key in _BOOK_FIELDS if key in data and data[key] in (None, {})]
        if (rest or empty) and isinstance(book.get("extensions", {}), dict):
            book["extensions"] = {**(book.get("extensions") or {})}
            if rest:
                book["extensions"]["world_info"] = rest
            if empty:
                book["extensions"][_OWN] = {_EMPTY: empty}
        return {**book, "entries": [_entry(raw) for raw in ordered]}
    return data
