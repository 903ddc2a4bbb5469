"""relationship_* and emotional_* through a real client: symmetry, neutral strangers, history,
compatibility, stats, drift with the test clock, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.store_rows import value

pytestmark = pytest.mark.anyio


@pytest.fixture
def clocked(settings: Settings) -> Settings:
    return settings.model_copy(update={"test_clock": True, "decay_enabled": False})


@pytest.fixture
async def client(clocked: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(clocked), raise_exceptions=True) as session:
        yield session


def _rows(settings: Settings, table: str) -> int:
    return int(value(settings, f"SELECT count(*) FROM {table}"))


async def test_strangers_read_as_neutral_without_a_row(client: Client, clocked: Settings) -> None:
    neutral = await call(client, "relationship_get", persona_a="aria", persona_b="kira")
    assert neutral["met"] is False
    assert (neutral["type"], neutral["affinity"], neutral["interaction_count"]) == ("stranger", 0.0, 0)
    assert _rows(clocked, "relationships") == 0


async def test_an_interaction_is_symmetric_and_recorded(client: Client) -> None:
    after = await call(
        client,
        "relationship_update",
        persona_a="kira",
        persona_b="aria",
        interaction={"kind": "help", "quality": 0.8, "summary": "Kira found Aria a lost song."},
    )
    assert after["met"]
    assert after["type"] == "acquaintance"
    assert after["affinity"] > 0
    assert (after["persona_a"], after["persona_b"]) == ("kira", "aria")
    mirrored = await call(client, "relationship_get", persona_a="aria", persona_b="kira")
    for key in ("type", "affinity", "trust", "familiarity", "interaction_count", "last_interaction_at"):
        assert mirrored[key] == after[key]
    await call(
        client,
        "relationship_update",
        persona_a="aria",
        persona_b="kira",
        interaction={"kind": "conflict", "quality": -0.5, "summary": "They argued about a date."},
    )
    history = await call(client, "relationship_history", persona_a="kira", persona_b="aria")
    assert history["total_count"] == 2
    assert [i["kind"] for i in history["interactions"]] == ["conflict", "help"]  # newest first
    assert history["interactions"][0]["trust_after"] < history["interactions"][1]["trust_after"]
    listed = await call(client, "relationship_list", persona_id="aria")
    assert [r["persona_b"] for r in listed["relationships"]] == ["kira"]


async def test_friendship_grows_and_an_explicit_type_holds(client: Client) -> None:
    for _ in range(8):
        result = await call(
            client,
            "relationship_update",
            persona_a="aria",
            persona_b="user:sam",
            interaction={"kind": "chat", "quality": 0.7},
        )
    assert result["type"] == "friend"
    mentor = await call(
        client,
        "relationship_update",
        persona_a="kira",
        persona_b="user:sam",
        interaction={"kind": "help", "quality": 0.5},
        type="mentor",
    )
    assert mentor["type"] == "mentor"
    assert mentor["type_locked"]
    for _ in range(3):
        mentor = await call(
            client,
            "relationship_update",
            persona_a="kira",
            persona_b="user:sam",
            interaction={"kind": "insult", "quality": -1.0},
        )
    assert mentor["type"] == "mentor"
    assert mentor["affinity"] < 0
    freed = await call(
        client,
        "relationship_update",
        persona_a="kira",
        persona_b="user:sam",
        interaction={"kind": "insult", "quality": -1.0},
        type="auto",
    )
    assert freed["type"] in ("rival", "enemy")
    assert not freed["type_locked"]
    by_user = await call(client, "relationship_list", persona_id="user:sam")
    assert {r["persona_b"] for r in by_user["relationships"]} == {"aria", "kira"}


@pytest.mark.parametrize(
    ("arguments", "argument", "fix"),
    [
        ({"persona_a": "aria", "persona_b": "aria"}, "persona_b", "two different parties"),
        ({"persona_a": "aria", "persona_b": "nobody"}, "persona_b", "'user:<id>'"),
        ({"persona_a": "aria", "persona_b": "user:"}, "persona_b", "user:<id>"),
        ({"persona_a": "aria", "persona_b": "kira", "type": "soulmate"}, "type", "stranger"),
        (
            {"persona_a": "aria", "persona_b": "kira", "interaction": {"kind": "chat", "quality": 1.5}},
            "quality",
            "1",
        ),
        (
            {"persona_a": "aria", "persona_b": "kira", "interaction": {"kind": "Chat!", "quality": 0.1}},
            "kind",
            "",
        ),
    ],
)
async def test_bad_updates_are_refused_and_change_nothing(
    client: Client, clocked: Settings, arguments: dict[str, object], argument: str, fix: str
) -> None:
    arguments = {"interaction": {"kind": "chat", "quality": 0.5}, **arguments}
    message = await call_error(client, "relationship_update", **arguments)
    assert argument in message
    assert fix in message
    assert _rows(clocked, "relationships") == 0
    assert _rows(clocked, "interactions") == 0


async def test_compatibility_explains_itself(client: Client) -> None:
    result = await call(client, "relationship_compatibility", persona_a="aria", persona_b="kira")
    assert 0 < result["score"] < 1
    assert set(result["factors"]) == {"traits", "interests", "style", "history"}
    assert result["factors"]["history"] == 0.5  # never met
    assert "history" in result["shared_topics"]
    assert any("history" in tip for tip in result["suggestions"])
    assert any("never met" in tip for tip in result["suggestions"])
    user = await call_error(client, "relationship_compatibility", persona_a="aria", persona_b="user:sam")
    assert "persona_b" in user
    assert "users have no traits" in user
    for _ in range(5):
        await call(
            client,
            "relationship_update",
            persona_a="aria",
            persona_b="kira",
            interaction={"kind": "betrayal", "quality": -0.9, "summary": "Aria sold Kira's notes."},
        )
    soured = await call(client, "relationship_compatibility", persona_a="kira", persona_b="aria")
    assert soured["score"] < result["score"]
    assert any("Aria sold Kira's notes." in tip for tip in soured["suggestions"])
    stats = await call(client, "relationship_stats")
    assert stats["relationships"] == 1
    assert stats["interactions_total"] == 5
    assert stats["by_type"] == {"enemy": 1} or stats["by_type"] == {"rival": 1}
    assert stats["personas_compared"] >= 2
    pair_scores = [p["score"] for p in stats["most_compatible"]]
    assert pair_scores == sorted(pair_scores, reverse=True)


async def test_feelings_drift_back_to_baseline_with_time(client: Client, clocked: Settings) -> None:
    rest = (await call(client, "emotional_get_state", persona_id="kira"))["baseline"]
    upset = await call(
        client, "emotional_update_state", persona_id="kira", valence=-0.8, stress=0.9, reason="bad news"
    )
    assert upset["label"] == "anxious"
    await call(client, "system_clock_advance", hours=1)  # one mood half-life
    later = await call(client, "emotional_get_state", persona_id="kira")
    assert later["valence"] == pytest.approx(rest["valence"] + (-0.8 - rest["valence"]) / 2, abs=2e-3)
    assert later["stress"] == pytest.approx(rest["stress"] + (0.9 - rest["stress"]) / 2, abs=2e-3)
    await call(client, "system_clock_advance", days=2)
    calm = await call(client, "emotional_get_state", persona_id="kira")
    assert calm["valence"] == pytest.approx(rest["valence"], abs=1e-3)
    assert calm["label"] == (await call(client, "emotional_get_state", persona_id="kira"))["label"]
    moved = await call(
        client, "emotional_update_state", persona_id="kira", deltas={"energy": -0.5, "valence": 5e-1}
    )
    assert moved["energy"] == pytest.approx(rest["energy"] - 0.5, abs=1e-3)
    assert moved["valence"] == pytest.approx(min(1.0, rest["valence"] + 0.5), abs=1e-3)
    history = await call(client, "emotional_history", persona_id="kira")
    assert history["total_count"] == 2
    assert history["states"][1]["reason"] == "bad news"  # newest first
    assert "energy-0.5" in history["states"][0]["reason"]


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"valence": 1.5}, "valence"),
        ({"energy": -0.1}, "energy"),
        ({"deltas": {"stress": 3}}, "stress"),
        ({"valence": 0.1, "deltas": {"valence": 0.1}}, "valence"),
        ({}, "deltas"),
        ({"persona_id": "nobody", "valence": 0.1}, "persona_id"),
    ],
)
async def test_bad_emotion_updates_change_nothing(
    client: Client, clocked: Settings, arguments: dict[str, object], argument: str
) -> None:
    message = await call_error(client, "emotional_update_state", **arguments)
    assert argument in message
    assert _rows(clocked, "emotional_history") == 0
    assert _rows(clocked, "emotional_states") == 0
