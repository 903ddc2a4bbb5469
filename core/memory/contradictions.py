"""Does a new fact end a current one? Each new semantic or reflective memory with a `subject` is
checked against the current facts about that subject: by the belief model when one answers (one
structured-output call per store, every pair of the store in it), else by the deterministic rule
(conflicts.py). What is found comes back as possible conflicts; auto_supersede_llm (default on)
or auto_supersede_rule (default off) decide whether the new memory supersedes what it ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from core.clock import Clock, iso
from core.config import Settings
from core.errors import PersonaMCPError
from core.llm import StructuredModel
from core.memory.conflicts import conflict
from core.memory.filters import MemoryFilter
from core.memory.models import MemoryDraft, PossibleConflict
from core.memory.repository import MemoryRepository, decode_vector
from core.memory.search_queries import SearchRepository
from core.memory.validity import replaceable
from core.personas import PersonaService
from core.store import Store

__all__ = ["ContradictionCheck", "NewFact"]

_ASKED_PER_FACT = 8  # the current facts most like a new one that the model sees
_PAIRS_PER_CALL = 24

INSTRUCTIONS = (
    "You keep a persona's beliefs up to date. Each numbered pair holds a fact the persona believes "
    "about a subject (OLD) and a new statement about the same subject (NEW). For each pair decide "
    "whether NEW means OLD is no longer true: the same attribute (where they live, where they work "
    "or study, their job, their name, their relationship status, their age, what they like most, "
    "what they own) with a different value, or an explicit end (no longer, quit, moved away, broke "
    "up). More detail, another attribute, or something that can be true at the same time is not a "
    "contradiction. Give one verdict per pair: its number, whether NEW contradicts OLD, the "
    "attribute in one or two words, and a short reason."
)


class _Verdict(BaseModel):
    pair: int = Field(ge=1)
    contradicts: bool
    attribute: str = Field("", max_length=100)
    reason: str = Field("", max_length=500)


class _Verdicts(BaseModel):
    verdicts: list[_Verdict]


@dataclass
class NewFact:
    """A memory about to be stored, as the check sees it; `conflicts` and `draft.supersedes` are
    what the check adds."""

    draft: MemoryDraft
    persona_id: str
    content: str
    vector: np.ndarray | None
    conflicts: list[PossibleConflict] = field(default_factory=list)


@dataclass
class _Pair:
    fact: NewFact
    old_id: str
    old: str
    rule: tuple[str, str] | None  # the rule's (attribute, reason), when it flags the pair


class ContradictionCheck:
    def __init__(
        self,
        db: Store,
        clock: Clock,
        settings: Settings,
        personas: PersonaService,
        model: StructuredModel | None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._personas = personas
        self._repo = MemoryRepository(db)
        self._model = model

    async def check(self, facts: Sequence[NewFact], model_id: str | None) -> None:
        """Fill each fact's `conflicts` (and, where the setting says so, its `supersedes`)."""
        pairs = await self._pairs(facts, model_id)
        if not pairs:
            return
        verdicts = await self._ask(pairs)
        for index, pair in enumerate(pairs):
            if verdicts is not None and index in verdicts:
                verdict = verdicts[index]
                if not verdict.contradicts:
                    continue
                attribute = verdict.attribute.strip() or "fact"
                reason = verdict.reason.strip() or f"the model says it ends: {pair.old}"
                await self._found(pair, attribute, reason, "llm", self._settings.auto_supersede_llm)
            elif pair.rule is not None:
                await self._found(pair, *pair.rule, "rule", self._settings.auto_supersede_rule)

    async def _pairs(self, facts: Sequence[NewFact], model_id: str | None) -> list[_Pair]:
        now, search = iso(self._clock.now()), SearchRepository(self._db)
        candidates: list[list[_Pair]] = []  # per fact, the closest first
        for fact in facts:
            subject = fact.draft.subject
            if not subject or fact.draft.kind not in ("semantic", "reflective"):
                continue
            where = MemoryFilter(persona_id=fact.persona_id, true_at=now)
            scored = []
            for row in await search.facts_about(where, subject, model_id):
                if row[0] in (fact.draft.supersedes or []):
                    continue
                close = None
                if fact.vector is not None and row[2] is not None:
                    close = float(decode_vector(row[2]) @ fact.vector)
                proposal = conflict(row[1], fact.content, subject, close)
                rule = None if proposal is None else (proposal.attribute, proposal.reason)
                scored.append((close if close is not None else 0.0, _Pair(fact, row[0], row[1], rule)))
            scored.sort(key=lambda entry: -entry[0])
            candidates.append([pair for _, pair in scored])
        # Ollama is asked about only when there is something to ask: a store of episodes never waits.
        asking = any(candidates) and self._model is not None and await self._model.available()
        # The model sees the closest facts (and every one the rule flags); without it, the rule's.
        return [
            pair
            for closest in candidates
            for rank, pair in enumerate(closest)
            if pair.rule is not None or (asking and rank < _ASKED_PER_FACT)
        ]

    async def _ask(self, pairs: list[_Pair]) -> dict[int, _Verdict] | None:
        """The model's verdicts by pair index; None when it did not answer (the rule decides)."""
        if self._model is None:
            return None
        verdicts: dict[int, _Verdict] = {}
        for start in range(0, len(pairs), _PAIRS_PER_CALL):
            chunk = pairs[start : start + _PAIRS_PER_CALL]
            question = "\n\n".join(
                f"Pair {n}. Subject: {pair.fact.draft.subject}\nOLD: {pair.old}\nNEW: {pair.fact.content}"
                for n, pair in enumerate(chunk, 1)
            )
            answer = await self._model.ask(INSTRUCTIONS, question, _Verdicts)
            if answer is None:
                return verdicts or None
            for verdict in answer.verdicts:
                if verdict.pair <= len(chunk):
                    verdicts[start + verdict.pair - 1] = verdict
        return verdicts

    async def _found(
        self, pair: _Pair, attribute: str, reason: str, method: Literal["llm", "rule"], apply: bool
    ) -> None:
        fact = pair.fact
        apply = apply and await self._may_replace(fact, pair.old_id)
        if apply:
            fact.draft = fact.draft.model_copy(
                update={"supersedes": [*(fact.draft.supersedes or []), pair.old_id]}
            )
        fact.conflicts.append(
            PossibleConflict(
                memory_id=pair.old_id, attribute=attribute, reason=reason, superseded=apply, method=method
            )
        )

    async def _may_replace(self, fact: NewFact, memory_id: str) -> bool:
        persona = await self._personas.get(fact.persona_id)
        try:
            await replaceable(self._repo, self._personas, persona, memory_id, "supersedes")
        except PersonaMCPError:
            return False
        return True
