"""Published output schemas (persona_mcp/schemas.py): written out flat for cheap client-side
checks, and still exactly as strict about what a result may hold."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from persona_mcp.schemas import compact_output_schema
from tests.conftest import call

pytestmark = pytest.mark.anyio


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    below = [found for key, item in node.items() if key != "properties" for found in _walk(item)]
    properties = node.get("properties")
    if isinstance(properties, dict):
        below += [found for item in properties.values() for found in _walk(item)]
    return [node, *below]


async def test_every_output_schema_is_flat_and_valid(client: Client) -> None:
    tools = (await client.list_tools()).tools
    schemas = [tool.output_schema for tool in tools if tool.output_schema is not None]
    assert len(schemas) > 40
    for schema in schemas:
        Draft202012Validator.check_schema(schema)
        assert "$ref" not in json.dumps(schema)
        assert "$defs" not in schema
        for node in _walk(schema):
            assert not isinstance(node.get("title"), str), node
            options = node.get("anyOf")
            assert not (isinstance(options, list) and {"type": "null"} in options and len(options) == 2), node


async def test_a_search_result_is_checked_as_strictly_as_before(client: Client) -> None:
    await call(
        client,
        "memory_store_batch",
        items=[{"content": "Lena sold the rowing boat in Lisbon.", "subject": "Lena"}, {"content": "Rain."}],
    )
    result = await call(client, "memory_search", query="who sold a boat?", n_results=2)
    schema = next(t for t in (await client.list_tools()).tools if t.name == "memory_search").output_schema
    assert schema is not None
    validator = Draft202012Validator(schema)
    assert not list(validator.iter_errors(result))
    assert any(hit["memory"]["subject"] is None for hit in result["memories"])  # nullable still allowed

    def broken(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(result)
        change(copied)
        return copied

    wrong = {
        "score as text": broken(lambda r: r["memories"][0].__setitem__("score", "high")),
        "unknown kind": broken(lambda r: r["memories"][0]["memory"].__setitem__("kind", "dream")),
        "importance above 1": broken(lambda r: r["memories"][0]["memory"].__setitem__("importance", 2)),
        "subject a number": broken(lambda r: r["memories"][0]["memory"].__setitem__("subject", 7)),
        "no memories": broken(lambda r: r.pop("memories")),
        "emotion without label": broken(lambda r: r["memories"][0]["memory"]["emotion"].pop("label")),
    }
    for what, instance in wrong.items():
        assert list(validator.iter_errors(instance)), what


def test_a_recursive_or_foreign_reference_leaves_the_schema_as_it_was() -> None:
    recursive = {
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    assert compact_output_schema(recursive) == recursive
    foreign = {"type": "object", "properties": {"x": {"$ref": "https://example.com/x.json"}}}
    assert compact_output_schema(foreign) == foreign


def test_nullable_enums_and_values_named_title_survive() -> None:
    schema = {
        "type": "object",
        "title": "Result",
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "mode": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}], "default": None},
            "tag": {"anyOf": [{"const": "x", "type": "string"}, {"type": "null"}]},
            "meta": {"type": "object", "default": {"title": "kept"}},
        },
        "required": ["title"],
    }
    compact = compact_output_schema(schema)
    assert compact == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "mode": {"enum": ["a", "b", None], "type": ["string", "null"], "default": None},
            "tag": {"enum": ["x", None], "type": ["string", "null"]},
            "meta": {"type": "object", "default": {"title": "kept"}},
        },
        "required": ["title"],
    }
    validator = Draft202012Validator(compact)
    assert not list(validator.iter_errors({"title": "t", "mode": None, "tag": None}))
    assert list(validator.iter_errors({"title": "t", "mode": "c"}))
    assert list(validator.iter_errors({"title": "t", "tag": "y"}))
