"""Principals through real MCP sessions: what one principal owns or was told does not exist for
another, grants open personas to read or write, users in chats and relationships are the callers
themselves, and admin-only tools stay with admins."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import orjson
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from core.access import OWNER
from core.config import Settings
from persona_mcp.cli import main as cli_main
from tests.access_clients import ALICE, BOB, client_as, owning_the_index
from tests.conftest import call, call_error
from tests.ollama_standin import OllamaStandIn

pytestmark = pytest.mark.anyio

UNKNOWN_MEMORY = "0" * 32


def same_error(seen: str, unknown: str, hidden: str, missing: str) -> None:
    """An error about something hidden reads exactly as one about something that never existed."""
    assert seen.replace(hidden, "<id>") == unknown.replace(missing, "<id>")


async def resource_error(client: Client, uri: str) -> str:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return str(caught.value)


async def test_another_principals_persona_and_memories_do_not_exist_for_it(
    settings: Settings, mode: str
) -> None:
    async with client_as(settings, ALICE, mode) as alice, client_as(settings, BOB, mode) as bob:
        diary = await call(alice, "persona_create", name="Diary", description="Alice's own.")
        assert diary["id"] == "diary"
        assert diary["owner"] == "alice"
        stored = await call(
            alice, "memory_store", content="The spare key is under the blue pot.", persona_id="diary"
        )
        memory_id = stored["memory"]["id"]
        assert stored["memory"]["created_by"] == "alice"

        # Errors: exactly those of an id that names nothing.
        same_error(
            await call_error(bob, "persona_get", persona_id="diary"),
            await call_error(bob, "persona_get", persona_id="no-such-one"),
            "diary",
            "no-such-one",
        )
        for tool, extra in (
            ("memory_get", {}),
            ("memory_update", {"importance": 0.1}),
            ("memory_delete", {"hard": True}),
        ):
            same_error(
                await call_error(bob, tool, memory_id=memory_id, **extra),
                await call_error(bob, tool, memory_id=UNKNOWN_MEMORY, **extra),
                memory_id,
                UNKNOWN_MEMORY,
            )
        same_error(
            await call_error(bob, "memory_search", query="key", persona_id="diary"),
            await call_error(bob, "memory_search", query="key", persona_id="no-such-one"),
            "diary",
            "no-such-one",
        )
        # Nothing was changed by the refused calls.
        assert (await call(alice, "memory_get", memory_id=memory_id))["importance"] == stored["memory"][
            "importance"
        ]

        # Lists, counts, resources, completions and prompts leave it out.
        assert "diary" not in [p["id"] for p in (await call(bob, "persona_list"))["personas"]]
        assert "diary" in [p["id"] for p in (await call(alice, "persona_list"))["personas"]]
        counts = (await call(bob, "system_status"))["counts"]
        assert counts["personas"] == 2
        assert counts["memories"] == 0
        assert (await call(bob, "memory_stats"))["total"] == 0
        assert (await call(alice, "memory_stats"))["total"] == 1
        listed = await bob.list_resources()
        assert "persona://diary" not in [str(r.uri) for r in listed.resources]
        same_error(
            await resource_error(bob, "persona://diary"),
            await resource_error(bob, "persona://no-such-one"),
            "diary",
            "no-such-one",
        )
        same_error(
            await resource_error(bob, "persona://diary/memories"),
            await resource_error(bob, "persona://no-such-one/memories"),
            "diary",
            "no-such-one",
        )
        completed = await bob.complete(PromptReference(name="roleplay"), {"name": "persona_id", "value": "d"})
        assert completed.completion.values == []
        completed = await alice.complete(
            ResourceTemplateReference(uri="persona://{persona_id}"), {"name": "persona_id", "value": "d"}
        )
        assert completed.completion.values == ["diary"]
        with pytest.raises(MCPError) as caught:
            await bob.get_prompt("roleplay", {"persona_id": "diary"})
        assert "diary" in str(caught.value)
        assert "Existing personas: aria, kira" in str(caught.value)

        # Its name and id tell nothing: bob's own "Diary" gets another id; asking for the id is refused
        # without saying more than that it is not available.
        own = await call(bob, "persona_create", name="Diary")
        assert own["id"] == "diary-2"
        assert own["owner"] == "bob"
        taken = await call_error(bob, "persona_create", name="Journal", id="diary")
        assert "not available" in taken
        assert "exists" not in taken
        assert "archived" not in taken


async def test_what_one_user_tells_a_shared_persona_stays_with_them(settings: Settings) -> None:
    async with (
        client_as(settings, ALICE) as alice,
        client_as(settings, BOB) as bob,
        client_as(settings, OWNER) as owner,
    ):
        secret = "My favourite ice cream is pistachio."
        mine = (await call(alice, "memory_store", content=secret, persona_id="aria"))["memory"]
        await call(bob, "memory_store", content="Bob plays chess on Sundays.", persona_id="aria")

        found = await call(bob, "memory_search", query="favourite ice cream pistachio", persona_id="aria")
        assert [m["memory"]["created_by"] for m in found["memories"]] == ["bob"]
        found = await call(alice, "memory_search", query="chess on Sundays", persona_id="aria")
        assert [m["memory"]["created_by"] for m in found["memories"]] == ["alice"]
        found = await call(owner, "memory_search", query="pistachio chess", persona_id="aria")
        assert {m["memory"]["created_by"] for m in found["memories"]} == {"alice", "bob"}

        assert (await call(bob, "persona_status", persona_id="aria"))["memory_counts"]["total"] == 1
        recent = orjson.loads((await bob.read_resource("persona://aria/memories")).contents[0].text)  # type: ignore[union-attr]
        assert [m["content"] for m in recent] == ["Bob plays chess on Sundays."]
        prompt = await bob.get_prompt("roleplay", {"persona_id": "aria"})
        assert "pistachio" not in str(prompt.messages)
        shared = await call(bob, "memory_search_cross_persona", query="pistachio", persona_id="kira")
        assert all(m["memory"]["created_by"] != "alice" for m in shared["memories"])

        # The same words from bob are bob's own memory, not a reinforcement of alice's.
        again = await call(bob, "memory_store", content=secret, persona_id="aria")
        assert again["duplicate_of"] is None
        assert again["memory"]["id"] != mine["id"]
        assert (await call(alice, "memory_get", memory_id=mine["id"]))["access_count"] == 0

        # Writing where every reader would see it needs write access.
        refused = await call_error(
            bob, "memory_store", content="Everyone read this.", persona_id="aria", visibility="public"
        )
        assert "Permission denied" in refused
        assert "write" in refused
        assert (await call(owner, "memory_stats", persona_id="aria"))["total"] == 3


async def test_grants_open_a_persona_to_read_then_write_and_close_it_again(settings: Settings) -> None:
    async with (
        client_as(settings, ALICE) as alice,
        client_as(settings, BOB) as bob,
        client_as(settings, OWNER) as owner,
    ):
        await call(alice, "persona_create", name="Quill", description="A writing coach.")
        await call(alice, "memory_store", content="Quill prefers short sentences.", persona_id="quill")
        assert "No persona_id 'quill'" in await call_error(bob, "persona_get", persona_id="quill")
        refused = await call_error(owner, "access_grant", principal="bob", persona_id="quill", level="read")
        assert "No principal 'bob' exists" in refused
        assert "token add" in refused
        await anyio.to_thread.run_sync(
            cli_main, ["--data-dir", str(settings.data_dir), "token", "add", "bob"]
        )
        assert [p["name"] for p in (await call(owner, "access_principals"))["principals"]] == ["bob"]

        granted = await call(owner, "access_grant", principal="bob", persona_id="quill", level="read")
        assert [(g["persona_id"], g["level"]) for g in granted["grants"]] == [("quill", "read")]
        assert (await call(bob, "persona_get", persona_id="quill"))["name"] == "Quill"
        # The owner's memories are the persona's knowledge: readers see them.
        found = await call(bob, "memory_search", query="short sentences", persona_id="quill")
        assert [m["memory"]["content"] for m in found["memories"]] == ["Quill prefers short sentences."]
        refused = await call_error(
            bob, "persona_update", persona_id="quill", changes={"description": "Mine now"}
        )
        assert "Permission denied" in refused
        assert "bob" in refused
        assert "Permission denied" in await call_error(bob, "persona_delete", persona_id="quill")
        assert "Permission denied" in await call_error(
            bob, "emotional_update_state", persona_id="quill", valence=-0.9
        )

        await call(owner, "access_grant", principal="bob", persona_id="quill", level="write")
        updated = await call(
            bob, "persona_update", persona_id="quill", changes={"description": "Edited by bob"}
        )
        assert updated["description"] == "Edited by bob"
        assert updated["owner"] == "alice"
        assert "Permission denied" in await call_error(
            bob, "persona_delete", persona_id="quill"
        )  # owners delete

        await call(owner, "access_grant", principal="bob", persona_id="quill", level="none")
        assert "No persona_id 'quill'" in await call_error(bob, "persona_get", persona_id="quill")
        whoami = await call(bob, "access_whoami")
        assert whoami == {**whoami, "principal": "bob", "admin": False, "grants": [], "owns": []}
        assert "Permission denied" in await call_error(
            bob, "access_grant", principal="bob", persona_id="aria", level="write"
        )


async def test_users_in_conversations_and_relationships_are_the_callers(settings: Settings) -> None:
    async with (
        client_as(settings, ALICE) as alice,
        client_as(settings, BOB) as bob,
        client_as(settings, OWNER) as owner,
    ):
        started = await call(bob, "conversation_start", persona_id="aria")
        assert started["user_id"] == "bob"
        refused = await call_error(bob, "conversation_start", persona_id="aria", user_id="alice")
        assert "user_id" in refused
        assert "yourself" in refused
        theirs = await call(alice, "conversation_start", persona_id="aria", title="Alice and Aria")
        same_error(
            await call_error(bob, "conversation_history", conversation_id=theirs["id"]),
            await call_error(bob, "conversation_history", conversation_id=UNKNOWN_MEMORY),
            theirs["id"],
            UNKNOWN_MEMORY,
        )
        assert [c["id"] for c in (await call(bob, "conversation_list"))["conversations"]] == [started["id"]]
        assert len((await call(owner, "conversation_list"))["conversations"]) == 2

        talk = {"kind": "conversation", "quality": 0.6}
        await call(bob, "relationship_update", persona_a="aria", persona_b="user:bob", interaction=talk)
        await call(alice, "relationship_update", persona_a="aria", persona_b="user:alice", interaction=talk)
        refused = await call_error(
            bob, "relationship_update", persona_a="aria", persona_b="user:alice", interaction=talk
        )
        assert "user:bob" in refused
        assert "user:bob" in await call_error(
            bob, "relationship_get", persona_a="aria", persona_b="user:alice"
        )
        # Between two personas it may only read, recording an interaction needs write access.
        assert "Permission denied" in await call_error(
            bob, "relationship_update", persona_a="aria", persona_b="kira", interaction=talk
        )
        listed = await call(bob, "relationship_list", persona_id="aria")
        assert [r["persona_b"] for r in listed["relationships"]] == ["user:bob"]
        assert listed["total_count"] == 1
        everyone = await call(owner, "relationship_list", persona_id="aria")
        assert {r["persona_b"] for r in everyone["relationships"]} == {"user:alice", "user:bob"}
        assert (await call(bob, "relationship_stats"))["with_users"] == 1


async def test_admin_only_tools_are_refused_to_other_principals(settings: Settings) -> None:
    async with client_as(settings, OWNER) as owner:
        await owning_the_index(owner)
        async with client_as(settings, BOB) as bob:
            await _admin_only(owner, bob)


async def _admin_only(owner: Client, bob: Client) -> None:
    for tool, arguments in (
        ("keys_list", {}),
        ("state_save", {}),
        ("memory_reindex", {}),
        ("memory_prune_all", {"dry_run": True}),
        ("memory_prune_stats", {}),
        ("memory_decay_stats", {}),
        ("memory_decay_force", {}),
        ("access_principals", {}),
        ("access_audit", {}),
    ):
        refused = await call_error(bob, tool, **arguments)
        assert "Permission denied" in refused, (tool, refused)
        assert "admins" in refused, (tool, refused)
        result = await owner.call_tool(tool, arguments)
        assert not result.is_error, (tool, result.content)
    assert (await call(bob, "access_whoami"))["admin"] is False
    assert (await call(owner, "access_whoami"))["admin"] is True
    status = await call(bob, "system_status")
    assert status["data_dir"] == "(shown to admins)"


async def test_deletions_and_grants_are_audited_with_their_principal(settings: Settings) -> None:
    async with client_as(settings, ALICE) as alice, client_as(settings, OWNER) as owner:
        stored = await call(alice, "memory_store", content="Temporary note.", persona_id="aria")
        await call(alice, "memory_delete", memory_id=stored["memory"]["id"], hard=True)
        await call(alice, "persona_create", name="Scratch")
        await call(alice, "persona_delete", persona_id="scratch", purge=True)
        await call(owner, "access_grant", principal="oauth:someone", persona_id="aria", level="read")
        entries = (await call(owner, "access_audit"))["entries"]
        seen = [(e["principal"], e["action"], e["target_kind"], e["target_id"]) for e in entries]
        assert seen[:3] == [
            ("owner", "grant_read", "persona", "aria"),
            ("alice", "purge", "persona", "scratch"),
            ("alice", "purge", "memory", stored["memory"]["id"]),
        ]
        updated = await call(alice, "memory_store", content="Kept note.", persona_id="aria")
        changed = await call(owner, "memory_update", memory_id=updated["memory"]["id"], importance=0.9)
        assert changed["created_by"] == "alice"
        assert changed["updated_by"] == "owner"


async def test_two_people_chatting_with_one_persona_are_remembered_apart(
    settings: Settings, ollama: OllamaStandIn
) -> None:
    chat_settings = settings.model_copy(update={"ollama_host": ollama.url, "chat_timeout_seconds": 5.0})
    async with client_as(chat_settings, ALICE) as alice, client_as(chat_settings, BOB) as bob:
        first = await call(
            alice, "persona_chat", message="I just adopted a puppy named Biscuit!", persona_id="aria"
        )
        await call(bob, "persona_chat", message="I am training for a marathon in April.", persona_id="aria")
        relationships: dict[str, Any] = {}
        for name, client in (("alice", alice), ("bob", bob)):
            listed = await call(client, "relationship_list", persona_id="aria")
            relationships[name] = [r["persona_b"] for r in listed["relationships"]]
        assert relationships == {"alice": ["user:alice"], "bob": ["user:bob"]}
        assert (await call(alice, "conversation_history", conversation_id=first["conversation_id"]))[
            "messages"
        ]
        context = await call(bob, "persona_context", message="What is my dog called?", persona_id="aria")
        assert "Biscuit" not in context["system_prompt"] + str(context["messages"])
        context = await call(alice, "persona_context", message="What is my dog called?", persona_id="aria")
        assert "Biscuit" in context["system_prompt"] + str(context["messages"]) or any(
            "Biscuit" in m["content"] for m in context["memories_used"]
        )
        sent = [body for path, body in ollama.requests if path == "/api/chat"][-1]
        assert "puppy" not in str(sent["messages"])  # bob's chat never carried alice's words


async def test_each_denied_access_leaves_a_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core")
    async with client_as(settings, ALICE) as alice, client_as(settings, BOB) as bob:
        await call(alice, "persona_create", name="Ledger")
        memory = (await call(alice, "memory_store", content="Rent is due on the 3rd.", persona_id="ledger"))[
            "memory"
        ]
        started = await call(alice, "conversation_start", persona_id="aria")
        await call_error(bob, "persona_get", persona_id="ledger")
        await call_error(bob, "memory_get", memory_id=memory["id"])
        await call_error(bob, "conversation_history", conversation_id=started["id"])
        await call_error(bob, "relationship_get", persona_a="aria", persona_b="user:alice")
        await call_error(bob, "keys_list")
        await call_error(bob, "memory_get", memory_id=UNKNOWN_MEMORY)  # a plain miss is not a denial
    denied = [r.getMessage() for r in caplog.records if r.getMessage().startswith("denied: ")]
    assert denied == [
        "denied: bob may not see persona ledger",
        f"denied: bob may not see memory {memory['id']}",
        f"denied: bob may not see conversation {started['id']}",
        "denied: bob may not see user user:alice",
        "denied: bob is not an admin (keys_list)",
    ]


async def test_a_backup_keeps_owners_grants_and_who_wrote_what(settings: Settings) -> None:
    await anyio.to_thread.run_sync(cli_main, ["--data-dir", str(settings.data_dir), "token", "add", "bob"])
    async with client_as(settings, OWNER) as owner:
        await owning_the_index(owner)
        async with client_as(settings, ALICE) as alice:
            await _backup_round_trip(owner, alice)


async def _backup_round_trip(owner: Client, alice: Client) -> None:
    await call(alice, "persona_create", name="Sketchbook")
    kept = (await call(alice, "memory_store", content="Charcoal on grey paper.", persona_id="sketchbook"))[
        "memory"
    ]
    await call(owner, "access_grant", principal="bob", persona_id="sketchbook", level="read")
    saved = await call(owner, "state_save", path="principals.pmstate")
    await call(owner, "persona_delete", persona_id="sketchbook", purge=True)  # takes the grant with it
    assert (await call(owner, "access_principals"))["principals"][0]["grants"] == []
    await call(owner, "state_load", path=saved["path"].rsplit("/", 1)[-1], mode="replace")
    restored = await call(owner, "persona_get", persona_id="sketchbook")
    assert restored["owner"] == "alice"
    grants = (await call(owner, "access_principals"))["principals"][0]["grants"]
    assert [(g["persona_id"], g["level"]) for g in grants] == [("sketchbook", "read")]
    assert (await call(owner, "memory_get", memory_id=kept["id"]))["created_by"] == "alice"
    actions = [e["action"] for e in (await call(owner, "access_audit"))["entries"]]
    assert actions[:2] == ["state_load_replace", "purge"]  # the audit log survives a replace


async def test_completions_offer_only_what_the_caller_may_see(settings: Settings) -> None:
    async with client_as(settings, ALICE) as alice, client_as(settings, BOB) as bob:
        await call(alice, "persona_create", name="Orchard")
        mine = await call(alice, "conversation_start", persona_id="orchard")
        ref = PromptReference(name="roleplay")
        for client, persona, expected in (
            (alice, "orchard", [mine["id"]]),
            (bob, "orchard", []),
            (bob, "nope", []),
        ):
            completed = await client.complete(
                ref, {"name": "conversation_id", "value": ""}, context_arguments={"persona_id": persona}
            )
            assert completed.completion.values == expected
        everything = await bob.complete(ref, {"name": "conversation_id", "value": ""})
        assert everything.completion.values == []
