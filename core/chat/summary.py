"""Extractive summaries of conversation turns: the sentences that matter most, in order.

Used for the running summary of turns that no longer fit a context budget, and by
conversation_end when no model is at hand. Sentences are ranked by the importance scorer (the
same factors a memory is scored by), ties broken by position; the chosen ones are kept in their
original order with their speaker. Deterministic, offline and fast: a turn's sentences are scored
once (`SentenceCache`), so a long conversation costs little more per message than a short one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.chat.tokens import TokenCounter
from core.memory.importance import ImportanceContext, score_importance

__all__ = ["Scored", "SentenceCache", "Turn", "choose", "score_turn", "summarize"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MIN_CHARS = 12  # "ok", "thanks!" and the like carry nothing worth keeping
_CACHED_TURNS = 50_000


@dataclass(frozen=True)
class Turn:
    speaker: str
    content: str


@dataclass(frozen=True)
class Scored:
    """One sentence of a turn, ready to be chosen."""

    line: str  # "speaker: sentence"
    importance: float
    tokens: int


def score_turn(turn: Turn, tokens: TokenCounter) -> list[Scored]:
    parts = [s.strip() for s in _SENTENCE.split(turn.content.strip()) if len(s.strip()) >= _MIN_CHARS]
    lines = [f"{turn.speaker}: {text}" for text in parts]
    context = ImportanceContext()
    return [
        Scored(line, score_importance(text, context).importance, cost)
        for line, text, cost in zip(lines, parts, tokens.count_many(lines), strict=True)
    ]


class SentenceCache:
    """Scored sentences by message id: each stored message is scored once. The text is part of
    the key, so a message id that comes to mean another message (a state_load) is scored anew."""

    def __init__(self, tokens: TokenCounter) -> None:
        self._tokens = tokens
        self._scored: dict[tuple[int, str, str], list[Scored]] = {}

    def get(self, message_id: int, turn: Turn) -> list[Scored]:
        key = (message_id, turn.speaker, turn.content)
        if key not in self._scored:
            if len(self._scored) >= _CACHED_TURNS:
                self._scored.clear()
            self._scored[key] = score_turn(turn, self._tokens)
        return self._scored[key]


def choose(sentences: Sequence[Scored], budget: int) -> str:
    """The most important sentences that fit `budget` tokens, in their original order."""
    ranked = sorted(range(len(sentences)), key=lambda i: (-sentences[i].importance, i))
    chosen: list[int] = []
    used = 0
    for index in ranked:
        cost = sentences[index].tokens + 1
        if used + cost <= budget:
            chosen.append(index)
            used += cost
    return " ".join(sentences[i].line for i in sorted(chosen))


def summarize(turns: Sequence[Turn], budget: int, tokens: TokenCounter) -> str:
    """At most `budget` tokens of the turns' most important sentences, each with its speaker."""
    return choose([s for turn in turns for s in score_turn(turn, tokens)], budget)
