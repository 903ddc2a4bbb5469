"""The people, places and things a persona's memories mention: from each memory's `subject` and
the names in its text (runs of capitalised words), with how often and when they came up, and the
facts about each that are true now. No model, no new dependency: what the memories say."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, Field

from core.clock import Clock, iso, parse_iso
from core.memory.filters import MemoryFilter
from core.memory.search_queries import SearchRepository
from core.personas import PersonaService
from core.store import Store

__all__ = [
    "Entity",
    "EntityFact",
    "EntityList",
    "entities_of",
    "list_entities",
    "names_in",
    "not_names",
    "real_names",
]

# Capitalised words that start sentences or stand for the speaker, not names.
_NOT_NAMES = frozenset(
    (  # noqa: SIM905 - a word list reads better as one string
        "I I'm I've I'll I'd The A An And But Or So Then When Where What Who Why How This That These "
        "Those It It's He She We They You My Your Our Their His Her Its Yes No Oh Hey Hi Hello Thanks "
        "Thank Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
        "January February March April May June July August September October November December Also "
        "Just Maybe Well Sure Okay OK Now Still After Before Since Last Next Every Some Any All Not "
        "There Here If As At In On For With From By To Of Do Does Did Is Are Was Were Be Been Have Has "
        "Had Can Could Will Would Wow Yeah Yes Thanks Great Awesome Sorry Congrats Congratulations "
        "Haha Lol Aww Gosh Absolutely Definitely Totally Cool Nice Amazing Really Love Good"
    ).split()
)
_NAME = re.compile(r"\b[A-Z][a-z'’]+(?:[ -][A-Z][a-z'’]+)*\b")
_SHOWN_FACTS = 5
_READ = 5_000  # the newest memories read (a persona's recent world; older names fade from the list)


class EntityFact(BaseModel):
    """A current fact about an entity."""

    memory_id: str
    content: str


class Entity(BaseModel):
    """Someone or something the memories mention."""

    name: str
    mentions: int = Field(description="Memories that mention it (as subject or by name).")
    first_seen: datetime
    last_seen: datetime
    as_subject: int = Field(description="Memories about it (their subject).")
    facts: list[EntityFact] = Field(
        description="Semantic and reflective memories about it that are true now."
    )


class EntityList(BaseModel):
    """memory_entities: a persona's entities, most mentioned first."""

    persona_id: str
    entities: list[Entity]
    total_count: int
    memories_read: int


def names_in(text: str) -> set[str]:
    """The names a text mentions: runs of capitalised words, less those that are not names."""
    found = set()
    for match in _NAME.finditer(text):
        # "Caroline's" is Caroline; "They've" and "We're" are no one.
        stems = (re.split(r"['’]", w)[0] for w in re.split(r"[ -]", match.group(0)))
        words = [w for w in stems if w not in _NOT_NAMES]
        if words and len(" ".join(words)) > 1:
            found.add(" ".join(words))
    return found


def not_names(texts: list[str]) -> set[str]:
    """Words these texts also write in lower case ("seeing", "glad", "art"): capitalised, they only
    start a sentence. A one-word name never appears in lower case (truecasing's rule)."""
    return {word for text in texts for word in re.findall(r"\b[a-z][a-z'’]+\b", text)}


def real_names(found: set[str], lowercase: set[str]) -> set[str]:
    """`found` without one-word names that are ordinary words elsewhere."""
    return {name for name in found if " " in name or "-" in name or name.casefold() not in lowercase}


def entities_of(
    persona_id: str, rows: list[tuple[str, str, str | None, str, str, bool]], limit: int
) -> EntityList:
    """The entities of memories given as (id, content, subject, kind, created_at, current) rows."""
    mentions: dict[str, set[str]] = defaultdict(set)
    subjects: dict[str, int] = defaultdict(int)
    seen: dict[str, list[datetime]] = {}
    facts: dict[str, list[EntityFact]] = defaultdict(list)
    spelled: dict[str, str] = {}
    lowercase = not_names([row[1] for row in rows])
    for memory_id, content, subject, kind, created_at, current in rows:
        names = real_names(names_in(content), lowercase)
        if subject and subject.strip():
            names.add(subject.strip())
        at = parse_iso(created_at)
        for name in names:
            key = name.casefold()
            spelled.setdefault(key, name)
            mentions[key].add(memory_id)
            first, last = seen.get(key, [at, at])
            seen[key] = [min(first, at), max(last, at)]
        if subject and subject.strip():
            key = subject.strip().casefold()
            subjects[key] += 1
            if current and kind in ("semantic", "reflective") and len(facts[key]) < _SHOWN_FACTS:
                facts[key].append(EntityFact(memory_id=memory_id, content=content))
    ranked = sorted(mentions, key=lambda key: (-len(mentions[key]), spelled[key].casefold()))
    return EntityList(
        persona_id=persona_id,
        entities=[
            Entity(
                name=spelled[key],
                mentions=len(mentions[key]),
                first_seen=seen[key][0],
                last_seen=seen[key][1],
                as_subject=subjects.get(key, 0),
                facts=facts.get(key, []),
            )
            for key in ranked[:limit]
        ],
        total_count=len(ranked),
        memories_read=len(rows),
    )


async def list_entities(
    db: Store,
    personas: PersonaService,
    clock: Clock,
    persona_id: str | None,
    active: str | None,
    limit: int,
) -> EntityList:
    """memory_entities: the entities of a persona's newest memories the caller may see."""
    persona = await personas.resolve(persona_id, active)
    rows = await SearchRepository(db).entity_rows(
        MemoryFilter(persona_id=persona.id), iso(clock.now()), _READ
    )
    return entities_of(persona.id, rows, limit)
