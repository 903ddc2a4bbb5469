"""Moving a persona with what it knows (stateful export), blending personas, and lore in a real
chat. Two data folders stand for two machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from core.config import Settings, load_settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.ollama_standin import OllamaStandIn

pytestmark = pytest.mark.anyio

NELL = {
    "name": "Nell",
    "description": "A retired ship's cook who remembers every sailor's favourite meal.",
    "interests": ["cooking", "ships"],
    "traits": {"openness": 0.7, "extraversion": 0.9},
}
MEMORIES = [
    "Sam's daughter Ada is allergic to peanuts.",
    "Sam sailed on the Margaret for six years as a deckhand.",
    "Sam hates fennel but loves smoked fish pie.",
]


async def _nell_with_a_past(client: Client) -> None:
    await call(client, "persona_create", **NELL)
    stored = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": text, "persona_id": "nell", "kind": "semantic", "subject": "sam"} for text in MEMORIES
        ],
    )
    await call(client, "memory_update", memory_id=stored["ids"][0], pinned=True)
    for other, kind, quality in [("user:sam", "support", 0.9)] * 3 + [("aria", "chat", 0.5)]:
        interaction = {"kind": kind, "quality": quality}
        await call(client, "relationship_update", persona_a="nell", persona_b=other, interaction=interaction)
    await call(client, "emotional_update_state", persona_id="nell", valence=0.8, reason="a good day")


async def test_a_stateful_card_moves_a_persona_with_what_it_knows(settings: Settings, tmp_path: Path) -> None:
    async with Client(build_server(settings)) as here:
        await _nell_with_a_past(here)
        exported = await call(here, "persona_export", persona_id="nell", format="card_v3", include_state=True)
        there_before = await call(here, "relationship_get", persona_a="nell", persona_b="user:sam")
    assert (exported["memories"], exported["relationships"]) == (3, 2)
    card = json.loads(exported["content"])
    state = card["data"]["extensions"]["persona_mcp"]["state"]
    assert state["memories"]["embedding_model"]
    assert len(state["memories"]["jsonl"].splitlines()) == 3
    # A plain card reader sees an ordinary V3 card: every standard field is plain text or lists.
    assert card["spec"] == "chara_card_v3"
    assert card["data"]["description"] == NELL["description"]

    elsewhere = load_settings({}, data_dir=str(tmp_path / "elsewhere"), toolsets=("all",))
    async with Client(build_server(elsewhere)) as there:
        result = await call(there, "persona_import", content=exported["content"])
        assert (result["action"], result["persona"]["traits"]["extraversion"]) == ("created", 0.9)
        assert result["state"] == {
            "emotional_state": "applied",
            "relationships_imported": 2,
            "relationships_kept": 0,
            "relationships_skipped": [],
            "memories_stored": 3,
            "memories_merged": 0,
            "embedding_model_there": state["memories"]["embedding_model"],
        }
        found = await call(
            there, "memory_search", query="what food allergies does Ada have", persona_id="nell"
        )
        assert found["memories"][0]["memory"]["content"] == MEMORIES[0]
        assert found["memories"][0]["memory"]["pinned"] is True
        bond = await call(there, "relationship_get", persona_a="user:sam", persona_b="nell")
        for key in ("type", "affinity", "trust", "familiarity", "interaction_count"):
            assert bond[key] == there_before[key], key
        assert (await call(there, "emotional_get_state", persona_id="nell"))["valence"] == pytest.approx(
            0.8, abs=0.01
        )

        again = await call(there, "persona_import", content=exported["content"], merge=True)
        assert again["action"] == "merged"
        assert (again["state"]["memories_stored"], again["state"]["memories_merged"]) == (0, 3)
        assert again["state"]["relationships_kept"] == 2
        assert (await call(there, "memory_stats", persona_id="nell"))["total"] == 3


async def test_state_travels_in_our_yaml_too_and_unknown_parties_are_skipped(
    settings: Settings, tmp_path: Path
) -> None:
    async with Client(build_server(settings)) as here:
        await _nell_with_a_past(here)
        await call(here, "persona_create", name="Otto")
        interaction = {"kind": "chat", "quality": 0.2}
        await call(here, "relationship_update", persona_a="nell", persona_b="otto", interaction=interaction)
        exported = await call(here, "persona_export", persona_id="nell", format="yaml", include_state=True)
    elsewhere = load_settings({}, data_dir=str(tmp_path / "elsewhere"), toolsets=("all",))
    async with Client(build_server(elsewhere)) as there:
        result = await call(there, "persona_import", content=exported["content"])
        assert result["state"]["relationships_skipped"] == ["otto"]
        assert result["state"]["memories_stored"] == 3


async def test_blend_mixes_traits_interests_and_prose_by_weight(client: Client) -> None:
    aria = await call(client, "persona_get", persona_id="aria")
    kira = await call(client, "persona_get", persona_id="kira")
    mixed = await call(client, "persona_blend", persona_ids=["aria", "kira"], weights=[3, 1], name="Ariki")
    assert mixed["id"] == "ariki"
    for trait, value in mixed["traits"].items():
        assert value == pytest.approx(0.75 * aria["traits"][trait] + 0.25 * kira["traits"][trait], abs=1e-3)
    assert mixed["talkativeness"] == pytest.approx(0.75 * 0.8 + 0.25 * 0.45, abs=1e-3)
    # Shared interests score both weights and lead; the list is as long as the longest parent's.
    assert mixed["interests"][0] == "history"
    assert len(mixed["interests"]) == max(len(aria["interests"]), len(kira["interests"]))
    assert set(mixed["interests"]) <= set(aria["interests"]) | set(kira["interests"])
    assert mixed["description"].index("[75% Aria]") < mixed["description"].index("[25% Kira]")
    assert "Ariki" in mixed["system_prompt"]
    recipe = mixed["extensions"]["persona_mcp"]["blend"]["parents"]
    assert [(p["id"], p["weight"]) for p in recipe] == [("aria", 0.75), ("kira", 0.25)]
    equal = await call(client, "persona_blend", persona_ids=["aria", "kira"], name="Even")
    assert equal["traits"]["openness"] == pytest.approx((0.9 + 0.85) / 2, abs=1e-3)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"persona_ids": ["aria"], "name": "Solo"}, "persona_ids"),
        ({"persona_ids": ["aria", "aria"], "name": "Twin"}, "different"),
        ({"persona_ids": ["aria", "kira"], "weights": [1], "name": "Odd"}, "one weight per persona"),
        ({"persona_ids": ["aria", "kira"], "weights": [1, 0], "name": "Zero"}, "weights"),
        ({"persona_ids": ["aria", "ghost"], "name": "Boo"}, "persona_ids[1]"),
        ({"persona_ids": ["aria", "kira"], "name": "Aria"}, "already exists"),
    ],
)
async def test_blend_refuses_bad_input_and_creates_nothing(
    client: Client, arguments: dict[str, Any], words: str
) -> None:
    before = (await call(client, "persona_list"))["total_count"]
    assert words in await call_error(client, "persona_blend", **arguments)
    assert (await call(client, "persona_list"))["total_count"] == before


async def test_chat_sends_matching_lore_to_the_model(settings: Settings, ollama: OllamaStandIn) -> None:
    chat_settings = settings.model_copy(update={"ollama_host": ollama.url, "chat_timeout_seconds": 5.0})
    card = (Path(__file__).parent / "data" / "cards" / "sillytavern_v2.json").read_text()
    async with Client(build_server(chat_settings)) as client:
        await call(client, "persona_import", content=card)
        reply = await call(
            client, "persona_chat", persona_id="seraphina", message="Is the glade safe?", user_id="sam"
        )
        assert reply["lore_used"] == ["Always-on lore", "The glade"]
        sent = [body for path, body in ollama.requests if path == "/api/chat"][-1]["messages"]
        assert "hidden by an enchantment" in sent[0]["content"]
        assert "sam" in sent[0]["content"]  # {{user}} became the user's id
