"""Tool profiles: a host pays for every listed tool (name, description, input schema) in every
conversation, so the default registers what a chat host needs and stays small; `all` registers
every tool and stays under a budget too; the compact schemas accept everything the tools do."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.server.mcpserver.tools import Tool as SdkTool
from mcp_types import Tool

from core.config import ConfigError, Settings, load_settings
from persona_mcp import build_server
from persona_mcp.server import TOOL_MODULES
from persona_mcp.tools import CHAT_PROFILE
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio

CHAT_BUDGET = 24 * 1024
ALL_BUDGET = 48 * 1024
EVERY_TOOL = {f"{module.NAMESPACE}_{tool.name}" for module in TOOL_MODULES for tool in module.TOOLS}


def model_visible_bytes(tool: Tool) -> int:
    """What a host puts in front of its model for one tool, as compact JSON."""
    visible = {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
    return len(json.dumps(visible, separators=(",", ":"), ensure_ascii=False).encode())


async def _listed(settings: Settings) -> tuple[dict[str, Tool], str]:
    async with Client(build_server(settings)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        return tools, client.instructions or ""


async def test_the_default_is_the_chat_profile_and_fits_its_budget(data_dir: Path) -> None:
    tools, _ = await _listed(load_settings({}, data_dir=data_dir))
    assert set(tools) == {f"{namespace}_{name}" for namespace, name in CHAT_PROFILE}
    assert {"persona_chat", "persona_switch", "memory_search", "memory_store", "conversation_start"} <= set(
        tools
    )
    size = sum(model_visible_bytes(tool) for tool in tools.values())
    assert size <= CHAT_BUDGET, size


async def test_all_registers_every_tool_within_its_budget(data_dir: Path) -> None:
    tools, _ = await _listed(load_settings({"PERSONA_MCP_TOOLSETS": "all"}, data_dir=data_dir))
    assert set(tools) == EVERY_TOOL - {"system_clock_advance"}  # that one needs test_clock
    size = sum(model_visible_bytes(tool) for tool in tools.values())
    assert size <= ALL_BUDGET, size


async def test_profiles_and_namespaces_add_up(data_dir: Path) -> None:
    tools, _ = await _listed(load_settings({"PERSONA_MCP_TOOLSETS": "chat,keys"}, data_dir=data_dir))
    chat = {f"{namespace}_{name}" for namespace, name in CHAT_PROFILE}
    assert set(tools) == chat | {"keys_set", "keys_list", "keys_remove"}
    with pytest.raises(ConfigError, match=r"'chats'.*chat, all, persona"):
        load_settings({"PERSONA_MCP_TOOLSETS": "chats"}, data_dir=data_dir)


@pytest.mark.parametrize("toolsets", ["chat", "all"])
async def test_texts_only_name_tools_that_are_registered(data_dir: Path, toolsets: str) -> None:
    """A model never reads of a tool it cannot call (persona_delete's 'persona_update restore=true'
    is fine in `all`; the chat profile's texts must not send it looking for one it lacks)."""
    tools, instructions = await _listed(load_settings({"PERSONA_MCP_TOOLSETS": toolsets}, data_dir=data_dir))
    mentioned = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, sorted(EVERY_TOOL))) + r")\b")
    texts = {"instructions": instructions} | {name: tool.model_dump_json() for name, tool in tools.items()}
    missing = {
        (where, found)
        for where, text in texts.items()
        for found in mentioned.findall(text)
        if found not in tools
    }
    assert missing == set()


async def test_a_full_lorebook_entry_goes_through_the_brief_schema(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    entry = {
        "keys": ["harbour"],
        "content": "The harbour freezes in winter.",
        "secondary_keys": ["winter"],
        "logic": "and_all",
        "position": "before_char",
        "sticky": 2,
    }
    arguments = {"name": "Maren", "lorebook": {"name": "Coast", "entries": [entry]}}
    Draft202012Validator(tools["persona_create"].input_schema).validate(arguments)
    described = tools["persona_create"].input_schema["properties"]["lorebook"]["properties"]["entries"]
    assert "logic (and_any|and_all|not_any|not_all)" in described["items"]["description"]
    created = await call(client, "persona_create", **arguments)
    stored = created["lorebook"]["entries"][0]
    assert (stored["logic"], stored["position"], stored["sticky"]) == ("and_all", "before_char", 2)
    # The server still checks every field, and says which.
    wrong = {"name": "Ilse", "lorebook": {"entries": [{**entry, "logic": "sometimes"}]}}
    message = await call_error(client, "persona_create", **wrong)
    assert "logic" in message
    assert "sometimes" in message
    assert "and_any" in message
    changes = {"lorebook": {"entries": [{**entry, "sticky": 3}]}}
    Draft202012Validator(tools["persona_update"].input_schema).validate(
        {"persona_id": "maren", "changes": changes}
    )
    updated = await call(client, "persona_update", persona_id="maren", changes=changes)
    assert updated["lorebook"]["entries"][0]["sticky"] == 3


def _schemas() -> list[tuple[str, dict[str, Any], dict[str, Any], bool]]:
    """(tool, the schema pydantic writes, the published schema, loosened on purpose) per tool."""
    import anyio

    settings = Settings(data_dir=Path("/nonexistent"), toolsets=("all",), test_clock=True)

    async def published() -> dict[str, Tool]:
        return {tool.name: tool for tool in await build_server(settings).list_tools()}

    listed = anyio.run(published)
    rows = []
    for module in TOOL_MODULES:
        for tool in module.TOOLS:
            name = f"{module.NAMESPACE}_{tool.name}"
            original = SdkTool.from_function(tool.fn).parameters
            rows.append((name, original, listed[name].input_schema, tool.published is not None))
    return rows


SCHEMAS = _schemas()


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {
            **defs[schema["$ref"].rsplit("/", 1)[-1]],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    return schema


def _alternatives(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, defs)
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [_resolve(option, defs) for option in options]


def _minimal(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small value the schema accepts."""
    for option in _alternatives(schema, defs):
        kind = option.get("type")
        kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
        if "enum" in option:
            return option["enum"][0]
        if "const" in option:
            return option["const"]
        if kind == "string":
            return (
                "2026-01-02T03:04:05Z"
                if option.get("format") == "date-time"
                else "a" * option.get("minLength", 1)
            )
        if kind in ("integer", "number"):
            return option.get("minimum", 1)
        if kind == "boolean":
            return True
        if kind == "array":
            return [_minimal(option.get("items", {}), defs) for _ in range(option.get("minItems", 0))]
        if kind == "object":
            properties = option.get("properties", {})
            return {name: _minimal(properties[name], defs) for name in option.get("required", [])}
    return None


def _probes(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> list[Any]:
    """Values at and just past every bound the schema sets, of every type it names and of wrong
    ones, recursively into objects and arrays: where a lossy compaction would show."""
    values: list[Any] = [None, True, 7, 2.5, "text", "", [], {}]
    for option in _alternatives(schema, defs):
        kinds = option.get("type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            values += list(option.get("enum", [])) + ["not-in-enum"] * ("enum" in option)
            if kind == "string":
                for key in ("minLength", "maxLength"):
                    if key in option:
                        values += ["a" * max(0, option[key] - 1), "a" * option[key], "a" * (option[key] + 1)]
                values += ["2026-01-02T03:04:05Z", "yesterday"]
            elif kind in ("integer", "number"):
                for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                    if key in option:
                        values += [
                            option[key] - 1,
                            option[key] - 0.5,
                            option[key],
                            option[key] + 0.5,
                            option[key] + 1,
                        ]
            elif kind == "array" and depth < 4:
                item = option.get("items", {})
                values += [[value] for value in _probes(item, defs, depth + 1)]
                if "maxItems" in option:
                    values.append([_minimal(item, defs)] * (option["maxItems"] + 1))
            elif kind == "object" and depth < 4:
                base = _minimal(option, defs)
                values += [{**base, "unknown_field": 1}]
                extra = option.get("additionalProperties")
                if isinstance(extra, dict):
                    values += [{**base, "k": value} for value in _probes(extra, defs, depth + 1)]
                for name, child in option.get("properties", {}).items():
                    values += [{**base, name: value} for value in _probes(child, defs, depth + 1)]
    return values


@pytest.mark.parametrize(
    ("name", "original", "published", "loosened"), SCHEMAS, ids=[row[0] for row in SCHEMAS]
)
def test_a_compact_schema_accepts_what_the_full_one_does(
    name: str, original: dict[str, Any], published: dict[str, Any], loosened: bool
) -> None:
    """Arguments at every bound of the full schema, valid and invalid, get the same verdict from
    the published one; a schema loosened on purpose (brief lorebook entries) may accept more,
    never less."""
    Draft202012Validator.check_schema(published)
    full, compact = Draft202012Validator(original), Draft202012Validator(published)
    probes = _probes(original, original.get("$defs", {}))
    verdicts = [(full.is_valid(arguments), compact.is_valid(arguments), arguments) for arguments in probes]
    assert sum(valid for valid, _, _ in verdicts) > 1  # the probes reach valid arguments too
    if loosened:
        assert [arguments for valid, kept, arguments in verdicts if valid and not kept] == []
    else:
        assert [arguments for valid, kept, arguments in verdicts if valid != kept] == []
