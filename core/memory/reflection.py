"""Reflection: recent episodes turned into standing facts and proposed persona changes.

With the belief model (reflect_model.py) one structured-output call per batch of episodes gives the
facts; without it, or for a batch it does not answer, the extractive method below does, offline and
deterministic. The episodes (episodic memories) since a time are grouped by what they are about:
their subject, else the names they mention. For each group of two or more episodes, the most
specific sentence that names it (the most content words, names and numbers; the newest on a tie)
becomes a semantic memory about it, true from the newest episode's time, with `metadata.sources`
(the episodes' ids) and `metadata.method` = "extractive". Every fact is stored like any memory, so
one already known is reinforced rather than repeated, and one that contradicts a current fact is
reported (and, by the model's judgement, supersedes it).

What the persona seems to have gained (interests its own words keep claiming, lorebook entries for
names its episodes keep returning to) comes back as a diff for persona_update (proposals.py),
applied only when the user says yes."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from core.access import acting
from core.access.policy import rank
from core.clock import Clock, iso, parse_iso
from core.llm import StructuredModel
from core.memory.entities import names_in, not_names, real_names
from core.memory.filters import MemoryFilter
from core.memory.models import MemoryDraft, PossibleConflict
from core.memory.proposals import Gains, LoreIdea, PersonaProposal, interests_said, propose
from core.memory.reflect_model import BATCH, Episode, facts_by_model
from core.memory.search_queries import SearchRepository
from core.memory.text import terms
from core.memory.writer import MemoryWriter
from core.models import Persona
from core.personas import PersonaService
from core.store import Store

__all__ = ["Drawn", "ReflectResult", "ReflectedFact", "Reflector", "extract_facts"]

logger = logging.getLogger(__name__)

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
_RARE = 0.03  # a word in at most this share of the episodes (or 3) can be what a group is about
_LISTENER = re.compile(r"\b(?:you|your|you're|yours|yourself)\b", re.IGNORECASE)
_LORE_SOURCES = 3  # episodes a name needs before reflection proposes a lorebook entry for it
_PLANS_KEPT_S = 600.0  # a plan (asked about, then carried out) is kept this long


class ReflectedFact(BaseModel):
    """One fact reflection made (or found already known)."""

    memory_id: str
    content: str
    subject: str
    kind: str = Field(description="semantic (about people, places, things) or reflective (a belief).")
    method: str = Field(description="llm (the belief model) or extractive.")
    sources: list[str] = Field(description="The episodes it was drawn from.")
    duplicate_of: str | None = Field(None, description="Set when the persona already knew it (reinforced).")
    possible_conflicts: list[PossibleConflict] = Field(default_factory=list)


class ReflectResult(BaseModel):
    """memory_reflect: what was read and what it became."""

    persona_id: str
    method: str = Field(description="llm, extractive, or llm+extractive (batches the model did not answer).")
    since: datetime
    episodes_read: int
    facts_created: int
    facts_known: int = Field(description="Facts the persona already had: reinforced, not repeated.")
    facts: list[ReflectedFact]
    persona_changes: PersonaProposal | None = Field(
        None, description="What the persona seems to have gained, as a diff for persona_update."
    )


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


@dataclass(frozen=True)
class Drawn:
    """A fact reflection drew, before it is stored."""

    content: str
    subject: str
    sources: list[str]
    valid_from: str
    method: str = "extractive"
    kind: str = "semantic"
    topic: str = ""  # the name its episodes share (extractive)


def _name_groups(episodes: list[Episode]) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(about, topic, members) groups of episodes by the names they share, largest first: their
    subject together with each name they mention (Caroline and Boston), else their subject
    alone, else each name."""
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
    ordered = sorted(groups.items(), key=lambda entry: (-len(entry[1]), entry[0]))
    return [(*spelled[key], members) for key, members in ordered if len(members) >= 2]


def _term_groups(episodes: list[Episode]) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(about, word, members) groups of episodes of one subject (or speaker) that share a rare
    word (pottery, adoption, Perseids): in at least two episodes and at most 3% of them (or 3),
    the rarest shared words first. Episodes that speak to the listener ("you", "your") are left
    out: they tell more about the conversation than about anyone in it."""
    words: dict[str, set[str]] = {}
    spread: Counter[str] = Counter()
    for memory_id, content, _, _ in episodes:
        words[memory_id] = set(terms(_SPEAKER.sub("", content, count=1)))
        spread.update(words[memory_id])
    rare = max(3.0, _RARE * len(episodes))
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for memory_id, content, subject, created_at in episodes:
        speaker = _SPEAKER.match(content)
        if _LISTENER.search(content[speaker.end() :] if speaker else content):
            continue
        about = (subject or "").strip() or (speaker.group(1) if speaker else "")
        for word in words[memory_id]:
            if 2 <= spread[word] <= rare:
                groups[(about, word)].append((memory_id, content, created_at))
    ordered = sorted(groups.items(), key=lambda entry: (spread[entry[0][1]], -len(entry[1]), entry[0]))
    return [(about, word, members) for (about, word), members in ordered if len(members) >= 2]


def extract_facts(episodes: list[Episode]) -> list[Drawn]:
    """Facts from (id, content, subject, created_at) episodes, newest first: for each group of
    two or more episodes about one name (_name_groups), then about one subject and rare word
    (_term_groups), its most specific sentence naming the topic. Groups that choose the same
    sentence make one fact, with all their episodes as sources."""
    facts: dict[str, Drawn] = {}  # by the sentence chosen
    named = [(about, topic, members, topic) for about, topic, members in _name_groups(episodes)]
    worded = [(about, word, members, "") for about, word, members in _term_groups(episodes)]
    for about, topic, members, name in [*named, *worded]:
        chosen = _best_sentence(topic, [(m, c) for m, c, _ in members])
        if chosen is None:
            continue
        newest = max(at for _, _, at in members)
        sources = [m for m, _, _ in members]
        if chosen[0] in facts:
            known = facts[chosen[0]]
            merged = [*known.sources, *(m for m in sources if m not in known.sources)]
            newer = max(known.valid_from, newest)
            facts[chosen[0]] = Drawn(known.content, known.subject, merged, newer, topic=known.topic)
        elif len(facts) < _MAX_FACTS:
            facts[chosen[0]] = Drawn(chosen[0], about, sources, newest, topic=name)
    # Dated by the newest episode each rests on: it says when, and its words are never exactly
    # an episode's (which would read as that episode again).
    return [replace(fact, content=_dated(fact.content, fact.valid_from)) for fact in facts.values()]


@dataclass
class _Plan:
    """What one reflection will store and propose, kept between asking and doing."""

    persona: Persona
    since: datetime
    episodes: int
    facts: list[Drawn]
    methods: list[str]
    proposal: PersonaProposal | None
    made_at: float


class Reflector:
    """memory_reflect and the background job: plan (read episodes, draw facts and proposals),
    then store. A plan is kept for a while, so a tool that asks the user about its proposal
    before storing (and a retried request under the sessionless protocol) draws it once."""

    def __init__(
        self,
        db: Store,
        personas: PersonaService,
        clock: Clock,
        store: MemoryWriter,
        model: StructuredModel | None = None,
    ) -> None:
        self._db = db
        self._personas = personas
        self._clock = clock
        self._store = store
        self._model = model
        self._plans: dict[tuple[str, ...], _Plan] = {}

    async def plan(self, persona_id: str | None, active: str | None, since: datetime | None) -> _Plan:
        """The facts and proposal a reflection over the persona's episodes since `since` (default:
        the last 7 days) would make; changes nothing."""
        persona = await self._personas.resolve(persona_id, active)
        now = self._clock.now()
        start = since or now - DEFAULT_WINDOW
        where = MemoryFilter(persona_id=persona.id, kinds=("episodic",), since=start, true_at=iso(now))
        rows = await SearchRepository(self._db).episodes(where, _EPISODES)
        key = (acting().name, persona.id, iso(start), str(len(rows)), rows[-1][0] if rows else "")
        self._plans = {k: p for k, p in self._plans.items() if time.monotonic() - p.made_at < _PLANS_KEPT_S}
        if key in self._plans and self._plans[key].persona.version == persona.version:
            return self._plans[key]
        episodes: list[Episode] = [(row[0], row[1], row[2], row[3]) for row in rows]
        gains = Gains()
        facts, methods, left = await self._by_model(persona, episodes, gains)
        if left:
            drawn = extract_facts(left[::-1])  # newest first
            facts.extend(drawn)
            methods.append("extractive")
            gains.lore.extend(_lore_ideas(persona, drawn))
        own = persona.own_names
        said = [
            row[1] for row in rows if row[4] or (row[2] or "").casefold() in own or _spoken_by(row[1], own)
        ]
        gains.interests.extend(interests_said(said))
        # A proposal only to one that may make it (the persona's owner, an admin, a writer).
        may_change = rank(await self._personas.access.level(persona)) >= rank("write")
        proposal = propose(persona, gains) if may_change else None
        plan = _Plan(persona, start, len(rows), facts, methods, proposal, time.monotonic())
        self._plans[key] = plan
        return plan

    async def _by_model(
        self, persona: Persona, episodes: list[Episode], gains: Gains
    ) -> tuple[list[Drawn], list[str], list[Episode]]:
        """Facts the model drew, batch by batch, and the episodes of batches it did not answer."""
        facts: list[Drawn] = []
        left: list[Episode] = []
        if self._model is None or not episodes or not await self._model.available():
            return facts, [], episodes
        for start in range(0, len(episodes), BATCH):
            batch = episodes[start : start + BATCH]
            found = await facts_by_model(self._model, persona.name, batch, gains)
            if found is None:
                left.extend(batch)
                continue
            facts.extend(
                Drawn(f.content, f.subject, f.sources, f.valid_from, method="llm", kind=f.kind) for f in found
            )
        return facts, ["llm"] if len(left) < len(episodes) else [], left

    async def reflect(
        self,
        persona_id: str | None,
        active: str | None,
        since: datetime | None,
        apply_changes: bool | None = None,
    ) -> ReflectResult:
        """Store the plan's facts (dedup and the contradiction check apply); apply its proposal
        when `apply_changes` (the user said yes), record a no, or leave it proposed (None)."""
        plan = await self.plan(persona_id, active, since)
        self._plans = {k: p for k, p in self._plans.items() if p is not plan}
        drafts = [
            MemoryDraft(
                content=fact.content,
                persona_id=plan.persona.id,
                kind=fact.kind,
                subject=fact.subject or None,
                metadata={"sources": fact.sources, "method": fact.method},
                created_at=parse_iso(fact.valid_from),
            )
            for fact in plan.facts
        ]
        results = await self._store.store_many(drafts) if drafts else []
        made = [
            ReflectedFact(
                memory_id=result.memory.id,
                content=result.memory.content,
                subject=fact.subject,
                kind=fact.kind,
                method=fact.method,
                sources=fact.sources,
                duplicate_of=result.duplicate_of,
                possible_conflicts=result.possible_conflicts,
            )
            for result, fact in zip(results, plan.facts, strict=True)
        ]
        proposal = plan.proposal
        if proposal is not None and apply_changes is not None:
            if apply_changes:
                await self._personas.update(plan.persona.id, proposal.changes)
            proposal = proposal.model_copy(update={"status": "applied" if apply_changes else "declined"})
        return ReflectResult(
            persona_id=plan.persona.id,
            method="+".join(plan.methods) or "extractive",
            since=plan.since,
            episodes_read=plan.episodes,
            facts_created=sum(1 for fact in made if fact.duplicate_of is None),
            facts_known=sum(1 for fact in made if fact.duplicate_of is not None),
            facts=made,
            persona_changes=proposal,
        )


def _spoken_by(content: str, names: frozenset[str]) -> bool:
    speaker = _SPEAKER.match(content)
    return speaker is not None and speaker.group(1).casefold() in names


def _lore_ideas(persona: Persona, facts: list[Drawn]) -> list[LoreIdea]:
    """Lorebook entries for the names many episodes come back to (not the persona's own)."""
    return [
        LoreIdea(keys=[fact.topic], content=fact.content)
        for fact in facts
        if fact.topic
        and fact.topic.casefold() not in persona.own_names
        and len(fact.sources) >= _LORE_SOURCES
    ]
