"""Emotional state: its label, and its drift back to the persona's baseline.

Drift is computed from timestamps, never by a background job: a dimension x stored at time t0 reads
at time t as  baseline + (x - baseline) * 0.5 ** ((t - t0) / half_life).  Valence, arousal,
dominance and stress share the mood half-life; energy has its own, longer one (rest restores
social energy more slowly than a mood passes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.clock import parse_iso
from core.models import EmotionalBaseline, EmotionalState

__all__ = ["DIMENSIONS", "drifted", "label", "state_from_row"]

DIMENSIONS: tuple[str, ...] = ("valence", "arousal", "dominance", "energy", "stress")

# Thresholds on the 0-1 (or -1..1 for valence) scales; chosen so the shipped baselines read as
# "content" or "calm", and a clearly negative, agitated state reads as "anxious" or "angry".
_POSITIVE, _NEGATIVE = 0.3, -0.3
_HIGH, _LOW = 0.6, 0.35
_EXHAUSTED = 0.15
_TIRED = 0.3


def label(valence: float, arousal: float, dominance: float, energy: float, stress: float) -> str:
    """A one-word name for a point in the emotion space."""
    if energy < _EXHAUSTED:
        return "exhausted"
    if valence >= _POSITIVE:
        if arousal >= _HIGH:
            return "excited"
        return "happy" if arousal >= _LOW else "content"
    if valence <= _NEGATIVE:
        if stress >= _HIGH or arousal >= _HIGH:
            return "angry" if dominance >= _HIGH else "anxious"
        return "sad" if arousal < _LOW else "upset"
    if stress >= _HIGH:
        return "tense"
    if energy < _TIRED:
        return "tired"
    if arousal >= _HIGH:
        return "alert"
    return "calm" if arousal < _LOW else "neutral"


def drifted(
    values: dict[str, float],
    baseline: EmotionalBaseline,
    elapsed_seconds: float,
    mood_half_life_seconds: float,
    energy_half_life_seconds: float,
) -> dict[str, float]:
    """The dimensions `elapsed_seconds` after they were `values`, drawn back toward `baseline`."""
    rest = baseline.model_dump()
    elapsed = max(0.0, elapsed_seconds)
    out = {}
    for name in DIMENSIONS:
        half_life = energy_half_life_seconds if name == "energy" else mood_half_life_seconds
        keep = 0.5 ** (elapsed / half_life)
        out[name] = round(rest[name] + (values[name] - rest[name]) * keep, 6)
    return out


def state_from_row(
    row: dict[str, Any] | None,
    baseline: EmotionalBaseline,
    now: datetime | None = None,
    half_lives: tuple[float, float] | None = None,
) -> EmotionalState:
    """The state a stored row describes (the baseline when there is none); with `now` and the
    (mood, energy) half-lives in seconds, drifted to `now`."""
    values = baseline.model_dump() if row is None else {k: float(row[k]) for k in DIMENSIONS}
    updated = parse_iso(row["updated_at"]) if row else None
    if updated is not None and now is not None and half_lives is not None:
        values = drifted(values, baseline, (now - updated).total_seconds(), *half_lives)
    return EmotionalState(**values, label=label(**values), baseline=baseline, updated_at=updated)
