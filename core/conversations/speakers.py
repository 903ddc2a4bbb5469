"""Who speaks next in a group conversation. Deterministic: the same state and seed give the same choice.

1. mention: a present persona named (name or alias, as a whole word) in the message speaks; when
   several are named, the one named first. A persona does not answer its own mention of itself.
2. otherwise a weighted draw: weight = talkativeness (0.05 at least) x (1 + 2 x its interest in the
   message, from its interests and knowledge domains) x (1 + 0.5 x turns since it last spoke,
   at most 3, so nobody waits forever), and the last speaker's weight is multiplied by 0.15.
   The reason is `talkativeness` when the winner also had the largest weight, else `rotation`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.memory.importance import ImportanceContext, score_importance
from core.models import Persona

__all__ = ["SpeakerChoice", "choose_speaker"]

_LAST_SPEAKER = 0.15
_MIN_TALK = 0.05
_WAIT_STEP, _WAIT_CAP = 0.5, 3


@dataclass(frozen=True)
class SpeakerChoice:
    persona_id: str
    reason: str  # mention, talkativeness, rotation
    weights: dict[str, float]


def _mentioned(message: str, persona: Persona) -> int | None:
    """Where the persona is first named in the message, if it is."""
    found = [
        match.start()
        for name in (persona.name, *persona.aliases)
        if name.strip()
        for match in [re.search(rf"(?<!\w){re.escape(name.strip())}(?!\w)", message, re.IGNORECASE)]
        if match
    ]
    return min(found) if found else None


def choose_speaker(
    present: Sequence[Persona],
    speakers: Sequence[str | None],
    message: str | None,
    seed: int,
    author: str | None = None,
) -> SpeakerChoice:
    """The next speaker among `present` personas, given who spoke so far (oldest first, None for
    the user), the message being answered and who said it (None: the user)."""
    last = next((s for s in reversed(speakers) if s is not None), None)
    if message:
        named = [
            (position, persona.id)
            for persona in present
            if persona.id != author and (position := _mentioned(message, persona)) is not None
        ]
        if named:
            return SpeakerChoice(min(named)[1], "mention", {})
    weights: dict[str, float] = {}
    for persona in present:
        interest = 0.0
        if message:
            context = ImportanceContext(interests=[*persona.interests, *persona.knowledge_domains])
            interest = score_importance(message, context).factors["interest"]
        waited = next(
            (i for i, speaker in enumerate(reversed(speakers)) if speaker == persona.id), len(speakers)
        )
        weight = max(_MIN_TALK, persona.talkativeness) * (1 + 2 * interest)
        weight *= 1 + _WAIT_STEP * min(_WAIT_CAP, waited)
        if persona.id == last and len(present) > 1:
            weight *= _LAST_SPEAKER
        weights[persona.id] = round(weight, 6)
    ids = sorted(weights)
    chosen = random.Random(seed).choices(ids, weights=[weights[i] for i in ids])[0]
    reason = "talkativeness" if weights[chosen] == max(weights.values()) else "rotation"
    return SpeakerChoice(chosen, reason, weights)
