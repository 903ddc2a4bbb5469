"""Property test: random sequences of tool calls, resource reads and completions by two principals
(and the admin that grants them access) against one data folder. Whatever the sequence, a principal
never reads, lists, counts or changes what the access rule (core/access/policy.py) keeps from it,
and what it may not see is reported exactly as what does not exist.

The oracle below restates the rule from the test's own record of who made and granted what."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference

from core.access import OWNER
from core.access.policy import Level, rank
from core.config import load_settings
from persona_mcp.cli import main as cli_main
from tests.access_clients import ALICE, BOB, client_as
from tests.conftest import call

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ACTORS = ("alice", "bob")
WORDS = ("tea", "garden", "violin", "river", "secret", "blue", "door", "winter")
MISSING = "f" * 32


@dataclass
class Record:
    """What the test itself did, to judge every answer by."""

    owners: dict[str, str | None] = field(default_factory=lambda: {"aria": None, "kira": None})
    grants: dict[tuple[str, str], Level] = field(default_factory=dict)  # (principal, persona) -> level
    memories: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> persona, by, visibility, live
    made: int = 0

    def level(self, who: str, persona: str) -> Level | None:
        if who == "owner" or self.owners[persona] == who:
            return "own"
        return self.grants.get((who, persona)) or ("read" if self.owners[persona] is None else None)

    def sees(self, who: str, memory_id: str) -> bool:
        memory = self.memories[memory_id]
        level = self.level(who, memory["persona"])
        if level is None:
            return False
        return (
            level == "own"
            or memory["by"] == who
            or memory["visibility"] == "public"
            or memory["by"] == self.owners[memory["persona"]]
        )

    def may_change(self, who: str, memory_id: str) -> bool:
        memory = self.memories[memory_id]
        return self.sees(who, memory_id) and (
            memory["by"] == who or rank(self.level(who, memory["persona"])) >= rank("write")
        )


@dataclass
class World:
    clients: dict[str, Client]
    record: Record


@asynccontextmanager
async def fresh_world(parent: Path) -> AsyncIterator[World]:
    """A new data folder with alice and bob as principals (so the admin may grant them access),
    and a client for each and for the admin: every example starts from nothing, so hypothesis
    replays a failure exactly."""
    settings = load_settings({}, data_dir=Path(tempfile.mkdtemp(dir=parent)), toolsets=("all",))
    for name in ACTORS:
        made = await anyio.to_thread.run_sync(
            cli_main, ["--data-dir", str(settings.data_dir), "token", "add", name]
        )
        assert made == 0
    async with (
        client_as(settings, OWNER) as owner,
        client_as(settings, ALICE) as alice,
        client_as(settings, BOB) as bob,
    ):
        yield World({"owner": owner, "alice": alice, "bob": bob}, Record())


async def attempt(client: Client, tool: str, **arguments: Any) -> tuple[bool, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        assert "Traceback" not in text
        return False, text
    return True, result.structured_content


def reads_as_missing(error: str, hidden: str, unknown_error: str, unknown: str) -> None:
    assert error.replace(hidden, "<id>") == unknown_error.replace(unknown, "<id>")


persona_choice = st.integers(min_value=0, max_value=50)
memory_choice = st.integers(min_value=0, max_value=500)
step = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(ACTORS)),
    st.tuples(
        st.just("store"),
        st.sampled_from(("owner", *ACTORS)),
        persona_choice,
        st.lists(st.sampled_from(WORDS), min_size=2, max_size=4),
        st.sampled_from(("private", "shared")),
    ),
    st.tuples(
        st.just("grant"), st.sampled_from(ACTORS), persona_choice, st.sampled_from(("read", "write", "none"))
    ),
    st.tuples(st.just("get"), st.sampled_from(ACTORS), memory_choice),
    st.tuples(st.just("update"), st.sampled_from(ACTORS), memory_choice),
    st.tuples(st.just("delete"), st.sampled_from(ACTORS), memory_choice),
    st.tuples(st.just("search"), st.sampled_from(ACTORS), persona_choice, st.sampled_from(WORDS)),
    st.tuples(st.just("look"), st.sampled_from(ACTORS), persona_choice),
)


async def run_step(world: World, action: tuple[Any, ...]) -> None:
    record, clients = world.record, world.clients
    kind, who = action[0], action[1]
    client = clients[who]
    personas = sorted(record.owners)
    memories = sorted(record.memories)

    if kind == "create":
        record.made += 1
        made = await call(client, "persona_create", name=f"{who.title()} Persona {record.made}")
        assert made["owner"] == who
        record.owners[made["id"]] = who

    elif kind == "store":
        persona = personas[action[2] % len(personas)]
        ok, result = await attempt(
            client, "memory_store", content=" ".join(action[3]), persona_id=persona, visibility=action[4]
        )
        assert ok == (record.level(who, persona) is not None), (who, persona, result)
        if ok:
            memory = result["memory"]
            assert memory["persona_id"] == persona
            if result["duplicate_of"] is None:
                assert memory["created_by"] == who
                record.memories[memory["id"]] = {"persona": persona, "by": who, "visibility": action[4]}
            else:
                # A repeat reinforces only what the caller itself stored (an admin: anyone's).
                assert memory["id"] == result["duplicate_of"]
                assert memory["created_by"] == record.memories[memory["id"]]["by"]
                assert who == "owner" or memory["created_by"] == who

    elif kind == "grant":
        persona = personas[action[2] % len(personas)]
        level = action[3]
        await call(clients["owner"], "access_grant", principal=who, persona_id=persona, level=level)
        if level == "none":
            record.grants.pop((who, persona), None)
        else:
            record.grants[(who, persona)] = level

    elif kind in ("get", "update", "delete") and memories:
        memory_id = memories[action[2] % len(memories)]
        before = await call(clients["owner"], "memory_get", memory_id=memory_id)
        arguments: dict[str, Any] = {
            "get": {},
            "update": {"importance": 0.123},
            "delete": {},
        }[kind]
        ok, result = await attempt(client, f"memory_{kind}", memory_id=memory_id, **arguments)
        expected = record.sees(who, memory_id) if kind == "get" else record.may_change(who, memory_id)
        assert ok == expected, (kind, who, memory_id, record.memories[memory_id], result)
        if not record.sees(who, memory_id):
            _, unknown = await attempt(client, f"memory_{kind}", memory_id=MISSING, **arguments)
            reads_as_missing(result, memory_id, unknown, MISSING)
        if not ok:  # a refused call changed nothing
            after = await call(clients["owner"], "memory_get", memory_id=memory_id)
            assert {k: after[k] for k in ("importance", "archived_at", "content")} == {
                k: before[k] for k in ("importance", "archived_at", "content")
            }
        elif kind == "delete":
            await call(clients["owner"], "memory_restore", memory_id=memory_id)  # keep the pool alive

    elif kind == "search":
        persona = personas[action[2] % len(personas)]
        ok, result = await attempt(
            client, "memory_search", query=action[3], persona_id=persona, n_results=50, include_shared=True
        )
        assert ok == (record.level(who, persona) is not None)
        if ok:
            for hit in result["memories"]:
                assert record.sees(who, hit["memory"]["id"]), (who, hit["memory"])
        else:
            _, unknown = await attempt(client, "memory_search", query=action[3], persona_id="no-such-persona")
            reads_as_missing(result, persona, unknown, "no-such-persona")

    elif kind == "look":
        persona = personas[action[2] % len(personas)]
        readable = sorted(p for p in personas if record.level(who, p) is not None)
        listed = await call(client, "persona_list")
        assert sorted(p["id"] for p in listed["personas"]) == readable
        assert listed["total_count"] == len(readable)
        resources = await client.list_resources()
        persona_resources = [str(r.uri) for r in resources.resources if str(r.uri).startswith("persona://")]
        assert sorted(uri.removeprefix("persona://") for uri in persona_resources) == readable
        completed = await client.complete(
            ResourceTemplateReference(uri="persona://{persona_id}"), {"name": "persona_id", "value": ""}
        )
        assert sorted(completed.completion.values) == readable
        visible = [m for m in record.memories if record.sees(who, m)]
        assert (await call(client, "memory_stats"))["total"] == len(visible)
        assert (await call(client, "system_status"))["counts"]["memories"] == len(visible)
        if persona in readable:
            read = await client.read_resource(f"persona://{persona}/memories")
            for memory in orjson.loads(read.contents[0].text):  # type: ignore[union-attr]
                assert record.sees(who, memory["id"])
            related = await call(client, "relationship_list", persona_id=persona)
            for bond in related["relationships"]:
                other = bond["persona_b"]
                assert other == f"user:{who}" or record.level(who, other) is not None
        else:
            with pytest.raises(MCPError) as hidden:
                await client.read_resource(f"persona://{persona}/memories")
            with pytest.raises(MCPError) as unknown:
                await client.read_resource("persona://no-such-persona/memories")
            reads_as_missing(str(hidden.value), persona, str(unknown.value), "no-such-persona")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=14))
@example(  # an admin's repeat of what bob stored reinforces bob's memory
    steps=[
        ("create", "bob"),
        ("store", "bob", 1, ["tea", "garden"], "private"),
        ("store", "owner", 1, ["tea", "garden"], "private"),
        ("store", "alice", 1, ["tea", "garden"], "private"),
    ]
)
async def test_no_sequence_of_calls_shows_or_changes_what_a_principal_may_not_see(
    tmp_path: Path, steps: list[tuple[Any, ...]]
) -> None:
    async with fresh_world(tmp_path) as world:
        for action in steps:
            await run_step(world, action)
