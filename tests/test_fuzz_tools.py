"""Every tool, fuzzed through a real client session (JSON-RPC in memory): thousands of calls with
arguments drawn from each tool's own input schema, plausible and hostile mixed (wrong types,
nulls, huge and odd strings, out-of-range numbers, unknown keys, missing required ones).

The server never crashes, every failure is a tool error that names the tool and reads as a
sentence (no traceback, no "Error executing tool"), and a failed call leaves the database exactly
as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import Tool

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call
from tests.ollama_standin import OllamaStandIn, echo_reply, run_standin

# sqlite_only: it proves a refused call changed nothing by comparing the SQLite file's tables.
pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.sqlite_only]

EXAMPLES = 3000
EMBEDDER = "nomic-embed-text"
# Columns and tables the server's background work may change while a call runs: the vector index
# catching up, and decay (which a fuzzed memory_decay_start switches on) with its run log.
# Everything else must stay byte-for-byte the same after a failed call.
_MOVING_COLUMNS = {"indexed_at", "strength", "anchor_strength", "anchor_at", "decayed_at"}
_MOVING_TABLES = {"maintenance_runs"}

_HOSTILE_TEXT = [
    "",
    " ",
    "x" * 70_000,
    "🦊" * 50,
    "\x00\x01\x02",
    "../../../../etc/passwd",
    "/etc/passwd",
    "'; DROP TABLE memories; --",
    "{{char}} <script>alert(1)</script>",
    "%s%s%n",
    "\u202e\u200b",
    "NaN",
    "null",
]
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(_HOSTILE_TEXT),
)
_JUNK = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema, from anyOf/oneOf or a list of types."""
    branches = []
    for branch in schema.get("anyOf", schema.get("oneOf", [schema])):
        kind = branch.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        branches += [{**branch, "type": k} if k is not None else branch for k in kinds if k != "null"]
    return branches or [schema]


def _plausible(
    schema: dict[str, Any], defs: dict[str, Any], words: list[str], depth: int = 0
) -> st.SearchStrategy[Any]:
    """Values of the type the schema asks for (often in range, sometimes just outside)."""
    if "$ref" in schema:
        return _plausible(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, words, depth)
    options = []
    for branch in _branches(schema):
        if "$ref" in branch:
            options.append(_plausible(branch, defs, words, depth))
            continue
        kind = branch.get("type")
        if "enum" in branch:
            options.append(st.sampled_from(branch["enum"]))
        elif "const" in branch:
            options.append(st.just(branch["const"]))
        elif kind == "string":
            options.append(st.sampled_from(words) | st.text(min_size=1, max_size=40))
        elif kind == "integer":
            low, high = branch.get("minimum", -5), branch.get("maximum", 1000)
            options.append(st.integers(low - 1, high + 1))
        elif kind == "number":
            low, high = branch.get("minimum", -1.0), branch.get("maximum", 2.0)
            options.append(st.floats(low - 0.5, high + 0.5, allow_nan=False))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "array" and depth < 3:
            item = _plausible(branch.get("items", {}), defs, words, depth + 1)
            options.append(st.lists(item, max_size=4))
        elif kind == "object" and depth < 3:
            options.append(_objects(branch, defs, words, depth + 1))
    return st.one_of(options) if options else _JUNK


def _objects(
    schema: dict[str, Any], defs: dict[str, Any], words: list[str], depth: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    """Argument objects: most known properties, plausible or hostile, sometimes an unknown one."""
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for name, prop in properties.items():
            present = draw(st.floats(0, 1)) < (0.9 if name in required else 0.4)
            if present:
                hostile = draw(st.floats(0, 1)) < 0.25
                arguments[name] = draw(_JUNK if hostile else _plausible(prop, defs, words, depth))
        if draw(st.floats(0, 1)) < 0.05:
            arguments[draw(st.sampled_from(["bogus", "persona", "__proto__", ""]))] = draw(_LEAF)
        return arguments

    return build()


def _fingerprint(database: Path) -> str:
    """A hash of every row of every table (bar the moving parts), in a stable order."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        for table in tables:
            if table in _MOVING_TABLES or table.startswith("sqlite_"):
                continue
            columns = [
                row[1] for row in db.execute(f"PRAGMA table_info('{table}')") if row[1] not in _MOVING_COLUMNS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = sorted(repr(row) for row in db.execute(f'SELECT {listed} FROM "{table}"'))
            digest.update(f"{table}:{len(rows)}:".encode())
            for row in rows:
                digest.update(row.encode())
    return digest.hexdigest()


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    with run_standin(embedding_models={EMBEDDER: 64}, chat_models={"llama3.2": echo_reply}) as standin:
        yield standin


@pytest.fixture
async def fuzz_client(settings: Settings, ollama: OllamaStandIn) -> AsyncIterator[Client]:
    configured = settings.model_copy(
        update={
            "ollama_host": ollama.url,
            "embedder": "ollama",
            "embedding_model": EMBEDDER,
            "chat_timeout_seconds": 5.0,
            "decay_enabled": False,
        }
    )
    async with Client(build_server(configured), mode="legacy") as client:
        yield client


async def test_every_tool_survives_thousands_of_random_calls(fuzz_client: Client, settings: Settings) -> None:
    client = fuzz_client
    stored = await call(client, "memory_store", content="Sam's dog is called Biscuit.")
    started = await call(client, "conversation_start", participants=["aria", "kira"], title="fuzzing")
    words = [
        "aria",
        "kira",
        "sam",
        stored["memory"]["id"],
        started["id"],
        "state-1.pmstate",
        "openai",
        "episodic",
        "dog",
        "oauth:sam",
    ]
    tools: dict[str, Tool] = {tool.name: tool for tool in (await client.list_tools()).tools}
    strategies = {
        name: _objects(tool.input_schema, tool.input_schema.get("$defs", {}), words)
        for name, tool in tools.items()
    }
    database = settings.database_path
    outcomes: Counter[tuple[str, bool]] = Counter()
    problems: list[str] = []

    async def one_call(name: str, arguments: dict[str, Any]) -> None:
        before = await anyio.to_thread.run_sync(_fingerprint, database)
        with anyio.fail_after(30):
            result = await client.call_tool(name, arguments)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        outcomes[(name, result.is_error)] += 1
        if not result.is_error:
            return
        if not text.startswith(f"{name}:") or "Traceback" in text or "Error executing tool" in text:
            problems.append(f"{name}({_short(arguments)}): unclear error {text[:300]!r}")
        after = await anyio.to_thread.run_sync(_fingerprint, database)
        if after != before:
            problems.append(f"{name}({_short(arguments)}) failed but changed the database: {text[:200]!r}")

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(tools)))
        arguments = data.draw(strategies[name])
        anyio.from_thread.run(one_call, name, arguments)

    await anyio.to_thread.run_sync(fuzz)
    assert problems == [], "\n".join(problems[:10])
    called = {name for name, _ in outcomes}
    assert called == set(tools), f"never called: {set(tools) - called}"
    succeeded = {name for (name, failed) in outcomes if not failed}
    # Not all refusals: the fuzzer reaches the tools' bodies, not only argument validation. (About
    # half of the tools succeed at least once; tools with more optional arguments, such as
    # memory_search's time filters, are refused more often by random values.)
    assert len(succeeded) > len(tools) // 3, f"only {sorted(succeeded)} ever succeeded"
    assert (await call(client, "system_status"))["version"]  # the session is still alive
    successes = sum(count for (_, failed), count in outcomes.items() if not failed)
    print(f"{sum(outcomes.values())} calls over {len(tools)} tools; {successes} succeeded")


def _short(arguments: dict[str, Any]) -> str:
    text = repr(arguments)
    return text if len(text) < 200 else text[:197] + "..."
