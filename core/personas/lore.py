"""Which lorebook entries go into a context, and where. Pure: a book and the recent messages in, the
active entries out.

Matching: an entry is active when one of its keys appears in the last `scan_depth` messages (default
4; keys match anywhere in the text and ignore case unless the entry says otherwise, as in
SillyTavern; with `whole_words` a key must stand as a word, except at an edge written in a script
without spaces between words (Chinese, Japanese, Thai...) or in Korean, whose particles join the
word; `/regex/flags` keys and `use_regex` entries are regular expressions). Matching has a time
budget: each regex search gives up after REGEX_SECONDS, and one selection after LORE_SECONDS in all,
when the keys not yet searched are skipped and counted (a hostile card costs a bounded moment, never
a hung chat; real cards finish in milliseconds). Secondary keys combine by the entry's logic
(and_any, and_all, not_any, not_all). Constant entries are always active. Sticky and cooldown count
messages: the conversation is replayed (four times sticky + cooldown messages back, at most
REPLAY_MESSAGES) to know which entries are still stuck or cooling down. With recursive scanning,
active entries' content can activate others. When the entries outgrow the token budget, the lowest
priority (else the lowest insertion_order) give way; the rest are ordered by insertion_order."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import regex

from core.lorebook import Lorebook, LoreEntry
from core.personas.decorators import Decorators, parse_decorators

__all__ = [
    "DEFAULT_SCAN_DEPTH",
    "LORE_SECONDS",
    "REPLAY_MESSAGES",
    "LoreHit",
    "LoreSelection",
    "Said",
    "select_lore",
]

DEFAULT_SCAN_DEPTH = 4
REPLAY_MESSAGES = 200  # how far back sticky and cooldown are replayed
_RECURSION_ROUNDS = 3
REGEX_SECONDS = 0.05  # one search of a hostile pattern gives up here
# All the searches of one selection: 100 entries over 200 messages take ~4 ms (scripts/bench_lore.py).
LORE_SECONDS = 0.5
# A word character of a script that separates words with spaces: a key's edge needs a boundary
# only there, and only such a neighbour breaks one (Korean too is left out: its particles attach to
# the word, 하피가 is 하피 + 가).
_SPACED = r"[^\W\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"
_BOUNDED = regex.compile(_SPACED)

Reason = Literal["key", "constant", "sticky", "decorator", "recursion"]


@dataclass(frozen=True)
class Said:
    """One message of the conversation, as the matcher sees it."""

    role: str
    text: str


@dataclass(frozen=True)
class LoreHit:
    """An entry that goes into the context."""

    index: int
    entry: LoreEntry
    content: str  # without decorators
    reason: Reason
    matched: str | None
    placement: Literal["before_char", "after_char", "depth"]
    depth: int | None
    role: str
    book: str = ""  # the book's name ("<persona>'s card" for a persona's own)
    lorebook_id: str | None = None  # a stored lorebook's id; None for a card's own book


@functools.lru_cache(maxsize=4096)
def _compiled(
    key: str, use_regex: bool, case_sensitive: bool, whole_words: bool
) -> regex.Pattern[str] | None:
    flags = 0 if case_sensitive else regex.IGNORECASE
    pattern = None
    if len(key) > 2 and key.startswith("/") and key.rfind("/") > 0:  # SillyTavern's /pattern/flags
        end = key.rfind("/")
        pattern, options = key[1:end], key[end + 1 :]
        if not set(options) <= set("gimsuy"):
            pattern = None
        elif "i" in options:
            flags |= regex.IGNORECASE
    if pattern is None:
        pattern = key if use_regex else regex.escape(key)
        if whole_words:  # a boundary on each side that starts or ends with a word character
            before = f"(?<!{_SPACED})" if _BOUNDED.match(key[:1]) else ""
            after = f"(?!{_SPACED})" if _BOUNDED.match(key[-1:]) else ""
            pattern = f"{before}(?:{pattern}){after}"
    try:
        return regex.compile(pattern, flags)
    except (regex.error, RecursionError, OverflowError):
        return None  # an invalid pattern never matches (the V3 spec's rule)


class _Matcher:
    """Key searches within one time budget; the searches it gave up on are counted."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.skipped = 0

    def found(self, key: str, text: str, entry: LoreEntry) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.skipped += 1
            return False
        pattern = _compiled(key, entry.use_regex, bool(entry.case_sensitive), bool(entry.whole_words))
        if pattern is None:
            return False
        try:
            return pattern.search(text, timeout=min(REGEX_SECONDS, left)) is not None
        except TimeoutError:
            self.skipped += 1
            return False

    def within(self, text: str, entry: LoreEntry) -> Callable[[str], bool]:
        return lambda key: self.found(key, text, entry)


class _Scanner:
    """Key searches over the conversation, one message at a time and each done once: replaying
    sticky and cooldown entries asks about the same messages again and again."""

    def __init__(self, said: Sequence[Said], matcher: _Matcher) -> None:
        self.said = said
        self.matcher = matcher
        self._cache: dict[tuple[str, bool, bool, bool, int], bool] = {}
        self.replies = [0]  # replies[n]: assistant messages among the first n
        for item in said:
            self.replies.append(self.replies[-1] + (item.role == "assistant"))

    def window(self, entry: LoreEntry, start: int, end: int) -> Callable[[str], bool]:
        """Whether a key of `entry` appears in messages start..end-1."""
        flags = (entry.use_regex, bool(entry.case_sensitive), bool(entry.whole_words))

        def found(key: str) -> bool:
            for index in range(end - 1, start - 1, -1):
                cached = self._cache.get((key, *flags, index))
                if cached is None:
                    cached = self._cache[(key, *flags, index)] = self.matcher.found(
                        key, self.said[index].text, entry
                    )
                if cached:
                    return True
            return False

        return found


@dataclass
class _Entry:
    index: int
    entry: LoreEntry
    decorators: Decorators
    content: str
    start: int | None = None  # message count when the running activation began
    ever: bool = False

    @property
    def replay(self) -> int:
        """How many earlier messages to replay to know this entry's state (0: none needed)."""
        d = self.decorators
        if d.keep_activate_after_match or d.dont_activate_after_match:
            return REPLAY_MESSAGES
        timed = (self.entry.sticky or 0) + (self.entry.cooldown or 0)
        return min(REPLAY_MESSAGES, 4 * (timed + 1)) if timed else 0

    def keys_match(self, found: Callable[[str], bool]) -> str | None:
        """The key that activates the entry, given where keys are `found` (its logic and key
        decorators applied)."""
        entry, d = self.entry, self.decorators
        matched = next((key for key in entry.keys if found(key)), None)
        if matched is None:
            return None
        if entry.is_selective:
            hits = [found(key) for key in entry.secondary_keys]
            passed = {
                "and_any": any(hits),
                "and_all": all(hits),
                "not_any": not any(hits),
                "not_all": not all(hits),
            }[entry.logic]
            if not passed:
                return None
        if d.additional_keys and not any(found(key) for key in d.additional_keys):
            return None
        if d.exclude_keys and any(found(key) for key in d.exclude_keys):
            return None
        return matched

    def step(self, scan: _Scanner, upto: int, book_depth: int) -> tuple[Reason, str | None] | None:
        """Whether the entry is active after the first `upto` messages, updating its history."""
        entry, d = self.entry, self.decorators
        replies = scan.replies[upto]
        if d.activate_only_after is not None and replies < d.activate_only_after:
            return None
        if d.activate_only_every is not None and replies % d.activate_only_every:
            return None
        sticky, cooldown = entry.sticky or 0, entry.cooldown or 0
        if self.start is not None and upto - self.start <= sticky:
            self.ever = True
            return ("key", None) if upto == self.start else ("sticky", None)
        if self.start is not None and upto - self.start - sticky <= cooldown:
            return None
        if d.keep_activate_after_match and self.ever:
            return ("decorator", None)
        if d.dont_activate_after_match and self.ever:
            return None
        depth = d.scan_depth if d.scan_depth is not None else entry.scan_depth
        depth = book_depth if depth is None else depth
        matched = self.keys_match(scan.window(entry, max(0, upto - depth), upto)) if depth else None
        if matched is None:
            return None
        self.start, self.ever = upto, True
        return ("key", matched)

    def hit(self, reason: Reason, matched: str | None) -> LoreHit:
        d = self.decorators
        depth = d.depth if d.depth is not None else self.entry.depth
        placement = "depth" if depth is not None else d.position or self.entry.position or "after_char"
        return LoreHit(
            self.index,
            self.entry,
            self.content,
            reason,
            matched,
            placement,  # type: ignore[arg-type]
            depth,
            d.role or self.entry.role,
        )


def _active(book: Lorebook, said: Sequence[Said], matcher: _Matcher) -> list[LoreHit]:
    book_depth = DEFAULT_SCAN_DEPTH if book.scan_depth is None else book.scan_depth
    hits: list[LoreHit] = []
    waiting: list[_Entry] = []
    scan = _Scanner(said, matcher)
    for index, entry in enumerate(book.entries):
        if not entry.enabled:
            continue
        decorators, content = parse_decorators(entry.content)
        if not content.strip() or (decorators.dont_activate and not decorators.activate):
            continue
        state = _Entry(index, entry, decorators, content)
        if decorators.activate:
            hits.append(state.hit("decorator", None))
            continue
        if entry.constant:
            hits.append(state.hit("constant", None))
            continue
        for upto in range(max(1, len(said) - state.replay), len(said)):
            state.step(scan, upto, book_depth)
        result = state.step(scan, len(said), book_depth)
        if result is None:
            waiting.append(state)
        else:
            hits.append(state.hit(*result))
    if book.recursive_scanning:
        for _ in range(_RECURSION_ROUNDS):
            text = "\n".join(hit.content for hit in hits)
            found = [(state, state.keys_match(matcher.within(text, state.entry))) for state in waiting]
            fresh = [(state, key) for state, key in found if key is not None]
            if not fresh:
                break
            hits.extend(state.hit("recursion", key) for state, key in fresh)
            waiting = [state for state, key in found if key is None]
    return hits


@dataclass(frozen=True)
class LoreSelection:
    """The entries that go into a context, and how many key searches ran out of time."""

    hits: list[LoreHit]
    skipped: int = 0
    tokens: int = 0  # what the hits' content costs, as counted against the budget


def select_lore(
    book: Lorebook,
    said: Sequence[Said],
    budget: int,
    count: Callable[[str], int],
    seconds: float = LORE_SECONDS,
) -> LoreSelection:
    """The entries active after `said` (oldest first; the newest message last), within `budget`
    tokens (and the book's own token_budget), in insertion order. Matching stops after `seconds`:
    the searches left are skipped and counted. CPU-bound: call it off the event loop."""
    if book.token_budget is not None:
        budget = min(budget, book.token_budget)
    matcher = _Matcher(seconds)
    hits = _active(book, said, matcher)

    def rank(hit: LoreHit) -> tuple[int, int]:
        weight = hit.entry.priority if hit.entry.priority is not None else hit.entry.insertion_order
        return (-weight, hit.index)

    kept, used = [], 0
    for hit in sorted(hits, key=rank):
        cost = count(hit.content)
        if used + cost <= budget:
            kept.append(hit)
            used += cost
    return LoreSelection(
        sorted(kept, key=lambda hit: (hit.entry.insertion_order, hit.index)), matcher.skipped, used
    )
