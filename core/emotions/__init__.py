"""Emotional state: label, drift to baseline, changes and history."""

from core.emotions.service import RANGES, EmotionHistory, EmotionService, PastState
from core.emotions.state import DIMENSIONS, drifted, label, state_from_row

__all__ = [
    "DIMENSIONS",
    "RANGES",
    "EmotionHistory",
    "EmotionService",
    "PastState",
    "drifted",
    "label",
    "state_from_row",
]
