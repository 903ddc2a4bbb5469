"""Possible contradictions, by a deterministic rule: a new fact about a subject that says something
incompatible with a current fact about the same subject (lives in Paris / moved to Berlin; works
at Acme / joined Globex; is single / got married).

Two statements conflict when they speak of the same attribute (the lexicon below: where someone
lives, works or studies, their name, relationship status, age, job, what they like most, what
they drive or own as a pet) and give it different values (names, numbers, or the words that follow
the attribute), and, when both have vectors, they are about as close in meaning as two statements
of one fact are. Adding ("also likes", "another") is never a conflict. The rule proposes; only
the caller (or the auto_supersede setting) decides."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ATTRIBUTES", "Proposal", "conflict"]

# attribute -> patterns that name it; the words after the match are its value
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "residence": (
        r"\blives? (?:in|at|on)\b",
        r"\bliving (?:in|at)\b",
        r"\bmoved (?:to|into)\b",
        r"\brelocated to\b",
        r"\bhome is (?:in|at)\b",
        r"\bresides? in\b",
    ),
    "work": (
        r"\bworks? (?:at|for)\b",
        r"\bworking (?:at|for)\b",
        r"\bjoined\b",
        r"\bemployed (?:at|by)\b",
        r"\bjob at\b",
        r"\bhired (?:at|by)\b",
    ),
    "occupation": (r"\bworks? as (?:an? )?\b", r"\bis an? (?=\w+(?:er|ist|or|ian|ant|ent)\b)", r"\bjob is\b"),
    "study": (r"\bstud(?:ies|ying|ied) (?:at|in)\b", r"\bgoes to school at\b", r"\benrolled (?:at|in)\b"),
    "name": (r"\bname is\b", r"\bis called\b", r"\bnamed\b", r"\bgoes by\b"),
    "status": (
        r"\bis (?:single|married|engaged|divorced|widowed|dating)\b",
        r"\bgot (?:married|engaged|divorced)\b",
        r"\bbroke up\b",
        r"\bis in a relationship\b",
    ),
    "age": (r"\bis (?=\d+ years? old)", r"\bturned (?=\d+)", r"\bage is\b"),
    "favourite": (r"\bfavou?rite \w+ is\b", r"\blikes? \w+ (?:the )?most\b", r"\bprefers\b"),
    "vehicle": (r"\bdrives? an?\b", r"\bbought an? (?=(?:new |used )?car\b)", r"\bcar is an?\b"),
    "pet": (r"\bhas an? (?=(?:dog|cat|parrot|rabbit|hamster)\b)", r"\bpet (?:dog|cat) is\b"),
}
_STATUS_WORDS = {"single", "married", "engaged", "divorced", "widowed", "dating", "relationship", "broke"}
_ADDING = re.compile(r"\b(?:also|too|as well|another|second|additionally|in addition)\b", re.IGNORECASE)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "at",
        "on",
        "to",
        "of",
        "for",
        "and",
        "or",
        "but",
        "with",
        "from",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "now",
        "still",
        "again",
        "recently",
        "just",
        "new",
        "old",
        "his",
        "her",
        "their",
        "its",
        "my",
        "our",
        "your",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
    ]
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,]\d+)?")
SIMILAR = 0.45  # two statements of one fact about one subject are at least this close (MiniLM cosine)


@dataclass(frozen=True)
class Proposal:
    """Why two statements look incompatible."""

    attribute: str
    reason: str


def _attribute_values(text: str, subject: str) -> dict[str, set[str]]:
    """For each attribute the text states, the value words it gives (lowercased)."""
    found: dict[str, set[str]] = {}
    skip = {word.lower() for word in _WORD.findall(subject)} | _STOP
    for attribute, patterns in ATTRIBUTES.items():
        for pattern in patterns:
            for match in re.finditer(pattern, text, re.IGNORECASE):
                if attribute == "status":
                    words = {w.lower() for w in _WORD.findall(match.group(0))} & _STATUS_WORDS
                else:
                    tail = re.split(r"[.;!?]| and | but |, ", text[match.end() :], maxsplit=1)[0]
                    words = {w.lower() for w in _WORD.findall(tail)[:4]} - skip
                if words:
                    found.setdefault(attribute, set()).update(words)
    return found


def conflict(old: str, new: str, subject: str, similarity: float | None = None) -> Proposal | None:
    """Whether `new` looks incompatible with `old` (both about `subject`), and why."""
    if _ADDING.search(new):
        return None
    if similarity is not None and similarity < SIMILAR:
        return None
    before, after = _attribute_values(old, subject), _attribute_values(new, subject)
    for attribute in before.keys() & after.keys():
        was, now = before[attribute], after[attribute]
        if was != now and not (was <= now):
            return Proposal(
                attribute,
                f"{subject}'s {attribute} was {' '.join(sorted(was))}, now {' '.join(sorted(now))}",
            )
    return None
