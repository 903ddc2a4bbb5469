"""Encoding a memory: its importance (when not given) and the emotion it was stored in.

One Encoder serves one write: it looks up each persona's mood and each (persona, subject)
relationship once, however many memories of the batch need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.memory.importance import ImportanceContext, score_importance
from core.models import EmotionalState, Persona
from core.personas import PersonaService
from core.store import StatusRepository, Store

__all__ = ["Encoder", "Encoding"]

# How much of a memory's vividness comes from its words, and how much from the persona's arousal.
_FROM_WORDS, _FROM_AROUSAL = 0.7, 0.3


@dataclass(frozen=True)
class Encoding:
    """What storing adds to a memory besides its text."""

    importance: float
    explanation: dict[str, Any] | None  # why, when the importance was scored
    valence: float
    arousal: float
    label: str
    intensity: float


class Encoder:
    """Scores and stamps the memories of one write."""

    def __init__(self, db: Store, personas: PersonaService) -> None:
        self._db = db
        self._personas = personas
        self._moods: dict[str, EmotionalState] = {}
        self._closeness: dict[tuple[str, str], float | None] = {}

    async def encode(
        self, persona: Persona, content: str, subject: str | None, importance: float | None
    ) -> Encoding:
        mood = await self._mood(persona)
        context = ImportanceContext(
            interests=[*persona.interests, *persona.knowledge_domains],
            relationship=await self._relationship(persona.id, subject) if subject else None,
            arousal=mood.arousal,
        )
        score = score_importance(content, context)
        return Encoding(
            importance=score.importance if importance is None else importance,
            explanation=score.explanation() if importance is None else None,
            valence=mood.valence,
            arousal=mood.arousal,
            label=mood.label,
            intensity=round(min(1.0, _FROM_WORDS * score.affect + _FROM_AROUSAL * mood.arousal), 4),
        )

    async def _mood(self, persona: Persona) -> EmotionalState:
        if persona.id not in self._moods:
            self._moods[persona.id] = await self._personas.emotional_state(persona)
        return self._moods[persona.id]

    async def _relationship(self, persona_id: str, subject: str) -> float | None:
        """Closeness (0-1) of the persona to the subject, when a relationship with it is known:
        the subject may be another persona's id or a user (`user:<name>`)."""
        key = (persona_id, subject)
        if key not in self._closeness:
            closeness = None
            for other in (subject, subject.lower(), f"user:{subject}", f"user:{subject.lower()}"):
                if other == persona_id:
                    continue
                row = await StatusRepository(self._db).relationship(persona_id, other)
                if row is not None:
                    closeness = (
                        0.5 * row["familiarity"] + 0.25 * row["trust"] + 0.25 * max(0.0, row["affinity"])
                    )
                    break
            self._closeness[key] = closeness
        return self._closeness[key]
