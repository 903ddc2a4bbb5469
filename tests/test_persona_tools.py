"""Every persona_* tool and its error paths, through a real MCP client session."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.store_rows import run, value

pytestmark = pytest.mark.anyio

TEMPLATE_IDS = {
    "professional-assistant",
    "friendly-companion",
    "technical-expert",
    "creative-partner",
    "educational-tutor",
    "zen-engineer",
}


async def test_list_shows_the_shipped_personas_with_aria_active(client: Client) -> None:
    listing = await call(client, "persona_list")
    assert [p["id"] for p in listing["personas"]] == ["aria", "kira"]
    assert listing["active_id"] == "aria"
    assert listing["total_count"] == 2
    assert "bard" in listing["personas"][0]["description"]


async def test_list_filters_by_tag_ignoring_case(client: Client) -> None:
    listing = await call(client, "persona_list", tag="SCHOLAR")
    assert [p["id"] for p in listing["personas"]] == ["kira"]
    assert (await call(client, "persona_list", tag="no-such-tag"))["total_count"] == 0


async def test_get_returns_the_full_card(client: Client) -> None:
    aria = await call(client, "persona_get", persona_id="aria")
    assert aria["name"] == "Aria"
    assert aria["traits"]["openness"] == 0.9
    assert aria["first_message"].startswith("*She sets her lute down")
    assert aria["version"] == 1
    assert aria["created_at"].endswith("Z")


async def test_get_unknown_id_names_the_id_and_lists_the_real_ones(client: Client) -> None:
    message = await call_error(client, "persona_get", persona_id="zed")
    assert "persona_id 'zed'" in message
    assert "aria, kira" in message


async def test_create_with_fields(client: Client) -> None:
    created = await call(
        client,
        "persona_create",
        name="Dr. Élise Moreau",
        description="A marine biologist.",
        traits={"openness": 0.95},
        interests=["whales", "Whales", "tides"],
        extensions={"my_app": {"colour": "teal"}},
    )
    assert created["id"] == "dr-elise-moreau"
    assert created["traits"]["openness"] == 0.95
    assert created["traits"]["neuroticism"] == 0.5
    assert created["interests"] == ["whales", "tides"]
    fetched = await call(client, "persona_get", persona_id="dr-elise-moreau")
    assert fetched["extensions"] == {"my_app": {"colour": "teal"}}


async def test_create_from_template_applies_overrides_on_top(client: Client) -> None:
    created = await call(
        client, "persona_create", template="technical-expert", name="Ada", traits={"extraversion": 0.9}
    )
    assert created["id"] == "ada"
    assert created["name"] == "Ada"
    assert created["traits"]["extraversion"] == 0.9
    assert created["traits"]["conscientiousness"] == 0.85  # from the template
    assert "databases" in created["knowledge_domains"]


async def test_create_with_explicit_id(client: Client) -> None:
    created = await call(client, "persona_create", name="Aria the Second", id="aria-2")
    assert created["id"] == "aria-2"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"name": "Aria"}, "already exists"),
        ({"name": "aria", "id": "other"}, "already used by persona 'aria'"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "`name`"),
        ({}, "Give the persona a name"),
        (
            {"name": "X", "traits": {"openness": 1.5}},
            "`traits.openness` = 1.5 must be less than or equal to 1",
        ),
        ({"name": "X", "talkativeness": -0.1}, "`talkativeness` = -0.1"),
        ({"name": "X", "traits": {"charisma": 0.5}}, "`traits.charisma` is not a known field"),
        ({"name": "X", "id": "Not A Slug"}, "Invalid id: 'Not A Slug'"),
        ({"template": "pirate"}, "No template 'pirate' exists. Available templates: creative-partner"),
        ({"nmae": "X"}, "unknown argument `nmae`"),
        ({"name": "X", "description": "d" * 20_000}, "`description`"),
    ],
)
async def test_create_refuses_bad_input_and_stores_nothing(
    client: Client, arguments: dict[str, object], expected: str
) -> None:
    message = await call_error(client, "persona_create", **arguments)
    assert expected in message
    assert message.startswith("persona_create: ")
    assert (await call(client, "persona_list"))["total_count"] == 2


async def test_update_merges_nested_fields_and_bumps_the_version(client: Client) -> None:
    updated = await call(
        client, "persona_update", persona_id="kira", changes={"traits": {"openness": 0.2}, "tags": ["x"]}
    )
    assert updated["version"] == 2
    assert updated["traits"]["openness"] == 0.2
    assert updated["traits"]["conscientiousness"] == 0.9
    assert updated["tags"] == ["x"]
    assert updated["updated_at"] > updated["created_at"]
    again = await call(client, "persona_get", persona_id="kira")
    assert again["version"] == 2
    assert again["tags"] == ["x"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"persona_id": "kira", "changes": {}}, "Name at least one field"),
        ({"persona_id": "kira", "changes": {"traits": {"openness": 2}}}, "`changes.traits.openness` = 2"),
        ({"persona_id": "kira", "changes": {"name": "Aria"}}, "already used by persona 'aria'"),
        ({"persona_id": "kira", "changes": {"colour": "red"}}, "`changes.colour` is not a known field"),
        ({"persona_id": "ghost", "changes": {"tags": []}}, "No persona_id 'ghost' exists"),
        ({"persona_id": "kira"}, "missing required argument `changes`"),
    ],
)
async def test_update_refuses_bad_input_and_changes_nothing(
    client: Client, arguments: dict[str, object], expected: str
) -> None:
    before = await call(client, "persona_get", persona_id="kira")
    assert expected in await call_error(client, "persona_update", **arguments)
    assert await call(client, "persona_get", persona_id="kira") == before


async def test_delete_archives_and_update_restore_brings_it_back(client: Client) -> None:
    deleted = await call(client, "persona_delete", persona_id="kira")
    assert deleted["action"] == "archived"
    assert [p["id"] for p in (await call(client, "persona_list"))["personas"]] == ["aria"]
    archived = await call(client, "persona_list", include_archived=True)
    assert {p["id"]: p["archived"] for p in archived["personas"]} == {"aria": False, "kira": True}
    assert (await call(client, "persona_get", persona_id="kira"))["archived_at"] is not None
    assert (await call(client, "persona_delete", persona_id="kira"))["action"] == "already_archived"
    assert "archived" in await call_error(client, "persona_switch", persona_id="kira")
    assert "restore=true" in await call_error(
        client, "persona_update", persona_id="kira", changes={"tags": []}
    )

    restored = await call(client, "persona_update", persona_id="kira", changes={}, restore=True)
    assert restored["archived_at"] is None
    assert (await call(client, "persona_list"))["total_count"] == 2


async def test_purge_removes_the_persona_and_everything_it_owns(client: Client, settings: Settings) -> None:
    # Rows other tools will write later; inserted directly into the real database file.
    now = "2026-01-01T00:00:00Z"
    run(
        settings,
        "INSERT INTO memories (id, persona_id, content, created_at, updated_at, content_hash)"
        " VALUES (?, 'kira', ?, ?, ?, ?)",
        [(f"m{i}", f"memory {i}", now, now, f"h{i}") for i in range(3)],
        many=True,
    )
    run(
        settings,
        "INSERT INTO relationships (party_a, party_b, created_at, updated_at) VALUES ('aria', 'kira', ?, ?)",
        (now, now),
    )
    purged = await call(client, "persona_delete", persona_id="kira", purge=True)
    assert purged["action"] == "purged"
    assert purged["counts"]["memories"] == 3
    assert purged["counts"]["relationships"] == 1
    assert "No persona_id 'kira'" in await call_error(client, "persona_get", persona_id="kira")
    assert value(settings, "SELECT count(*) FROM memories") == 0
    assert value(settings, "SELECT count(*) FROM relationships") == 0
    if settings.database_url is None:  # SQLite's word index is a table of its own
        assert value(settings, "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'memory'") == 0


async def test_switch_changes_the_default_persona_for_later_calls(client: Client, mode: str) -> None:
    switched = await call(client, "persona_switch", persona_id="kira")
    assert switched["persona"]["id"] == "kira"
    assert switched["previous_id"] is None
    assert switched["scope"] == ("connection" if mode == "legacy" else "principal")
    status = await call(client, "persona_status")
    assert status["persona"]["id"] == "kira"
    assert (await call(client, "persona_list"))["active_id"] == "kira"
    assert (await call(client, "persona_switch", persona_id="aria"))["previous_id"] == "kira"


async def test_switch_is_scoped_to_one_session(settings: Settings) -> None:
    server = build_server(settings)
    async with Client(server, mode="legacy") as first, Client(server, mode="legacy") as second:
        await call(first, "persona_switch", persona_id="kira")
        assert (await call(first, "persona_status"))["persona"]["id"] == "kira"
        assert (await call(second, "persona_status"))["persona"]["id"] == "aria"


async def test_switch_to_unknown_persona_fails(client: Client) -> None:
    assert "No persona_id 'nobody'" in await call_error(client, "persona_switch", persona_id="nobody")
    assert (await call(client, "persona_list"))["active_id"] == "aria"


async def test_status_reports_mood_memories_and_energy(client: Client) -> None:
    status = await call(client, "persona_status", persona_id="aria")
    mood = status["emotional_state"]
    assert mood["valence"] == 0.5
    assert mood["label"] == "happy"
    assert mood["baseline"]["energy"] == 0.8
    assert status["social_energy"] == 0.8
    assert status["memory_counts"] == {"total": 0, "archived": 0}
    assert status["relationships"] == []
    assert status["open_conversation"] is None


async def test_status_without_persona_when_the_active_one_was_archived(client: Client) -> None:
    await call(client, "persona_switch", persona_id="kira")
    await call(client, "persona_delete", persona_id="kira")
    message = await call_error(client, "persona_status")
    assert "this session's active persona, 'kira', which is archived" in message


async def test_templates_lists_the_six_shipped_templates(client: Client) -> None:
    templates = (await call(client, "persona_templates"))["templates"]
    assert {t["id"] for t in templates} == TEMPLATE_IDS
    assert all(t["name"] and t["description"] for t in templates)


async def test_chat_and_context_check_their_arguments_first(client: Client) -> None:
    for tool in ("persona_chat", "persona_context"):
        assert "No persona_id 'ghost'" in await call_error(client, tool, message="Hi", persona_id="ghost")
        assert "`message`" in await call_error(client, tool, message="")


async def test_every_tool_publishes_schemas_and_true_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    persona_tools = (
        "list", "get", "create", "update", "delete", "switch", "status", "templates",
        "import", "export", "blend",
    )  # fmt: skip
    memory_tools = (
        "store",
        "store_batch",
        "search",
        "get",
        "update",
        "delete",
        "restore",
        "supersede",
        "entities",
        "reflect",
        "import",
        "stats",
        "search_cross_persona",
        "shared_stats",
        "reindex",
        "prune",
        "prune_all",
        "prune_recommendations",
        "prune_stats",
        "decay_start",
        "decay_stop",
        "decay_stats",
        "decay_force",
    )
    conversation_tools = (
        "start",
        "end",
        "status",
        "history",
        "list",
        "join",
        "leave",
        "next_speaker",
        "speak",
    )
    relationship_tools = ("get", "list", "update", "compatibility", "stats", "history")
    assert set(tools) == (
        {f"persona_{name}" for name in (*persona_tools, "chat", "context")}
        | {f"memory_{name}" for name in memory_tools}
        | {f"relationship_{name}" for name in relationship_tools}
        | {f"emotional_{name}" for name in ("get_state", "update_state", "history")}
        | {f"conversation_{name}" for name in conversation_tools}
        | {"system_status", "system_models"}
        | {"state_save", "state_load"}
        | {"keys_set", "keys_list", "keys_remove"}
        | {"access_whoami", "access_grant", "access_principals", "access_audit"}
        | {f"lorebook_{name}" for name in ("import", "list", "get", "export", "delete", "attach")}
    )
    for tool in tools.values():
        assert tool.output_schema is not None, tool.name
        assert tool.description, tool.name
        assert not tool.description.startswith(" "), tool.name
        assert tool.annotations is not None
    read_only = {name for name, tool in tools.items() if tool.annotations and tool.annotations.read_only_hint}
    assert read_only == {
        "lorebook_list",
        "lorebook_get",
        "lorebook_export",
        "persona_list",
        "persona_get",
        "persona_status",
        "persona_templates",
        "persona_context",
        "persona_export",
        "memory_get",
        "memory_entities",
        "memory_stats",
        "memory_search_cross_persona",
        "memory_shared_stats",
        "memory_prune_recommendations",
        "memory_prune_stats",
        "memory_decay_stats",
        "relationship_get",
        "relationship_list",
        "relationship_compatibility",
        "relationship_stats",
        "relationship_history",
        "emotional_get_state",
        "emotional_history",
        "conversation_status",
        "conversation_history",
        "conversation_list",
        "conversation_next_speaker",
        "system_status",
        "system_models",
        "keys_list",
        "access_whoami",
        "access_principals",
        "access_audit",
    }
    destructive = {
        name for name, tool in tools.items() if tool.annotations and tool.annotations.destructive_hint
    }
    assert destructive == {
        "persona_update",
        "persona_delete",
        "persona_import",
        "state_load",
        "memory_update",
        "memory_delete",
        "memory_supersede",
        "memory_prune",
        "memory_prune_all",
        "keys_set",
        "keys_remove",
        "access_grant",
        "lorebook_import",
        "lorebook_delete",
    }
    assert tools["persona_delete"].annotations.destructive_hint  # type: ignore[union-attr]
    assert not tools["persona_create"].annotations.destructive_hint  # type: ignore[union-attr]
    assert set(tools["persona_create"].input_schema["properties"]) >= {
        "name",
        "template",
        "traits",
        "talkativeness",
    }


async def test_structured_results_match_their_output_schemas(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    calls = [
        ("persona_list", {}),
        ("persona_get", {"persona_id": "aria"}),
        ("persona_create", {"name": "Schema Check"}),
        ("persona_update", {"persona_id": "schema-check", "changes": {"tags": ["t"]}}),
        ("persona_switch", {"persona_id": "schema-check"}),
        ("persona_status", {}),
        ("persona_templates", {}),
        ("memory_store", {"content": "Schemas keep promises.", "metadata": {"k": [1, 2]}}),
        ("memory_store_batch", {"items": [{"content": "A second memory."}]}),
        ("memory_search", {"query": "promises"}),
        ("memory_stats", {}),
        ("memory_shared_stats", {}),
        ("memory_reindex", {}),
        ("system_status", {}),
        ("persona_delete", {"persona_id": "schema-check"}),
    ]
    for name, arguments in calls:
        result = await client.call_tool(name, arguments)
        assert not result.is_error
        jsonschema.validate(result.structured_content, tools[name].output_schema)
        assert result.content[0].text  # type: ignore[union-attr]


async def test_underscore_separator_registers_and_serves_every_tool(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, tool_separator="_", toolsets=("all",))
    async with Client(build_server(settings)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "persona_list" in names
        assert not any("." in name for name in names)
        assert (await call(client, "persona_get", persona_id="kira"))["name"] == "Kira"
        assert "unknown argument" in await call_error(client, "persona_get", persona_id="kira", x=1)


async def test_toolsets_limit_the_registered_namespaces(data_dir: Path) -> None:
    async with Client(build_server(Settings(data_dir=data_dir, toolsets=("memory",)))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "memory_search" in names
        assert all(name.startswith("memory_") for name in names)
    async with Client(
        build_server(Settings(data_dir=data_dir, toolsets=("relationship", "state")))
    ) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {
            f"relationship_{n}" for n in ("get", "list", "update", "compatibility", "stats", "history")
        } | {"state_save", "state_load"}
