"""Text handling for memories: the dedup hash, and the content words of a query."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache

__all__ = ["STOPWORDS", "content_hash", "names", "terms"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Function words carry no topic. Dropping them keeps BM25 from ranking on "the" and "did", and
# keeps FTS5 from scoring every row of a large persona (which is what makes common words slow).
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me might more most must my myself no nor not now of off on once only or other
    our ours ourselves out over own same shall she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up upon
    very was we were what when where which while who whom whose why will with would you your
    yours yourself yourselves s t don ll ve re d m o y also ever get got let lets like many much
    one really thing things way well yes yeah oh ok okay
    """.split()  # noqa: SIM905
)
_MAX_TERMS = 32


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def content_hash(text: str) -> str:
    """Hash of the content with case, Unicode form and whitespace runs normalised: two memories
    with the same hash say the same thing."""
    canonical = " ".join(_normalise(text).split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def names(query_terms: Collection[str], subject: str | None) -> bool:
    """Whether a query (its `terms`) names `subject`: every content word of the subject is among
    them ("Caroline" in "What did Caroline paint?"; "Lena Park" needs both words)."""
    if not subject:
        return False
    wanted = _subject_terms(subject)
    return bool(wanted) and all(word in query_terms for word in wanted)


@lru_cache(maxsize=4096)
def _subject_terms(subject: str) -> tuple[str, ...]:
    # A search checks the subject of every candidate (a thousand), and subjects repeat.
    return tuple(terms(subject))


def terms(text: str) -> list[str]:
    """The content words of a text, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(_normalise(text)):
        word = match.group(0).replace("’", "'").split("'")[0]
        if len(word) > 1 and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:_MAX_TERMS]
