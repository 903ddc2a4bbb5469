"""Emotional state: the label derived from its dimensions, and the state read from storage.

Drift, history and chat nudges build on these in the emotions work; the label is defined once here.
"""

from __future__ import annotations

from typing import Any

from core.clock import parse_iso
from core.models import EmotionalBaseline, EmotionalState

__all__ = ["label", "state_from_row"]

# Thresholds on the 0-1 (or -1..1 for valence) scales; chosen so the shipped baselines read as
# "content" or "calm", and a clearly negative, agitated state reads as "anxious" or "angry".
_POSITIVE, _NEGATIVE = 0.3, -0.3
_HIGH, _LOW = 0.6, 0.35
_EXHAUSTED = 0.15


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
    if arousal >= _HIGH:
        return "alert"
    return "calm" if arousal < _LOW else "neutral"


def state_from_row(row: dict[str, Any] | None, baseline: EmotionalBaseline) -> EmotionalState:
    """The current state: the stored row, or the baseline when nothing has moved it yet."""
    values = baseline.model_dump() if row is None else {k: row[k] for k in EmotionalBaseline.model_fields}
    return EmotionalState(
        **values,
        label=label(**values),
        baseline=baseline,
        updated_at=parse_iso(row["updated_at"]) if row else None,
    )
