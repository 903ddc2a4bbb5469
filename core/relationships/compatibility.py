"""How well two personas are likely to get on: a 0-1 score, its factors, and suggestions.

score = 0.35 traits + 0.30 interests + 0.15 style + 0.20 history, where
  traits    = 0.5 x similarity of openness, conscientiousness and agreeableness (1 - |a - b|)
              + 0.3 x their mean agreeableness (warmth) + 0.2 x (1 - mean neuroticism) (steadiness);
  interests = 0.7 x overlap of interests and values (shared / the smaller list; a shared word of
              four letters or more counts, so "jazz" meets "jazz piano") + 0.3 x what one knows that
              the other is curious about; 0.5 when either lists nothing;
  style     = 0.6 x how close their speaking styles are on formality and wordiness (read from the
              speaking_style words) + 0.4 x talkativeness balance (two who both dominate a
              conversation clash; one talker and one listener fit);
  history   = 0.5 when they never met, else 0.5 + 0.5 x (0.7 affinity + 0.3 (2 trust - 1)), pulled
              toward 0.5 while they are still unfamiliar.
"""

from __future__ import annotations

import re

from core.models import Persona
from core.relationships.dynamics import Bond
from core.relationships.models import Compatibility, CompatibilityFactors

__all__ = ["WEIGHTS", "compatibility"]

WEIGHTS = {"traits": 0.35, "interests": 0.30, "style": 0.15, "history": 0.20}
_FORMAL = frozenset(
    ["formal", "precise", "professional", "polite", "measured", "courteous", "technical", "exact"]
)
_CASUAL = frozenset(
    ["casual", "playful", "relaxed", "slang", "informal", "chatty", "jokey", "laid-back", "breezy"]
)
_WORDY = frozenset(
    ["elaborate", "detailed", "verbose", "poetic", "flowing", "expressive", "vivid", "lyrical", "rich"]
)
_TERSE = frozenset(["concise", "brief", "short", "terse", "crisp", "clipped", "succinct", "direct", "blunt"])
_MAX_SUGGESTIONS = 8


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z][a-z-]{3,}", text.casefold())}


def _match(a: str, b: str) -> bool:
    return a.casefold() == b.casefold() or bool(_words(a) & _words(b))


def _shared(left: list[str], right: list[str]) -> list[str]:
    return [item for item in left if any(_match(item, other) for other in right)]


def _round(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


def _traits(a: Persona, b: Persona) -> float:
    ta, tb = a.traits, b.traits
    similarity = (
        1
        - (
            abs(ta.openness - tb.openness)
            + abs(ta.conscientiousness - tb.conscientiousness)
            + abs(ta.agreeableness - tb.agreeableness)
        )
        / 3
    )
    warmth = (ta.agreeableness + tb.agreeableness) / 2
    steadiness = 1 - (ta.neuroticism + tb.neuroticism) / 2
    return 0.5 * similarity + 0.3 * warmth + 0.2 * steadiness


def _interests(a: Persona, b: Persona) -> tuple[float, list[str]]:
    likes_a, likes_b = [*a.interests, *a.values], [*b.interests, *b.values]
    if not likes_a or not likes_b:
        return 0.5, []
    shared = _shared(a.interests, b.interests) + _shared(a.values, b.values)
    matched = (len(_shared(likes_a, likes_b)) + len(_shared(likes_b, likes_a))) / 2  # the same both ways
    overlap = min(1.0, matched / min(len(likes_a), len(likes_b)))
    teach = _shared(a.knowledge_domains, b.interests) + _shared(b.knowledge_domains, a.interests)
    curiosity = min(1.0, len(teach) / 2)
    return 0.7 * overlap + 0.3 * curiosity, shared


def _style_axes(persona: Persona) -> tuple[float, float]:
    words = _words(persona.speaking_style) | {w + "s" for w in _words(persona.speaking_style)}
    formality = 0.5 + 0.25 * (len(words & _FORMAL) > 0) - 0.25 * (len(words & _CASUAL) > 0)
    wordiness = 0.5 + 0.25 * (len(words & _WORDY) > 0) - 0.25 * (len(words & _TERSE) > 0)
    return formality, wordiness


def _style(a: Persona, b: Persona) -> float:
    (fa, wa), (fb, wb) = _style_axes(a), _style_axes(b)
    closeness = 1 - (abs(fa - fb) + abs(wa - wb)) / 2
    balance = 1 - max(0.0, a.talkativeness + b.talkativeness - 1.2) / 0.8
    return 0.6 * closeness + 0.4 * balance


def _history(bond: Bond | None) -> float:
    if bond is None or bond.interaction_count == 0:
        return 0.5
    felt = 0.5 + 0.5 * (0.7 * bond.affinity + 0.3 * (2 * bond.trust - 1))
    certainty = min(1.0, 2 * bond.familiarity)
    return 0.5 + (felt - 0.5) * certainty


def _suggestions(a: Persona, b: Persona, shared: list[str], bond: Bond | None, last: str | None) -> list[str]:
    tips = [f"Talk about {topic}: both of them care about it." for topic in shared[:3]]
    for knower, learner in ((a, b), (b, a)):
        for domain in _shared(knower.knowledge_domains, learner.interests)[:1]:
            tips.append(
                f"Let {knower.name} share what they know of {domain}; {learner.name} is curious about it."
            )
    ta, tb = a.traits, b.traits
    if abs(ta.openness - tb.openness) > 0.4:
        closed = a if ta.openness < tb.openness else b
        tips.append(f"Avoid springing unusual ideas on {closed.name}; bring them in gently.")
    if ta.neuroticism > 0.6 and tb.neuroticism > 0.6:
        tips.append("Avoid heated or high-stakes topics: both are easily stressed.")
    if ta.agreeableness < 0.35 and tb.agreeableness < 0.35:
        tips.append("Avoid open-ended arguments: neither tends to give way.")
    if abs(ta.conscientiousness - tb.conscientiousness) > 0.4:
        tips.append("Avoid rigid plans: one likes structure, the other does not.")
    only_a = [i for i in a.interests if i not in _shared(a.interests, b.interests)][:2]
    if only_a and shared:
        tips.append(f"Do not dwell on {', '.join(only_a)}: only {a.name} enjoys it.")
    if bond is not None and bond.affinity < -0.2:
        tips.append(
            "Start with low-stakes topics: their past interactions went badly"
            + (f" (last: {last})." if last else ".")
        )
    elif bond is None or bond.interaction_count == 0:
        tips.append("They have never met: begin with an introduction and common ground.")
    return tips[:_MAX_SUGGESTIONS]


def compatibility(
    a: Persona, b: Persona, bond: Bond | None, last_summary: str | None = None
) -> Compatibility:
    """Compatibility of two personas, with the relationship they have (None: never met)."""
    interests, shared = _interests(a, b)
    factors = CompatibilityFactors(
        traits=_round(_traits(a, b)),
        interests=_round(interests),
        style=_round(_style(a, b)),
        history=_round(_history(bond)),
    )
    score = sum(getattr(factors, name) * weight for name, weight in WEIGHTS.items())
    return Compatibility(
        persona_a=a.id,
        persona_b=b.id,
        score=_round(score),
        factors=factors,
        weights=WEIGHTS,
        shared_topics=shared,
        suggestions=_suggestions(a, b, shared, bond, last_summary),
    )
