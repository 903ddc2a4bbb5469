"""Reflection: recent episodes turned into standing facts, offline and deterministic.

The episodes (episodic memories) since a time are grouped by what they are about: their subject,
else the names they mention. For each group of two or more episodes, the most specific sentence
that names it (the most content words, names and numbers; the newest on a tie) becomes a semantic
memory about it, true from the newest episode's time, with `metadata.sources` (the episodes' ids)
and `metadata.method` = "extractive". It is stored like any memory, so a fact already known is
reinforced rather than repeated, and a fact that contradicts a current one is reported."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from core.clock import Clock, iso, parse_iso
from core.memory.entities import names_in, not_names, real_names
from core.memory.filters import MemoryFilter
from core.memory.models import MemoryDraft, PossibleConflict
from core.memory.search_queries import SearchRepository
from core.memory.text import terms
from core.memory.writer import MemoryWriter
from core.personas import PersonaService
from core.store import Database

__all__ = ["ReflectResult", "ReflectedFact", "extract_facts", "reflect"]

DEFAULT_WINDOW = timedelta(days=7)
_EPISODES = 2_000  # the newest episodes read in one run
_MAX_FACTS = 50
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,40}):\s+")
_SPECIFIC = re.compile(r"\b(?:\d+|[A-Z][a-z]+)\b")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|my|we|our)\b")
_ADDRESSED = re.compile(r"(?:^|[.!?]\s+)(?:\w+,?\s+)?([A-Z][a-z]+)[,!]|,\s+([A-Z][a-z]+)\s*[.!?]")
_SUBSTANCE = 4  # content words a sentence needs to state a fact
_COMMON = 0.25  # a name in more than this share of the episodes is who is talking, not a topic


class ReflectedFact(BaseModel):
    """One fact reflection made (or found already known)."""

    memory_id: str
    content: str
    subject: str
    sources: list[str] = Field(description="The episodes it was drawn from.")
    duplicate_of: str | None = Field(None, description="Set when the persona already knew it (reinforced).")
    possible_conflicts: list[PossibleConflict] = Field(default_factory=list)


class ReflectResult(BaseModel):
    """memory_reflect: what was read and what it became."""

    persona_id: str
    method: str = Field(description="'extractive' (offline, deterministic).")
    since: datetime
    episodes_read: int
    facts_created: int
    facts_known: int = Field(description="Facts the persona already had: reinforced, not repeated.")
    facts: list[ReflectedFact]


def _best_sentence(entity: str, contents: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(sentence, source id) that says the most about `entity`, newest first on a tie."""
    key = entity.casefold()
    best: tuple[int, str, str] | None = None
    for memory_id, content in contents:  # newest first
        speaker = _SPEAKER.match(content)
        body = content[speaker.end() :] if speaker else content
        for sentence in _SENTENCE.split(body.strip()):
            if key not in sentence.casefold() and not (speaker and key == speaker.group(1).casefold()):
                continue
            # What a statement about itself gives most: content words, names and numbers, said in
            # the first person. A question states nothing, and neither does "Cool, thanks!".
            score = len(terms(sentence)) + 2 * len(_SPECIFIC.findall(sentence[1:]))
            if sentence.rstrip().endswith("?") or len(terms(sentence)) < _SUBSTANCE:
                continue
            score += 3 * bool(_FIRST_PERSON.search(sentence))
            line = f"{speaker.group(1)}: {sentence}" if speaker else sentence
            if best is None or score > best[0]:
                best = (score, line, memory_id)
    return None if best is None else (best[1], best[2])


def _topics(content: str) -> set[str]:
    """The names a text is about: those it mentions (its speaker too), less those it only
    addresses ("Hey Mel, ...", "... you, Caroline!"): a name set off by a comma at the edge of a
    sentence is someone spoken to."""
    body = _SPEAKER.sub("", content, count=1)
    spoken_to = {name for match in re.finditer(_ADDRESSED, body) for name in match.groups() if name}
    return {name for name in names_in(content) if name not in spoken_to}


def _dated(line: str, at: str) -> str:
    """The fact as of the newest episode it rests on ("Caroline (as of 5 May 2023): ..."): it says
    when, and its words are never exactly an episode's (which would read as that episode again)."""
    day = parse_iso(at)
    when = f"as of {day.day} {day:%B %Y}"
    speaker = _SPEAKER.match(line)
    if speaker:
        return f"{speaker.group(1)} ({when}): {line[speaker.end() :]}"
    return f"{when[0].upper()}{when[1:]}: {line}"


def extract_facts(episodes: list[tuple[str, str, str | None, str]]) -> list[tuple[str, str, list[str], str]]:
    """(content, subject, source ids, valid from) facts from (id, content, subject, created_at)
    episodes, newest first. Episodes are grouped by what they are about: their subject together
    with each name they mention (Caroline and Boston), else their subject alone, else each name;
    every group of two or more gives one fact, its most specific sentence naming the group's topic."""
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    lowercase = not_names([content for _, content, _, _ in episodes])
    named = {memory_id: real_names(_topics(content), lowercase) for memory_id, content, _, _ in episodes}
    counts: dict[str, int] = defaultdict(int)
    for (_, _, subject, _), found in zip(episodes, named.values(), strict=True):
        for name in {n.casefold() for n in found} | ({subject.strip().casefold()} if subject else set()):
            counts[name] += 1
    common = {name for name, count in counts.items() if count > 2 and count > _COMMON * len(episodes)}
    for memory_id, content, subject, created_at in episodes:
        about = subject.strip() if subject and subject.strip() else ""
        mentioned = sorted(
            name
            for name in named[memory_id]
            if name.casefold() != about.casefold() and name.casefold() not in common
        )
        # The subject alone is a topic only when it is not what most episodes are about anyway
        # (in a dialogue every turn's subject is its speaker: that says nothing).
        alone = [(about, about)] if about and about.casefold() not in common else []
        topics = [(about or name, name) for name in mentioned] or alone
        for pair in topics:
            key = (pair[0].casefold(), pair[1].casefold())
            spelled.setdefault(key, pair)
            groups[key].append((memory_id, content, created_at))
    facts = []
    for key, members in sorted(groups.items(), key=lambda entry: (-len(entry[1]), entry[0])):
        if len(members) < 2:
            continue
        about, topic = spelled[key]
        chosen = _best_sentence(topic, [(m, c) for m, c, _ in members])
        if chosen is not None:
            newest = max(at for _, _, at in members)
            facts.append((_dated(chosen[0], newest), about, [m for m, _, _ in members], newest))
        if len(facts) == _MAX_FACTS:
            break
    return facts


async def reflect(
    db: Database,
    personas: PersonaService,
    clock: Clock,
    store: MemoryWriter,
    persona_id: str | None,
    active: str | None,
    since: datetime | None,
) -> ReflectResult:
    """memory_reflect: facts from the persona's episodes since `since` (default: the last 7 days),
    stored through `store` (so dedup and the contradiction check apply)."""
    persona = await personas.resolve(persona_id, active)
    now = clock.now()
    start = since or now - DEFAULT_WINDOW
    where = MemoryFilter(persona_id=persona.id, kinds=("episodic",), since=start, true_at=iso(now))
    rows = await SearchRepository(db).entity_rows(where, iso(now), _EPISODES)
    facts = extract_facts([(row[0], row[1], row[2], row[4]) for row in rows])
    drafts = [
        MemoryDraft(
            content=content,
            persona_id=persona.id,
            kind="semantic",
            subject=subject,
            metadata={"sources": sources, "method": "extractive"},
            created_at=parse_iso(valid_from),
        )
        for content, subject, sources, valid_from in facts
    ]
    results = await store.store_many(drafts) if drafts else []
    made = [
        ReflectedFact(
            memory_id=result.memory.id,
            content=result.memory.content,
            subject=subject,
            sources=sources,
            duplicate_of=result.duplicate_of,
            possible_conflicts=result.possible_conflicts,
        )
        for result, (_, subject, sources, _) in zip(results, facts, strict=True)
    ]
    return ReflectResult(
        persona_id=persona.id,
        method="extractive",
        since=start,
        episodes_read=len(rows),
        facts_created=sum(1 for fact in made if fact.duplicate_of is None),
        facts_known=sum(1 for fact in made if fact.duplicate_of is not None),
        facts=made,
    )
