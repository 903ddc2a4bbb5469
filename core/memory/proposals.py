"""What reflection suggests a persona has gained: interests it keeps saying it enjoys, and
lorebook entries for the people, places and things its episodes keep coming back to. A proposal
is a diff for persona_update, never applied without a yes (memory_reflect asks a client that
can be asked; otherwise it returns the diff)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.lorebook import Lorebook, LoreEntry
from core.models import Persona

__all__ = ["Gains", "LoreIdea", "PersonaProposal", "interests_said", "propose"]

_MOST = 5  # of each kind of change, per reflection
_LIKING = re.compile(
    r"\bI(?: (?:really |truly |just |also )?(?:love|enjoy|adore|like)|(?:'m| am) (?:really )?into"
    r"| (?:have taken up|took up|got into|started))\s+([^.,!?;:\n]{2,60})",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:the|a|an|my|our|to|doing|playing|going|some|all|those|these|it when)\s+", re.I)
_NOT_INTERESTS = frozenset(
    {"you", "it", "that", "this", "them", "him", "her", "one", "what", "how", "when", "being", "so"}
    | {"much", "talking", "hearing", "seeing", "your", "idea", "everything", "everyone", "having"}
)
_STOP = re.compile(
    r"\s+(?:and|but|because|so|with|when|since|too|as|if|for|at|in|on|of|now|again)\b.*$", re.I
)


class LoreIdea(BaseModel):
    keys: list[str] = Field(description="Words that bring it up.")
    content: str


@dataclass
class Gains:
    """What one reflection saw the persona gain, before it is checked against the persona."""

    interests: list[str] = field(default_factory=list)
    lore: list[LoreIdea] = field(default_factory=list)


class PersonaProposal(BaseModel):
    """Changes reflection suggests; `changes` is persona_update's argument, exactly."""

    changes: dict[str, Any] = Field(description="Pass to persona_update as `changes` to apply them.")
    summary: list[str] = Field(description="One line per change.")
    status: Literal["proposed", "applied", "declined"] = Field(
        "proposed", description="applied or declined: the user was asked (elicitation); proposed: not asked."
    )


def _interest(phrase: str) -> str | None:
    """'painting with my kids' -> 'painting'; 'you' -> None."""
    text = phrase.strip().strip("'\"")
    while (shorter := _LEADING.sub("", text)) != text:
        text = shorter
    text = _STOP.sub("", text).strip()
    words = text.split()
    if (
        not words
        or len(words) > 3
        or text.casefold() in _NOT_INTERESTS
        or words[0].casefold() in _NOT_INTERESTS
    ):
        return None
    return text.casefold()


def interests_said(own_words: list[str]) -> list[str]:
    """Interests the persona's own words claim more than once ("I love painting"), most said first."""
    said: Counter[str] = Counter()
    for text in own_words:
        said.update({found for match in _LIKING.finditer(text) if (found := _interest(match.group(1)))})
    return [interest for interest, count in said.most_common() if count >= 2]


def propose(persona: Persona, gains: Gains) -> PersonaProposal | None:
    """The diff for what is new to the persona in `gains`; None when nothing is."""
    summary: list[str] = []
    changes: dict[str, Any] = {}
    known = {item.casefold() for item in persona.interests}
    new_interests: list[str] = []
    for interest in gains.interests:
        if interest.casefold() not in known and len(new_interests) < _MOST:
            known.add(interest.casefold())
            new_interests.append(interest)
    if new_interests:
        changes["interests"] = [*persona.interests, *new_interests]
        summary.extend(f"interests: + {interest}" for interest in new_interests)
    book = persona.lorebook or Lorebook()
    taken = {*persona.own_names, *(key.casefold() for entry in book.entries for key in entry.keys)}
    entries: list[LoreEntry] = []
    for idea in gains.lore:
        keys = [key for key in dict.fromkeys(idea.keys) if key.casefold() not in taken]
        if not keys or len(entries) == _MOST:
            continue
        taken.update(key.casefold() for key in keys)
        entries.append(LoreEntry(keys=keys, content=idea.content, comment="proposed by memory_reflect"))
        summary.append(f"lorebook: + entry {keys[0]!r}: {idea.content[:80]}")
    if entries:
        grown = book.model_copy(update={"entries": [*book.entries, *entries]})
        changes["lorebook"] = grown.model_dump(mode="json", exclude_defaults=True)
    return PersonaProposal(changes=changes, summary=summary) if changes else None
