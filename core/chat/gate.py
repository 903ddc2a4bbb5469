"""The write gate: which parts of a chat exchange become memories, and why the rest do not.

- Trivial turns (greetings, thanks, acknowledgements, or fewer than three content words) are
  skipped, with the reason recorded.
- Echoes are skipped: a turn that mostly repeats a memory placed in the context (at least 60% of
  its content words), or the persona's paraphrase of one, would only store the memory again.
- Sources are weighted: what the user states is stored as scored; what the persona says is
  persona-inferred and kept at 0.6 of its scored importance.
- Repeats of stored memories are not duplicated: the memory writer reinforces them instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.memory.importance import ImportanceContext, score_importance
from core.memory.text import terms

__all__ = ["Candidate", "gate", "judge", "told"]

PERSONA_WEIGHT = 0.6
_ECHO_OVERLAP = 0.6
_MIN_WORDS = 3
_TRIVIAL = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "hiya",
        "yo",
        "thanks",
        "thank",
        "thx",
        "ok",
        "okay",
        "k",
        "sure",
        "yes",
        "yeah",
        "yep",
        "no",
        "nope",
        "cool",
        "great",
        "nice",
        "bye",
        "goodbye",
        "cheers",
        "good",
        "morning",
        "evening",
        "night",
        "lol",
        "haha",
        "hmm",
        "alright",
        "fine",
    ]
)


@dataclass(frozen=True)
class Candidate:
    """One turn and what the gate decided about it."""

    text: str
    source: str  # "user" or "persona"
    keep: bool
    reason: str  # why it is kept or skipped
    importance: float | None = None  # None: let the memory writer score it


def _trivial(text: str) -> bool:
    words = [w.strip(".,!?;:'\"").lower() for w in text.split()]
    words = [w for w in words if w]
    if words and all(w in _TRIVIAL for w in words):
        return True
    return len(terms(text)) < _MIN_WORDS


def _echo(text: str, injected: Sequence[tuple[str, str]]) -> str | None:
    """The id of an injected memory this text mostly repeats."""
    words = set(terms(text))
    if not words:
        return None
    for memory_id, content in injected:
        overlap = len(words & set(terms(content))) / len(words)
        if overlap >= _ECHO_OVERLAP:
            return memory_id
    return None


def told(reply: str, injected: Sequence[tuple[str, str]]) -> list[str]:
    """Ids of injected memories the reply passes on: most of a memory's words are in the reply,
    so whoever heard the reply now knows it."""
    said = set(terms(reply))
    found = []
    for memory_id, content in injected:
        words = set(terms(content))
        if words and len(words & said) / len(words) >= _ECHO_OVERLAP:
            found.append(memory_id)
    return found


def gate(
    user_message: str | None,
    reply: str,
    injected: Sequence[tuple[str, str]],
    interests: Sequence[str],
) -> list[Candidate]:
    """Decide for the user's turn (None when the persona spoke without one) and the persona's
    reply. `injected`: (id, content) of the memories the context carried."""
    turns = [(reply, "persona")] if user_message is None else [(user_message, "user"), (reply, "persona")]
    return [judge(text, source, injected, interests) for text, source in turns]


def judge(
    text: str, source: str, injected: Sequence[tuple[str, str]] = (), interests: Sequence[str] = ()
) -> Candidate:
    """The gate's decision for one turn: `source` "user" (what the user states) or "persona"."""
    if _trivial(text):
        return Candidate(text, source, False, "trivial: a greeting, thanks or acknowledgement")
    echo = _echo(text, injected)
    if echo is not None:
        return Candidate(text, source, False, f"echo of memory {echo} placed in the context")
    if source == "user":
        return Candidate(text, source, True, "stated by the user")
    scored = score_importance(text, ImportanceContext(interests=interests)).importance
    return Candidate(
        text, source, True, "said by the persona (weighted 0.6)", round(PERSONA_WEIGHT * scored, 4)
    )
