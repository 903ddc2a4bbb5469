"""Decay math against closed-form values, and importance scoring's explanations."""

from __future__ import annotations

import math

import pytest

from core.config import load_settings
from core.memory.decay import DecayPolicy, decayed, reinforced
from core.memory.importance import ImportanceContext, score_importance

DAY = 86_400.0


def policy(mode: str, rate: float = 0.05) -> DecayPolicy:
    settings = load_settings({}, decay_mode=mode, decay_rate=rate)
    return DecayPolicy.from_settings(settings)


def strength(
    mode: str, days: float, kind: str = "episodic", intensity: float = 0.0, **extra: object
) -> float:
    return decayed(
        policy(mode),
        anchor_strength=float(extra.get("anchor", 1.0)),  # type: ignore[arg-type]
        elapsed_seconds=days * DAY,
        kind=kind,
        intensity=intensity,
        pinned=bool(extra.get("pinned", False)),
        importance=float(extra.get("importance", 0.2)),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("mode", "days", "expected"),
    [
        ("exponential", 30, math.exp(-0.05 * 30)),  # 0.22313
        ("exponential", 0, 1.0),
        ("linear", 10, 1 - 0.05 * 10),  # 0.5
        ("linear", 30, 0.0),  # would be -0.5: strength stops at 0
        ("logarithmic", 30, 1 - 0.05 * math.log(31)),  # 0.82830
        ("step", 30, 0.95**30),  # 0.21464
        ("step", 30.99, 0.95**30),  # no drop until a whole day has passed
        ("step", 31, 0.95**31),
    ],
)
def test_each_mode_matches_its_closed_form(mode: str, days: float, expected: float) -> None:
    assert strength(mode, days) == pytest.approx(expected, abs=1e-12)


def test_kinds_fade_at_their_own_rates_and_emotion_slows_decay() -> None:
    episodic = strength("exponential", 30)
    semantic = strength("exponential", 30, kind="semantic")
    procedural = strength("exponential", 30, kind="procedural")
    vivid = strength("exponential", 30, intensity=1.0)
    assert semantic == pytest.approx(math.exp(-0.05 * 0.3 * 30))
    assert procedural == pytest.approx(math.exp(-0.05 * 0.2 * 30))
    assert vivid == pytest.approx(math.exp(-0.05 * 0.5 * 30))  # half the rate
    assert episodic < vivid < semantic < procedural


def test_pinned_and_important_memories_keep_the_floor() -> None:
    assert strength("linear", 100, pinned=True) == 0.5
    assert strength("linear", 100, importance=0.8) == 0.5
    assert strength("linear", 100, importance=0.79) == 0.0
    assert strength("exponential", 1, pinned=True) == pytest.approx(
        math.exp(-0.05)
    )  # above the floor: decays


def test_decay_from_the_anchor_is_the_same_however_often_it_runs() -> None:
    # Exponential decay composes: a week of daily runs re-anchored each day equals one run.
    once = strength("exponential", 7)
    daily = 1.0
    for _ in range(7):
        daily = strength("exponential", 1, anchor=daily)
    assert daily == pytest.approx(once, abs=1e-12)


def test_reinforcement_restores_half_the_loss_plus_a_tenth() -> None:
    assert reinforced(0.2) == pytest.approx(0.2 + 0.4 + 0.1)
    assert reinforced(0.95) == 1.0


def test_importance_explains_itself_and_is_deterministic() -> None:
    context = ImportanceContext(interests=["jazz music", "pottery"], arousal=0.4)
    plain = score_importance("I went to the shop.", context)
    event = score_importance("We got married in June and I am so happy!", context)
    promise = score_importance("I promise to remember Maya's recital on 12 March.", context)
    hobby = score_importance("Jazz music at the pottery class tonight", context)
    assert plain.importance < 0.3
    assert event.importance > plain.importance + 0.3
    assert {"life event: married", "feeling: happy", "date: june"} <= set(event.cues)
    assert "commitment: promise" in promise.cues
    assert "name: Maya's" in promise.cues
    assert promise.factors["specifics"] > 0.5
    assert hobby.factors["interest"] == 1.0
    assert score_importance("We got married in June and I am so happy!", context) == event
    explanation = event.explanation()
    assert set(explanation["factors"]) == {  # type: ignore[arg-type]
        "affect",
        "significance",
        "specifics",
        "interest",
        "engagement",
        "relationship",
        "arousal",
    }


def test_relationship_and_arousal_raise_importance() -> None:
    text = "Sam dropped by for coffee."
    distant = score_importance(text, ImportanceContext())
    close = score_importance(text, ImportanceContext(relationship=0.9, arousal=0.9))
    assert close.importance > distant.importance
    assert "relationship: 0.90" in close.cues
