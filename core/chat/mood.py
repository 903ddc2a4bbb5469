"""How a chat exchange moves the persona's feelings, and how much it wants to keep talking.

Nudge (each exchange), from the words it answers (feeling f: pleasant minus unpleasant words, -1..1),
its affinity a with whoever said them, and its interest i in the topic (its interests and
knowledge domains in the words, 0-1):
  valence  += p (1 - valence) for p = 0.15 f + 0.04 a + 0.03 i >= 0, else p (1 + valence)
  arousal  += 0.08 (affect + 0.5 if '!') - 0.02 + 0.06 i
  stress   += 0.05 max(0, -f) - 0.02 max(0, f) + 0.03 max(0, -a)
  energy   -= 0.015 (1 - 0.5 extraversion) (1 + min(2, turns / 15)) (1 - 0.3 i)
where `turns` is how often the persona has already spoken in this conversation: long sessions tire
it faster, an engaging topic slower. Rest restores energy (drift to baseline, core.emotions).
Values stay in range.

continue_score (0-100) = 30 x energy + 25 x engagement (a question, a longer message, being named)
+ 25 x topic interest (the persona's interests in the message) + 20 x talkativeness.
"""

from __future__ import annotations

from core.memory.importance import ImportanceContext, ImportanceScore, score_importance
from core.models import EmotionalState, Persona

__all__ = ["continue_score", "feeling", "nudge", "signals_of"]

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
_VALENCE_STEP, _AROUSAL_STEP, _ENERGY_COST = 0.15, 0.08, 0.015


def _clip(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 4)


def _toward_bound(value: float, push: float) -> float:
    """A step of `push` that shrinks as `value` nears the bound it moves toward (-1 or 1)."""
    return push * (1 - value) if push >= 0 else push * (1 + value)


def feeling(message: str) -> float:
    """-1..1: the share of pleasant minus unpleasant words among the words with a feeling."""
    words = [w.strip(".,!?;:'\"").lower() for w in message.split()]
    pleasant = sum(w in _PLEASANT for w in words)
    unpleasant = sum(w in _UNPLEASANT for w in words)
    return (pleasant - unpleasant) / max(1, pleasant + unpleasant)


def nudge(
    state: EmotionalState,
    message: str,
    persona: Persona,
    signals: ImportanceScore,
    affinity: float = 0.0,
    turns: int = 0,
) -> dict[str, float]:
    """The emotional dimensions after one exchange (`signals`: the message scored for the persona;
    `affinity`: towards whoever said it; `turns`: the persona's earlier turns in this conversation)."""
    felt = feeling(message)
    interest = signals.factors["interest"]
    push = _VALENCE_STEP * felt + 0.04 * affinity + 0.03 * interest
    arousal_push = (
        _AROUSAL_STEP * (signals.affect + (0.5 if "!" in message else 0.0)) - 0.02 + 0.06 * interest
    )
    fatigue = 1 + min(2.0, turns / 15)
    cost = _ENERGY_COST * (1.0 - 0.5 * persona.traits.extraversion) * fatigue * (1 - 0.3 * interest)
    return {
        "valence": _clip(state.valence + _toward_bound(state.valence, push), -1.0, 1.0),
        "arousal": _clip(state.arousal + arousal_push, 0.0, 1.0),
        "dominance": state.dominance,
        "energy": _clip(state.energy - cost, 0.0, 1.0),
        "stress": _clip(
            state.stress + 0.05 * max(0.0, -felt) - 0.02 * max(0.0, felt) + 0.03 * max(0.0, -affinity),
            0.0,
            1.0,
        ),
    }


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
