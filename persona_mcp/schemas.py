"""Output schemas as clients check them: the same constraints, cheaper to validate.

A client that checks each result against the tool's output schema (the Python SDK does, with
`jsonschema`) pays for every keyword it walks: a memory_search result of ten memories took 9 ms
to check against the schema pydantic writes, about as long as the search itself at 10k memories.
pydantic spells a nullable field `anyOf: [{...}, {"type": "null"}]` and a nested model as a `$ref`
into `$defs`; each is an extra level the validator descends. Here a nullable field becomes one
schema whose `type` also allows null, references are written out in place (none of our models is
recursive), and the generated `title`s (the property name, capitalised) go. Descriptions,
bounds, enums and required fields stay. Checking the same result then takes 5.7 ms.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compact_output_schema"]

_NULL = {"type": "null"}
_VALUES = frozenset({"default", "examples", "const", "enum"})  # data, not schemas: kept as they are


def compact_output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """`schema` with references written out, nullable fields as type lists and no titles; the
    schema unchanged when a reference cannot be written out (recursive, or not local)."""
    if schema is None:
        return None
    definitions = schema.get("$defs", {})
    try:
        inlined = _inline(schema, definitions, ())
    except _Unexpandable:
        return schema
    return dict(_compact(inlined))


class _Unexpandable(Exception):
    """A reference that cannot be written out in place."""


def _inline(node: Any, definitions: dict[str, Any], expanding: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str):
        name = reference.removeprefix("#/$defs/")
        if name == reference or name not in definitions or name in expanding:
            raise _Unexpandable(reference)
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**_inline(definitions[name], definitions, (*expanding, name)), **siblings}
    return {key: _inline(value, definitions, expanding) for key, value in node.items() if key != "$defs"}


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    # "title" is pydantic's name for a schema, except where it is a property called title.
    properties = node.get("properties")
    node = {
        key: value
        if key in _VALUES
        else {name: _compact(item) for name, item in value.items()}
        if key == "properties" and isinstance(properties, dict)
        else _compact(value)
        for key, value in node.items()
        if key != "title" or not isinstance(value, str)
    }
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and _NULL in options:
        other = options[0] if options[1] == _NULL else options[1]
        kind = other.get("type") if isinstance(other, dict) else None
        if isinstance(kind, str) and "anyOf" not in other and "oneOf" not in other:
            merged = {**other, **{key: value for key, value in node.items() if key != "anyOf"}}
            merged["type"] = [kind, "null"]
            if isinstance(merged.get("enum"), list):
                merged["enum"] = [*merged["enum"], None]
            if "const" in merged:
                merged["enum"] = [merged.pop("const"), None]
            return merged
    return node
