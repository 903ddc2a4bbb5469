"""Importing history from where it lives, through a real MCP client and the CLI: a SillyTavern
chat, a ChatGPT export, a Claude export and the MCP memory server's file (fixtures written from
each format's documentation in tests/data/history). Each: a dry run that reports and changes
nothing, the real run, and a re-run that adds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from core.errors import InvalidInput
from core.interop.histories import read_history
from persona_mcp.cli import main as cli_main
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio
HISTORY = Path(__file__).parent / "data" / "history"


def _file(name: str) -> str:
    return (HISTORY / name).read_text()


async def _memories(client: Client, persona: str) -> list[dict[str, Any]]:
    found = await call(
        client, "memory_search", persona_id=persona, query="Lisbon sister sail marathon cat", n_results=50
    )
    return [hit["memory"] for hit in found["memories"]]


async def _counts(client: Client, persona: str) -> tuple[int, int]:
    total = (await call(client, "memory_stats", persona_id=persona))["total"]
    conversations = len((await call(client, "conversation_list"))["conversations"])
    return total, conversations


async def test_a_sillytavern_chat_becomes_a_conversation_and_gated_memories(client: Client) -> None:
    chat = _file("sillytavern_chat.jsonl")
    before = await _counts(client, "aria")
    dry = await call(client, "memory_import", content=chat, persona_id="aria", dry_run=True)
    assert (dry["format"], dry["dry_run"], dry["conversations"], dry["messages"]) == (
        "sillytavern",
        True,
        1,
        8,
    )
    assert dry["passed_over"] == {"trivial: a greeting, thanks or acknowledgement": 1}
    assert await _counts(client, "aria") == before  # a dry run changes nothing

    done = await call(client, "memory_import", content=chat, persona_id="aria")
    assert (done["conversations"], done["messages"]) == (1, 8)
    assert done["memories"] + done["merged"] == dry["memories"] == 6
    conversation = (await call(client, "conversation_list"))["conversations"][0]
    assert conversation["participants"] == ["aria", "kira"]  # Kira spoke in it and is a persona here
    page = await call(client, "conversation_history", conversation_id=conversation["id"], limit=50)
    said = [(m["role"], m.get("persona_id"), m["content"][:30]) for m in page["messages"]]
    assert said[1] == ("user", None, "Hi!")
    assert said[4] == ("assistant", "kira", "Careful with the ferries cross")
    assert said[5][0] == "system"  # the narrator
    assert said[6] == ("system", None, "Old Fisherman: Ahoy! The sardi")  # no persona of that name
    assert page["messages"][2]["created_at"].startswith("2024-11-03T16:33")
    sailing = [m for m in await _memories(client, "aria") if "learning to sail" in m["content"]]
    assert sailing[0]["created_at"].startswith("2024-11-03T16:33")
    assert sailing[0]["subject"] == "Sam"
    assert sailing[0]["conversation_id"] == conversation["id"]
    # The persona's own words are kept at 0.6 of their importance, as in a chat here.
    tides = [m for m in await _memories(client, "aria") if "tides near Belem" in m["content"]]
    assert tides[0]["metadata"]["gate"] == "said by the persona (weighted 0.6)"

    again = await call(client, "memory_import", content=chat, persona_id="aria")
    assert (again["conversations"], again["memories"], again["merged"]) == (0, 0, 0)
    assert again["already_imported"] == 1 + 8  # the conversation and each of its turns
    assert await _counts(client, "aria") == (before[0] + done["memories"], before[1] + 1)


async def test_a_chatgpt_export_gives_the_users_dated_turns_on_the_branch_it_kept(client: Client) -> None:
    export = _file("chatgpt_conversations.json")
    dry = await call(client, "memory_import", content=export, persona_id="kira", dry_run=True)
    assert (dry["format"], dry["memories"], dry["conversations"]) == ("chatgpt", 3, 0)
    done = await call(client, "memory_import", content=export, persona_id="kira")
    assert done["memories"] == 3
    assert done["passed_over"] == {"trivial: a greeting, thanks or acknowledgement": 1}
    stored = {m["content"]: m for m in await _memories(client, "kira")}
    assert "We hate museums." not in stored  # an edited-away branch
    assert not [text for text in stored if "Great choice" in text]  # the assistant's replies
    museum = stored["We love tile museums and want to see the Azulejo museum on Tuesday."]
    assert museum["created_at"].startswith("2024-05-29T16:31:40")
    assert museum["metadata"]["imported"] == {"from": "chatgpt", "thread": "Planning a Lisbon trip"}
    again = await call(client, "memory_import", content=export, persona_id="kira")
    assert (again["memories"], again["already_imported"]) == (0, 4)
    assert len(await _memories(client, "kira")) == len(stored)


async def test_a_claude_export_gives_the_humans_turns(client: Client) -> None:
    export = _file("claude_conversations.json")
    done = await call(client, "memory_import", content=export, persona_id="aria", format="claude")
    assert (done["format"], done["memories"]) == ("claude", 2)
    texts = {m["content"] for m in await _memories(client, "aria")}
    assert "My cat Miso only eats the salmon flavour and ignores everything else." in texts
    assert not [text for text in texts if "sorry to hear" in text]
    again = await call(client, "memory_import", content=export, persona_id="aria")
    assert again["memories"] == 0


async def test_the_mcp_memory_servers_graph_becomes_facts_with_subjects(client: Client) -> None:
    graph = _file("mcp_memory.jsonl")
    done = await call(client, "memory_import", content=graph, persona_id="aria")
    assert (done["format"], done["memories"]) == ("mcp_memory", 8)
    found = await call(
        client, "memory_search", persona_id="aria", query="Sam sailing club member", n_results=20
    )
    relation = [
        hit["memory"]
        for hit in found["memories"]
        if hit["memory"]["content"] == "Sam Rivera is member of Tagus Sailing Club."
    ]
    assert relation[0]["subject"] == "Sam_Rivera"
    assert relation[0]["kind"] == "semantic"
    assert (await call(client, "memory_import", content=graph, persona_id="aria"))["already_imported"] == 8


async def test_bad_history_files_say_what_to_fix_and_store_nothing(client: Client) -> None:
    before = await _counts(client, "aria")
    broken = _file("sillytavern_chat.jsonl").replace('"mes":"Hi!"', '"mes":["Hi!"]')
    assert "line 3.mes" in await call_error(client, "memory_import", content=broken, persona_id="aria")
    assert "not JSON" in await call_error(
        client,
        "memory_import",
        content='{"type":"entity","name":"A","observations":[]}\n{oops',
        persona_id="aria",
    )
    assert "not a history file" in await call_error(
        client, "memory_import", content="hello", persona_id="aria"
    )
    wrong = await call_error(client, "memory_import", content=_file("mcp_memory.jsonl"), format="chatgpt")
    assert "Invalid content" in wrong
    assert "No persona_id 'ghost'" in await call_error(
        client, "memory_import", content=_file("mcp_memory.jsonl"), persona_id="ghost"
    )
    assert await _counts(client, "aria") == before


def test_the_cli_imports_history_with_a_dry_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    chat = str(HISTORY / "sillytavern_chat.jsonl")
    assert cli_main(["--data-dir", data, "import", chat, "--persona", "aria", "--dry-run"]) == 0
    assert (
        "Would import sillytavern history into aria: 1 conversation(s) with 8 messages"
        in capsys.readouterr().out
    )
    assert cli_main(["--data-dir", data, "import", chat, "--persona", "aria"]) == 0
    assert "Imported sillytavern history into aria" in capsys.readouterr().out
    assert cli_main(["--data-dir", data, "import", chat, "--persona", "aria"]) == 0
    assert "Already imported earlier (nothing added): 9 item(s)." in capsys.readouterr().out
    assert cli_main(["--data-dir", data, "import", chat]) == 2
    assert "--persona" in capsys.readouterr().err
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"spec": "chara_card_v2", "data": {"name": "Pip"}}))
    assert cli_main(["--data-dir", data, "import", str(card), "--dry-run"]) == 2
    assert "Only history files" in capsys.readouterr().err


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**40) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)
_keys = st.sampled_from(
    [
        *("mapping", "current_node", "parent", "message", "author", "role", "content", "parts"),
        *("create_time", "chat_messages", "sender", "text", "created_at", "type", "name", "to"),
        *("observations", "from", "relationType", "user_name", "is_user", "mes", "send_date"),
        *("entityType", "uuid", "title"),
    ]
)
_shaped = st.recursive(
    _json,
    lambda inner: st.dictionaries(_keys, inner, max_size=6) | st.lists(inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=_shaped,
    fmt=st.sampled_from([None, "sillytavern", "chatgpt", "claude", "mcp_memory"]),
    lines=st.booleans(),
)
def test_any_history_file_is_read_or_refused_clearly(document: Any, fmt: Any, lines: bool) -> None:
    items = document if lines and isinstance(document, list) else [document]
    text = "\n".join(json.dumps(item) for item in items) if lines else json.dumps(document)
    refusal: InvalidInput | None = None
    try:
        history = read_history(text, fmt)
    except InvalidInput as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.argument.startswith("content")
        return
    for thread in history.threads:
        assert all(turn.text.strip() and turn.key for turn in thread.turns)
    assert all(fact.text and fact.subject for fact in history.facts)
