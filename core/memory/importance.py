"""Importance scoring: how much a memory matters, from 0 to 1, with the reasons.

A memory stored without an importance gets one from seven factors, each 0-1 and each with a fixed
share of the score. The factors and the words that triggered them go into the memory's metadata
(`importance_factors`), so a user can see why a memory scored as it did. The same text, persona
and state always give the same score.

    affect        feeling in the words: emotion words, intensifiers, exclamation
    significance  commitments, decisions, life events and firsts
    specifics     names, numbers and dates: concrete facts worth keeping
    interest      overlap with the persona's interests and knowledge domains
    engagement    questions, requests to remember, direct address
    relationship  how close the persona is to the memory's subject
    arousal       how stirred the persona was when it happened

The word lists below are this project's own: short families of English forms chosen for these
factors, matched as whole words (lower case).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BASE", "SHARES", "ImportanceContext", "ImportanceScore", "score_importance"]

BASE = 0.15
# Shares add up to more than 1 - BASE: no memory has every factor, and the total is capped at 1.
SHARES: dict[str, float] = {
    "affect": 0.25,
    "significance": 0.35,
    "specifics": 0.10,
    "interest": 0.15,
    "engagement": 0.15,
    "relationship": 0.10,
    "arousal": 0.05,
}

# Feeling words by strength. Strong ones alone make a memory vivid; mild ones need company.
_STRONG_FEELING = frozenset(
    [
        "love",
        "loved",
        "adore",
        "adored",
        "hate",
        "hated",
        "loathe",
        "terrified",
        "terrifying",
        "devastated",
        "heartbroken",
        "ecstatic",
        "thrilled",
        "furious",
        "grief",
        "grieving",
        "panic",
        "panicked",
        "horrified",
        "horrible",
        "awful",
        "amazing",
        "incredible",
        "overjoyed",
        "miserable",
        "desperate",
        "traumatic",
        "trauma",
        "shattered",
        "elated",
    ]
)
_MILD_FEELING = frozenset(
    [
        "happy",
        "glad",
        "sad",
        "angry",
        "upset",
        "afraid",
        "scared",
        "worried",
        "anxious",
        "nervous",
        "proud",
        "excited",
        "lonely",
        "hurt",
        "miss",
        "missed",
        "grateful",
        "thankful",
        "ashamed",
        "embarrassed",
        "jealous",
        "frustrated",
        "annoyed",
        "disappointed",
        "relieved",
        "hopeful",
        "cried",
        "crying",
        "laughed",
        "tears",
        "joy",
        "fear",
        "stressed",
        "calm",
        "peaceful",
        "sorry",
    ]
)
_INTENSIFIERS = frozenset(
    ["very", "so", "really", "extremely", "totally", "absolutely", "deeply", "truly", "utterly", "incredibly"]
)

# Significance: what a person would be expected to remember.
_COMMITMENT = frozenset(
    [
        "promise",
        "promised",
        "promises",
        "swear",
        "swore",
        "vow",
        "vowed",
        "pledge",
        "pledged",
        "commit",
        "committed",
    ]
)
_DECISION = frozenset(
    ["decided", "decide", "decision", "chose", "choose", "resolved", "plan", "planning", "planned"]
)
_LIFE_EVENT = frozenset(
    [
        "born",
        "birth",
        "married",
        "marry",
        "marrying",
        "wedding",
        "engaged",
        "engagement",
        "divorce",
        "divorced",
        "died",
        "death",
        "funeral",
        "passed",
        "graduated",
        "graduation",
        "hired",
        "fired",
        "promoted",
        "promotion",
        "retired",
        "retire",
        "retirement",
        "moved",
        "moving",
        "relocated",
        "pregnant",
        "baby",
        "diagnosed",
        "diagnosis",
        "surgery",
        "hospital",
        "accident",
        "adopted",
        "adopt",
        "adoption",
        "anniversary",
        "birthday",
        "breakup",
        "quit",
        "resigned",
    ]
)
_FIRSTS = (("first", "time"), ("never", "before"), ("for", "the", "first"), ("finally",))
_LIFE_PHRASES = (("broke", "up"), ("new", "job"), ("passed", "away"), ("made", "up", "my", "mind"))

# "may" is left out: as a verb it is far commoner (the month still counts as a capitalised name).
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_DAYS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "yesterday",
        "tomorrow",
        "tonight",
    ]
)
_REMEMBER = (
    ("remember",),
    ("don't", "forget"),
    ("do", "not", "forget"),
    ("keep", "in", "mind"),
    ("note", "that"),
)
_REQUESTS = frozenset(["please"])
_ADDRESS = frozenset(["you", "your", "you're", "yours"])

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,:/]\d+)*")
_PRONOUN_I = frozenset({"I", "I'm", "I've", "I'll", "I'd", "I’m", "I’ve", "I’ll", "I’d"})


@dataclass(frozen=True)
class ImportanceContext:
    """What the scorer knows besides the text."""

    interests: Sequence[str] = ()  # the persona's interests and knowledge domains
    relationship: float | None = None  # 0-1 closeness to the subject, when known
    arousal: float = 0.0  # the persona's arousal (0-1) at encoding time


@dataclass(frozen=True)
class ImportanceScore:
    """The score and its explanation."""

    importance: float
    factors: dict[str, float]  # factor -> 0-1
    cues: list[str]  # what triggered them, e.g. "life event: married"
    affect: float  # feeling in the words alone (0-1), for the memory's emotional intensity

    def explanation(self) -> dict[str, object]:
        """What goes into the memory's metadata."""
        return {
            "base": BASE,
            "factors": {name: round(value, 3) for name, value in self.factors.items()},
            "shares": SHARES,
            "cues": self.cues,
        }


def _has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == tuple(phrase) for i in range(len(words) - size + 1))


def _found(words: Iterable[str], vocabulary: frozenset[str]) -> list[str]:
    return sorted({word for word in words if word in vocabulary})


def _saturate(count: float, full: float) -> float:
    """0 for nothing, 1 at `full` or more."""
    return min(1.0, count / full)


def _affect(words: list[str], text: str, cues: list[str]) -> float:
    strong = _found(words, _STRONG_FEELING)
    mild = _found(words, _MILD_FEELING)
    intensifiers = _found(words, _INTENSIFIERS)
    exclamations = text.count("!")
    cues += [f"feeling: {w}" for w in strong + mild]
    raw = 0.6 * len(strong) + 0.3 * len(mild)
    if raw:
        raw += 0.15 * len(intensifiers)
    return _saturate(raw + 0.1 * min(exclamations, 3), 1.0)


def _significance(words: list[str], cues: list[str]) -> float:
    found = {
        "commitment": _found(words, _COMMITMENT),
        "decision": _found(words, _DECISION),
        "life event": _found(words, _LIFE_EVENT)
        + [" ".join(p) for p in _LIFE_PHRASES if _has_phrase(words, p)],
        "first": [" ".join(p) for p in _FIRSTS if _has_phrase(words, p)],
    }
    weights = {"commitment": 0.7, "decision": 0.5, "life event": 0.8, "first": 0.4}
    raw = 0.0
    for family, hits in found.items():
        if hits:
            cues.extend(f"{family}: {hit}" for hit in hits)
            raw += weights[family] + 0.1 * (len(hits) - 1)
    return _saturate(raw, 1.0)


def _specifics(tokens: list[str], words: list[str], cues: list[str]) -> float:
    """`tokens`: the text's words as written, except that each sentence's first word is lowered."""
    numbers = [t for t in tokens if t[0].isdigit()]
    dates = _found(words, _MONTHS | _DAYS)
    # A capitalised word inside a sentence names something (the caller lowers sentence starts).
    names = sorted({t for t in tokens if t[0].isupper() and t not in _PRONOUN_I})
    cues += (
        [f"number: {n}" for n in numbers[:3]]
        + [f"date: {d}" for d in dates]
        + [f"name: {n}" for n in names[:3]]
    )
    return _saturate(len(set(numbers)) * 0.4 + len(dates) * 0.4 + len(names) * 0.35, 1.0)


def _interest(words: list[str], interests: Sequence[str], cues: list[str]) -> float:
    present = set(words) | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    hits = []
    for topic in interests:
        topic_words = [w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) > 2]
        if topic_words and all(w in present or w + "s" in present for w in topic_words):
            hits.append(topic)
    cues += [f"interest: {topic}" for topic in hits]
    return _saturate(len(hits), 2.0)


def _engagement(words: list[str], text: str, cues: list[str]) -> float:
    raw = 0.0
    if "?" in text:
        cues.append("question")
        raw += 0.5
    reminders = [" ".join(p) for p in _REMEMBER if _has_phrase(words, p)]
    if reminders:
        cues.extend(f"asks to remember: {r}" for r in reminders)
        raw += 0.8
    if _found(words, _REQUESTS):
        cues.append("request")
        raw += 0.3
    if _found(words, _ADDRESS):
        raw += 0.2
    return _saturate(raw, 1.0)


def score_importance(text: str, context: ImportanceContext) -> ImportanceScore:
    """Score a memory's text for one persona at one moment."""
    tokens: list[str] = []  # as written, but with each sentence's first word lowered
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        found = [t for t in (raw.strip("'’-") for raw in _WORD.findall(sentence)) if t]
        tokens.extend([found[0].lower(), *found[1:]] if found else [])
    words = [t.lower().replace("’", "'") for t in tokens]
    cues: list[str] = []
    factors = {
        "affect": _affect(words, text, cues),
        "significance": _significance(words, cues),
        "specifics": _specifics(tokens, words, cues),
        "interest": _interest(words, context.interests, cues),
        "engagement": _engagement(words, text, cues),
        "relationship": min(1.0, max(0.0, context.relationship or 0.0)),
        "arousal": min(1.0, max(0.0, context.arousal)),
    }
    if context.relationship:
        cues.append(f"relationship: {context.relationship:.2f}")
    score = BASE + sum(SHARES[name] * value for name, value in factors.items())
    return ImportanceScore(
        importance=round(min(1.0, max(0.0, score)), 4), factors=factors, cues=cues, affect=factors["affect"]
    )
