"""MemoryService: store (with dedup), search (hybrid), read, change, archive and count memories."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

import anyio

from core.access import acting, audit, require_admin
from core.clock import iso
from core.errors import InvalidInput, NotFound
from core.memory import late
from core.memory import witness_repository as witnesses
from core.memory.change_repository import MemoryChanges
from core.memory.embedding import Query
from core.memory.filters import LEXICAL_ROWS, MemoryFilter, SearchOptions, search_filter
from core.memory.models import (
    DeleteOutcome,
    Memory,
    MemoryPatch,
    MemoryStats,
    ReindexResult,
    SearchHit,
    SearchResult,
    SharedStats,
)
from core.memory.neighbour_queries import neighbours
from core.memory.ranking import Candidates, Evidence, rank
from core.memory.repository import MemoryRepository, decode_vector, to_memory
from core.memory.search_queries import SearchRepository
from core.memory.semantic import Progress
from core.memory.stats_queries import memory_stats, shared_stats
from core.memory.text import content_hash, terms
from core.memory.timewords import find_when
from core.memory.validity import supersede_stored, valid_to_columns
from core.memory.writer import MemoryWriter, checked_content, checked_metadata
from core.store.port import Row

__all__ = ["MemoryService", "SearchOptions"]

_FETCH_FACTOR = 5  # candidates per requested result, from each retriever
_MIN_FETCH = 50
_RERANK_POOL = 200  # best candidates (by their own match) re-ranked with neighbours and word pieces
_LEXICAL_KEPT = 400  # best-scored rows it returns; candidates below them count as no word match
# How much a neighbour's match counts, by its distance in turns.
_REACH = {1: 1.0, 2: 0.5}


def _symmetric(found: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, float]]]:
    """Neighbour links both ways, with the share of a neighbour's match they carry (_REACH): the
    neighbours of the pool's memories are linked back to them, so a reply gets credit from the
    question it answers even when the reply alone did not make the pool."""
    links: dict[str, dict[str, float]] = {}
    for key, others in found.items():
        for other, distance in others:
            if distance in _REACH:
                links.setdefault(key, {})[other] = _REACH[distance]
                links.setdefault(other, {})[key] = _REACH[distance]
    return {key: list(others.items()) for key, others in links.items()}


class MemoryService(MemoryWriter):
    """The operations behind the memory_* tools: storing (MemoryWriter), reading, changing,
    searching and counting."""

    @cached_property
    def _search(self) -> SearchRepository:
        return SearchRepository(self._db)

    async def stats(self, persona_id: str | None) -> MemoryStats:
        """Totals by persona, kind and visibility; averages; what the index still lacks."""
        if persona_id is not None:
            await self._personas.get(persona_id)
        return await memory_stats(self._db, await self.semantic.model_id(), persona_id)

    async def shared_stats(self) -> SharedStats:
        """Shared and public counts by persona, and what shared memories are about."""
        return await shared_stats(self._db)

    # ---- reading and changing ----

    async def get(self, memory_id: str) -> Memory:
        """The memory; one the acting principal may not see is answered as one that does not exist."""
        memory = await self._repo.get(memory_id)
        if memory is None:
            if not acting().admin and await self._repo.exists(memory_id):
                self._personas.access.denied("memory", memory_id)
            raise NotFound("memory_id", memory_id, "Use an id returned by memory_store or memory_search.")
        return memory

    async def _changeable(self, memory_id: str, doing: str) -> Memory:
        """The memory, if the caller may change it: its own, or any of a persona it may write."""
        memory = await self.get(memory_id)
        persona = await self._personas.get(memory.persona_id)
        await self._personas.access.require_change(persona, memory.created_by, doing)
        return memory

    async def update(self, memory_id: str, patch: MemoryPatch) -> Memory:
        """Change content, importance, visibility, pinned or metadata of a memory."""
        memory = await self._changeable(memory_id, "memory_update")
        if memory.archived_at is not None:
            raise InvalidInput("memory_id", memory_id, "That memory is archived; memory_restore it first.")
        sets: dict[str, object] = {}
        encoded = None
        if patch.content is not None and patch.content.strip() != memory.content:
            content = checked_content(patch.content, "content")
            # The word pieces of the old text no longer apply; the catch-up fills them in when
            # the model is not loaded now.
            sets |= {"content": content, "content_hash": content_hash(content), "token_model": None}
            encoded = await self.semantic.encode([content])
        if patch.metadata is not None:
            sets["metadata"] = checked_metadata(patch.metadata, "metadata").decode()
        if patch.importance is not None:
            sets["importance"] = patch.importance
        if patch.visibility is not None:
            if patch.visibility == "public" and memory.visibility != "public":
                persona = await self._personas.get(memory.persona_id)
                await self._personas.access.require(persona, "write", "making a memory public")
            sets["visibility"] = patch.visibility
        if patch.pinned is not None:
            sets["pinned"] = int(patch.pinned)
        if patch.valid_to is not None:
            sets |= valid_to_columns(patch.valid_to, memory)
        told = []
        for index, persona_id in enumerate(patch.told_to or []):
            listener = await self._personas.get_live(persona_id, f"told_to[{index}]")
            if listener.id != memory.persona_id and listener.id not in memory.witnesses:
                told.append(listener.id)
        if not sets and not told:
            return memory
        now = iso(self._clock.now())
        if sets:
            sets |= {"updated_at": now, "indexed_at": None, "updated_by": acting().name}
        model_id = await self.semantic.model_id()
        async with self._db.transaction() as tx:
            await witnesses.tell(tx, memory_id, told, now)
            if sets:
                await MemoryChanges.set_columns(tx, memory_id, sets)
            if encoded is not None and model_id is not None:
                await MemoryRepository.put_vectors(tx, model_id, {memory_id: encoded.vectors[0]})
                if encoded.pieces is not None:
                    await MemoryRepository.put_pieces(tx, model_id, {memory_id: encoded.pieces[0]})
        self.written.set()
        return await self.get(memory_id)

    async def supersede(self, old_id: str, new_id: str) -> Memory:
        """`old_id` stopped being true when `new_id` began (validity.py); the old one, now."""
        await supersede_stored(self._db, self._repo, self._personas, self._clock, old_id, new_id)
        return await self.get(old_id)

    async def tell(self, memory_id: str, persona_ids: list[str]) -> None:
        """These personas heard about the memory (its owner passed it on): they may recall it."""
        async with self._db.transaction() as tx:
            await witnesses.tell(tx, memory_id, persona_ids, iso(self._clock.now()))

    async def delete(self, memory_id: str, hard: bool = False) -> DeleteOutcome:
        """Archive a memory (restorable), or with hard=True remove it for good."""
        memory = await self._changeable(memory_id, "memory_delete")
        async with self._db.transaction() as tx:
            now = iso(self._clock.now())
            await audit(tx, now, acting().name, "purge" if hard else "archive", "memory", memory_id)
            if hard:
                await MemoryChanges.purge(tx, memory_id)
            elif memory.archived_at is None:
                await MemoryChanges.archive(tx, memory_id, now)
        await self.semantic.forget(memory.persona_id, [memory_id])
        if hard:
            return DeleteOutcome(memory_id=memory_id, action="purged")
        return DeleteOutcome(
            memory_id=memory_id, action="already_archived" if memory.archived_at else "archived"
        )

    async def restore(self, memory_id: str) -> Memory:
        """Bring an archived memory back, exactly as it was."""
        memory = await self._changeable(memory_id, "memory_restore")
        if memory.archived_at is None:
            return memory
        async with self._db.transaction() as tx:
            await MemoryChanges.restore(tx, memory_id, iso(self._clock.now()))
        self.written.set()
        return await self.get(memory_id)

    # ---- searching ----

    async def search(
        self, query: str, persona_id: str | None, options: SearchOptions, active: str | None = None
    ) -> SearchResult:
        """The memories that best match `query` among those the persona may see."""
        started = time.perf_counter()
        text = query.strip()
        if not text:
            raise InvalidInput("query", query, "Give some words to search for.")
        if options.since and options.until and options.since > options.until:
            raise InvalidInput(
                "since", iso(options.since), f"`since` must not be after `until` ({iso(options.until)})."
            )
        persona = await self._personas.resolve(persona_id, active)
        where = search_filter(persona.id, options, self._clock.now())
        fetch = max(_MIN_FETCH, _FETCH_FACTOR * options.n_results)
        words = terms(text)
        query_terms = set(words)
        semantic: dict[str, float] = {}
        lexical: dict[str, float] = {}
        embedded: Query | None = None

        async def by_meaning() -> None:
            nonlocal embedded
            embedded = await self.semantic.embed_query(text)
            if embedded is not None:
                semantic.update(await self.semantic.nearest(where, embedded.vector, fetch))

        async def by_words() -> None:
            if words:
                lexical.update(await self._lexical(words, where, fetch, options.lexical_rows))

        async with anyio.create_task_group() as group:
            group.start_soon(by_meaning)
            group.start_soon(by_words)
        valence = (await self._personas.emotional_state(persona)).valence
        model_id = await self.semantic.model_id() if embedded is not None else None
        vector = None if embedded is None else embedded.vector
        pieces: dict[str, bytes] = {}

        async def fields(ids: list[str]) -> Candidates:
            """Ranking fields of the visible ones among `ids`; fills in `semantic` for those the
            vector search did not return, and keeps their word pieces."""
            rows = await self._search.ranking_fields(ids, where, model_id)
            for row in rows:
                if vector is not None and row[0] not in semantic and row[4] is not None:
                    semantic[row[0]] = float(decode_vector(row[4]) @ vector)
                if row[5] is not None:
                    pieces[row[0]] = bytes(row[5])
            return Candidates.of(rows, valence, query_terms)

        candidates = await fields(list(semantic.keys() | lexical.keys()))
        evidence = Evidence(semantic, lexical)
        weights = self._settings.search_weights
        half_life = self._settings.recency_half_life_days
        now_ts = self._clock.now().timestamp()
        named = None if options.when else find_when(text, self._clock.now())  # "what did Sam do last week"
        window = (named[0][0].timestamp(), named[0][1].timestamp()) if named else None
        near: dict[str, list[tuple[str, float]]] = {}
        if (weights.context > 0 or weights.tokens > 0 or weights.passage > 0) and candidates:
            # The best candidates by their own match are re-ranked with their neighbours and
            # word pieces; the rest keep their own score.
            preliminary = rank(candidates, evidence, {}, weights, now_ts, half_life, _RERANK_POOL, window)
            pool = [item.memory_id for item in preliminary]
            near = _symmetric(await neighbours(self._db, pool))
            candidates += await fields(sorted(set(near) - set(candidates.ids)))
            if embedded is not None and embedded.pieces is not None and pieces:
                in_pool = set(pool) | set(near)
                best = late.best_matches(
                    embedded.pieces, {key: blob for key, blob in pieces.items() if key in in_pool}
                )
                evidence = Evidence(
                    semantic,
                    lexical,
                    best.tokens(),
                    best.passage({key: [other for other, _ in others] for key, others in near.items()}),
                )
        ranked = rank(candidates, evidence, near, weights, now_ts, half_life, options.n_results, window)
        # Whole rows for the results only. A memory archived since it was ranked is left out.
        rows = await self._repo.rows([item.memory_id for item in ranked], where)
        ranked = [item for item in ranked if item.memory_id in rows]
        if options.reinforce:
            own = [i.memory_id for i in ranked if rows[i.memory_id]["persona_id"] == persona.id]
            rows.update(await self._recalled(own, where))
        return SearchResult(
            memories=[
                SearchHit(
                    memory=to_memory(rows[item.memory_id]),
                    score=round(item.score, 6),
                    components=item.model(),
                )
                for item in ranked
            ],
            total_results=len(candidates),
            query=text,
            persona_id=persona.id,
            semantic=embedded is not None,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def _recalled(self, ids: list[str], where: MemoryFilter) -> dict[str, Row]:
        """Reinforce memories a search returned; their rows as they are now."""
        await self.recall(ids)
        return await self._repo.rows(ids, where) if ids else {}

    async def recall(self, ids: Sequence[str]) -> None:
        """Count these memories as used (in a chat, a recalling search): each regains strength."""
        if not ids:
            return
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await MemoryRepository.reinforce(tx, ids, self.decay_policy, now)

    async def top(self, persona_id: str, order: Literal["strongest", "newest"], limit: int) -> list[Memory]:
        """A persona's live memories, strongest (importance x strength) or newest first."""
        await self._personas.get(persona_id)
        return await self._repo.top(persona_id, order, limit)

    async def get_many(self, ids: Sequence[str]) -> dict[str, Memory]:
        return await self._repo.get_many(ids)

    async def _lexical(
        self, words: list[str], where: MemoryFilter, fetch: int, most: int = LEXICAL_ROWS
    ) -> dict[str, float]:
        """BM25 scores of the memories matching any of `words`.

        BM25 costs about a microsecond per matching row, so a word found in tens of thousands of
        memories would make every search slow. The words are taken rarest first while the rows they
        match stay under LEXICAL_ROWS; the common words left out carry the least weight in BM25
        anyway, and every row the chosen words match is scored; the best _LEXICAL_KEPT come back
        (a candidate below them gets no lexical credit: its BM25 would be small next to the
        best). When even the rarest word matches more rows than that, its most recent
        LEXICAL_ROWS matches are scored and the `fetch` best returned."""
        terms = await self._search.term_counts(words)
        chosen: list[int] = []
        total = 0
        for count, _word, index in sorted(zip(terms.counts, words, range(len(words)), strict=True)):
            if count and (not chosen or total + count <= most):
                chosen.append(index)
                total += count
        if not chosen:
            return {}
        if total <= most:
            return dict(
                await self._search.lexical(terms.subset(chosen), where, max(fetch, min(most, _LEXICAL_KEPT)))
            )
        # Even the rarest word is everywhere: score its most recent matches only.
        return dict(await self._search.lexical(terms.subset(chosen), where, fetch, newest=most))

    async def reindex(self, persona_id: str | None, progress: Progress | None = None) -> ReindexResult:
        """Rebuild the vector index from SQLite (for one persona, or all)."""
        require_admin("memory_reindex")
        if persona_id is not None:
            await self._personas.get(persona_id)
        started = time.perf_counter()
        await self.semantic.slot.retry()  # an embedder that failed to load may load now
        report = await self.semantic.rebuild(persona_id, progress)
        return ReindexResult(
            persona_id=persona_id,
            embedding_model=await self.semantic.model_id() or "",
            embedded=report.embedded,
            indexed=report.indexed,
            orphans_removed=report.orphans_removed,
            elapsed_seconds=round(time.perf_counter() - started, 3),
        )
