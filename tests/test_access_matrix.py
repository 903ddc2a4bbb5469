"""The access matrix: every registered tool, called by each kind of principal against a persona,
a memory and a conversation that alice owns. Each answer must be what the rule says: done (ok),
refused with "Permission denied" (the caller can see the thing but may not do this), or reported
exactly as a missing id (hidden). `ACCESS_MATRIX_OUT=path` also writes the table as Markdown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from mcp import Client

from core.access import OWNER, Principal
from core.config import Settings
from persona_mcp.cli import main as cli_main
from tests.access_clients import client_as, owning_the_index
from tests.conftest import call
from tests.ollama_standin import OllamaStandIn

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Who calls, and what each is to alice's persona "atelier".
ROWS = {
    "admin": OWNER,
    "owner of the persona": Principal("alice"),
    "write grant": Principal("carol"),
    "read grant": Principal("bob"),
    "no access": Principal("dave"),
}
ADMIN_ONLY = {
    "memory_reindex",
    "memory_prune",
    "memory_prune_all",
    "memory_prune_recommendations",
    "memory_prune_stats",
    "memory_decay_start",
    "memory_decay_stop",
    "memory_decay_stats",
    "memory_decay_force",
    "state_save",
    "state_load",
    "keys_set",
    "keys_list",
    "keys_remove",
    "access_grant",
    "access_principals",
    "access_audit",
    "system_clock_advance",
}
WRITE = {
    "memory_supersede",
    "persona_update",
    "emotional_update_state",
    "relationship_update",
    "memory_update",
    "memory_delete",
    "memory_restore",
    "lorebook_attach",
}
OWN = {"persona_delete", "lorebook_delete"}
CONVERSATION = {
    "conversation_end",
    "conversation_status",
    "conversation_history",
    "conversation_join",
    "conversation_leave",
    "conversation_next_speaker",
    "conversation_speak",
}
UNTARGETED = {
    "persona_list",
    "persona_templates",
    "persona_create",
    "persona_import",
    "memory_shared_stats",
    "relationship_stats",
    "conversation_list",
    "system_status",
    "system_models",
    "access_whoami",
    "lorebook_import",
    "lorebook_list",
}
# alice's lorebook, attached to her persona: those who may read the persona may read the book.
BOOK = {"name": "Atelier lore", "entries": {"0": {"uid": 0, "key": ["north room"], "content": "Cold light."}}}


def calls(ids: dict[str, str], row: str) -> list[tuple[str, dict[str, Any]]]:
    """One call per tool, in an order that keeps the targets alive (the destructive ones last;
    the test puts back what they change)."""
    p, m, c, b = ids["persona"], ids["memory"], ids["conversation"], ids["book"]
    slug = row.replace(" ", "-")
    card = orjson.dumps(
        {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": f"Card {row}"}}
    ).decode()
    talk = {"kind": "conversation", "quality": 0.4}
    return [
        ("persona_list", {}),
        ("persona_get", {"persona_id": p}),
        ("persona_templates", {}),
        ("persona_create", {"name": f"Own {row}"}),
        ("persona_import", {"content": card}),
        ("persona_switch", {"persona_id": p}),
        ("persona_status", {"persona_id": p}),
        ("persona_chat", {"message": "Hello there.", "persona_id": p}),
        ("persona_context", {"message": "Hello there.", "persona_id": p}),
        ("persona_export", {"persona_id": p, "format": "yaml"}),
        ("persona_blend", {"persona_ids": [p, "aria"], "name": f"Blend {row}"}),
        ("memory_store", {"content": f"A note from {row}.", "persona_id": p}),
        ("memory_store_batch", {"items": [{"content": f"A batch note from {row}.", "persona_id": p}]}),
        (
            "memory_import",
            {"content": f'{{"type":"entity","name":"{slug}","observations":["Paints."]}}', "persona_id": p},
        ),
        ("memory_search", {"query": "window light", "persona_id": p}),
        ("memory_get", {"memory_id": m}),
        ("memory_stats", {"persona_id": p}),
        ("memory_entities", {"persona_id": p}),
        ("memory_reflect", {"persona_id": p}),
        ("memory_search_cross_persona", {"query": "window light", "persona_id": p}),
        ("memory_shared_stats", {}),
        ("memory_prune", {"persona_id": p, "dry_run": True}),
        ("memory_prune_all", {"dry_run": True}),
        ("memory_prune_recommendations", {"persona_id": p}),
        ("memory_prune_stats", {}),
        ("memory_decay_stats", {}),
        ("memory_decay_force", {"persona_id": p}),
        ("memory_decay_stop", {}),
        ("memory_decay_start", {}),
        ("memory_reindex", {"persona_id": p}),
        ("relationship_get", {"persona_a": p, "persona_b": "aria"}),
        ("relationship_list", {"persona_id": p}),
        ("relationship_update", {"persona_a": p, "persona_b": "aria", "interaction": talk}),
        ("relationship_compatibility", {"persona_a": p, "persona_b": "aria"}),
        ("relationship_stats", {}),
        ("relationship_history", {"persona_a": p, "persona_b": "aria"}),
        ("emotional_get_state", {"persona_id": p}),
        ("emotional_update_state", {"persona_id": p, "deltas": {"valence": 0.01}}),
        ("emotional_history", {"persona_id": p}),
        ("conversation_start", {"persona_id": p}),
        ("conversation_status", {"conversation_id": c}),
        ("conversation_history", {"conversation_id": c}),
        ("conversation_list", {}),
        ("conversation_join", {"conversation_id": c, "persona_id": "kira"}),
        ("conversation_next_speaker", {"conversation_id": c, "message": "Atelier, your turn."}),
        ("conversation_speak", {"conversation_id": c, "persona_id": p}),
        ("conversation_leave", {"conversation_id": c, "persona_id": "kira"}),
        ("conversation_end", {"conversation_id": c}),
        ("system_status", {}),
        ("system_models", {}),
        ("system_clock_advance", {"hours": 1}),
        ("state_save", {"path": f"matrix-{slug}.pmstate"}),
        ("state_load", {"path": "matrix-admin.pmstate"}),
        ("keys_set", {"name": f"key-{slug}", "value": "sk-matrix-0123456789"}),
        ("keys_list", {}),
        ("keys_remove", {"name": f"key-{slug}"}),
        ("access_whoami", {}),
        ("access_grant", {"principal": "oauth:someone", "persona_id": p, "level": "read"}),
        ("access_principals", {}),
        ("access_audit", {}),
        ("lorebook_import", {"content": {**BOOK, "name": f"Book {row}"}}),
        ("lorebook_list", {}),
        ("lorebook_get", {"lorebook_id": b}),
        ("lorebook_export", {"lorebook_id": b}),
        ("lorebook_attach", {"lorebook_id": b, "persona_id": p}),
        ("lorebook_delete", {"lorebook_id": b}),
        ("memory_supersede", {"old_id": m, "new_id": ids["newer"]}),
        ("memory_update", {"memory_id": m, "importance": 0.6}),
        ("memory_delete", {"memory_id": m}),
        ("memory_restore", {"memory_id": m}),
        ("persona_update", {"persona_id": p, "changes": {"tags": ["matrix"]}}),
        ("persona_delete", {"persona_id": p}),
    ]


def expected(tool: str, row: str) -> str:
    """What the rule (docs/multiple-users.md) says this principal gets from this tool."""
    if row == "admin":
        return "ok"
    if tool in ADMIN_ONLY:
        return "denied"
    if tool in UNTARGETED:
        return "ok"
    if row == "no access":
        return "hidden"
    if tool in CONVERSATION:
        return "ok" if row == "owner of the persona" else "hidden"
    if tool in OWN:
        return "ok" if row == "owner of the persona" else "denied"
    if tool in WRITE:
        return "denied" if row == "read grant" else "ok"
    return "ok"


def outcome(text: str, is_error: bool) -> str:
    if not is_error:
        return "ok"
    if "Permission denied" in text:
        return "denied"
    if " exists." in text or "No persona_id" in text:
        return "hidden"
    return f"error: {text}"


async def test_every_tool_answers_each_kind_of_principal_as_the_rule_says(
    settings: Settings, ollama: OllamaStandIn
) -> None:
    settings = settings.model_copy(
        update={"ollama_host": ollama.url, "chat_timeout_seconds": 5.0, "test_clock": True}
    )
    for name in ("alice", "bob", "carol", "dave"):
        assert (
            await anyio.to_thread.run_sync(
                cli_main, ["--data-dir", str(settings.data_dir), "token", "add", name]
            )
            == 0
        )
    seen: dict[str, dict[str, str]] = {}
    async with client_as(settings, OWNER) as admin:
        await owning_the_index(admin)
        await run_rows(settings, admin, seen)
    check(seen)


async def run_rows(settings: Settings, admin: Client, seen: dict[str, dict[str, str]]) -> None:
    clients: dict[str, Client] = {"admin": admin}
    async with (
        client_as(settings, ROWS["owner of the persona"]) as alice,
        client_as(settings, ROWS["write grant"]) as carol,
        client_as(settings, ROWS["read grant"]) as bob,
        client_as(settings, ROWS["no access"]) as dave,
    ):
        clients.update(
            {
                "admin": admin,
                "owner of the persona": alice,
                "write grant": carol,
                "read grant": bob,
                "no access": dave,
            }
        )
        persona = (await call(alice, "persona_create", name="Atelier", description="A painter."))["id"]
        memory = (
            await call(alice, "memory_store", content="The window light is best at four.", persona_id=persona)
        )["memory"]["id"]
        newer = (
            await call(
                alice,
                "memory_store",
                content="Since the move, the north room gets the light.",
                persona_id=persona,
            )
        )["memory"]["id"]
        await call(admin, "access_grant", principal="bob", persona_id=persona, level="read")
        await call(admin, "access_grant", principal="carol", persona_id=persona, level="write")
        registered = {tool.name for tool in (await admin.list_tools()).tools}
        for row, client in clients.items():
            conversation = (await call(alice, "conversation_start", persona_id=persona))["id"]
            book = (await call(alice, "lorebook_import", content=BOOK, attach=[persona]))["id"]
            ids = {
                "persona": persona,
                "memory": memory,
                "conversation": conversation,
                "newer": newer,
                "book": book,
            }
            planned = calls(ids, row)
            assert {tool for tool, _ in planned} == registered  # every tool, no more
            seen[row] = {}
            for tool, arguments in planned:
                result = await client.call_tool(tool, arguments)
                text = " ".join(getattr(block, "text", "") for block in result.content)
                seen[row][tool] = outcome(text, bool(result.is_error))
            # Put back what the destructive calls changed, for the next row.
            await call(admin, "persona_update", persona_id=persona, changes={"tags": []}, restore=True)
            await call(admin, "memory_restore", memory_id=memory)
            await call(admin, "memory_update", memory_id=memory, valid_to="open")
            await call(admin, "memory_decay_start")


def check(seen: dict[str, dict[str, str]]) -> None:
    none = {"persona": "", "memory": "", "conversation": "", "newer": "", "book": ""}
    tools = [tool for tool, _ in calls(none, "")]
    table = ["| tool | " + " | ".join(ROWS) + " |", "|---|" + "---|" * len(ROWS)]
    table += [f"| `{tool}` | " + " | ".join(seen[row][tool] for row in ROWS) + " |" for tool in tools]
    if os.environ.get("ACCESS_MATRIX_OUT"):
        Path(os.environ["ACCESS_MATRIX_OUT"]).write_text("\n".join(table) + "\n")
    wrong = [
        f"{tool} as {row}: {seen[row][tool]} (expected {expected(tool, row)})"
        for tool in tools
        for row in ROWS
        if seen[row][tool] != expected(tool, row)
    ]
    assert not wrong, "\n".join(wrong)
