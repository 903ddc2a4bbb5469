"""Extractive summaries of conversation turns: the sentences that matter most, in order.

Used for the running summary of turns that no longer fit a context budget, and by
conversation.end when no model is at hand. Sentences are ranked by the importance scorer (the
same factors a memory is scored by), ties broken by position; the chosen ones are kept in their
original order with their speaker. Deterministic, offline and fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.chat.tokens import TokenCounter
from core.memory.importance import ImportanceContext, score_importance

__all__ = ["Turn", "summarize"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MIN_CHARS = 12  # "ok", "thanks!" and the like carry nothing worth keeping


@dataclass(frozen=True)
class Turn:
    speaker: str
    content: str


def summarize(turns: Sequence[Turn], budget: int, tokens: TokenCounter) -> str:
    """At most `budget` tokens of the turns' most important sentences, each with its speaker."""
    sentences: list[tuple[int, str, str]] = []
    for turn in turns:
        for sentence in _SENTENCE.split(turn.content.strip()):
            if len(sentence.strip()) >= _MIN_CHARS:
                sentences.append((len(sentences), turn.speaker, sentence.strip()))
    context = ImportanceContext()
    ranked = sorted(sentences, key=lambda s: (-score_importance(s[2], context).importance, s[0]))
    lines = [f"{speaker}: {text}" for _, speaker, text in ranked]
    costs = tokens.count_many(lines)
    chosen: list[int] = []
    used = 0
    for index, cost in enumerate(costs):
        if used + cost + 1 <= budget:
            chosen.append(index)
            used += cost + 1
    kept = sorted((ranked[i][0], lines[i]) for i in chosen)
    return " ".join(line for _, line in kept)
