"""How a chat exchange moves the persona's feelings, and how much it wants to keep talking.

Nudge (each exchange): valence moves up to 0.15 towards the feeling of the user's words
(pleasant words minus unpleasant ones), arousal rises with the intensity of the words and
exclamation, and each exchange costs a little energy (less for an extravert). Values stay in range.
Drift back to the baseline over time comes with the emotions work.

continue_score (0-100) = 30 x energy + 25 x engagement (a question, a longer message, being named)
+ 25 x topic interest (the persona's interests in the message) + 20 x talkativeness.
"""

from __future__ import annotations

from core.memory.importance import ImportanceContext, ImportanceScore, score_importance
from core.models import EmotionalState, Persona
from core.store import Database

__all__ = ["continue_score", "nudge", "save_state", "signals_of"]

_PLEASANT = frozenset(
    [
        "glad",
        "happy",
        "great",
        "love",
        "loved",
        "wonderful",
        "thanks",
        "thank",
        "amazing",
        "good",
        "nice",
        "excited",
        "proud",
        "fun",
        "enjoy",
        "enjoyed",
        "beautiful",
        "lovely",
        "awesome",
        "delighted",
        "grateful",
        "kind",
        "brilliant",
        "fantastic",
        "calm",
        "relaxed",
    ]
)
_UNPLEASANT = frozenset(
    [
        "sad",
        "angry",
        "upset",
        "hate",
        "awful",
        "terrible",
        "bad",
        "worried",
        "afraid",
        "scared",
        "lonely",
        "tired",
        "hurt",
        "sorry",
        "annoyed",
        "frustrated",
        "miserable",
        "stressed",
        "anxious",
        "furious",
        "disappointed",
        "depressed",
        "exhausted",
    ]
)
_VALENCE_STEP, _AROUSAL_STEP, _ENERGY_COST = 0.15, 0.08, 0.03


def _clip(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 4)


def nudge(
    state: EmotionalState, message: str, persona: Persona, signals: ImportanceScore
) -> dict[str, float]:
    """The emotional dimensions after one exchange (`signals`: the message scored for the persona)."""
    words = [w.strip(".,!?;:'\"").lower() for w in message.split()]
    pleasant = sum(w in _PLEASANT for w in words)
    unpleasant = sum(w in _UNPLEASANT for w in words)
    feeling = (pleasant - unpleasant) / max(1, pleasant + unpleasant)
    arousal_push = _AROUSAL_STEP * (signals.affect + (0.5 if "!" in message else 0.0)) - 0.02
    return {
        "valence": _clip(state.valence + _VALENCE_STEP * feeling, -1.0, 1.0),
        "arousal": _clip(state.arousal + arousal_push, 0.0, 1.0),
        "dominance": state.dominance,
        "energy": _clip(state.energy - _ENERGY_COST * (1.0 - 0.5 * persona.traits.extraversion), 0.0, 1.0),
        "stress": _clip(state.stress + 0.05 * max(0.0, -feeling), 0.0, 1.0),
    }


async def save_state(db: Database, persona_id: str, values: dict[str, float], reason: str, at: str) -> None:
    """Store the persona's new state and add it to its emotional history, in one transaction."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO emotional_states (persona_id, valence, arousal, dominance, energy, stress, "
            "updated_at) VALUES (:persona_id, :valence, :arousal, :dominance, :energy, :stress, :at) "
            "ON CONFLICT (persona_id) DO UPDATE SET valence = :valence, arousal = :arousal, "
            "dominance = :dominance, energy = :energy, stress = :stress, updated_at = :at",
            {"persona_id": persona_id, **values, "at": at},
        )
        await tx.execute(
            "INSERT INTO emotional_history (persona_id, valence, arousal, dominance, energy, stress, "
            "reason, created_at) VALUES (:persona_id, :valence, :arousal, :dominance, :energy, :stress, "
            ":reason, :at)",
            {"persona_id": persona_id, **values, "reason": reason, "at": at},
        )


def signals_of(message: str, persona: Persona) -> ImportanceScore:
    """The user's message scored once, for both the nudge (affect) and continue_score (interest)."""
    return score_importance(
        message, ImportanceContext(interests=[*persona.interests, *persona.knowledge_domains])
    )


def continue_score(persona: Persona, energy: float, message: str, signals: ImportanceScore) -> int:
    """0-100: how much the persona wants to keep talking after this message."""
    engagement = 0.0
    if "?" in message:
        engagement += 0.5
    if len(message.split()) > 12:
        engagement += 0.3
    names = [persona.name.lower(), *(a.lower() for a in persona.aliases)]
    if any(name in message.lower() for name in names):
        engagement += 0.2
    interest = signals.factors["interest"]
    score = 30 * energy + 25 * min(1.0, engagement) + 25 * interest + 20 * persona.talkativeness
    return round(min(100.0, max(0.0, score)))
