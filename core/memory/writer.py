"""Writing new memories: validation, exact and near-duplicate detection, one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Literal

import aiosqlite
import anyio
import numpy as np
import orjson

from core.access import acting
from core.clock import Clock, aware, iso
from core.config import Settings
from core.errors import InvalidInput
from core.llm import StructuredModel
from core.memory import witness_repository as witnesses
from core.memory.change_repository import MemoryChanges
from core.memory.contradictions import ContradictionCheck, NewFact
from core.memory.decay import DecayPolicy
from core.memory.encoding import Encoder, Encoding
from core.memory.models import BatchResult, MemoryDraft, PossibleConflict, StoreResult
from core.memory.repository import MemoryRepository
from core.memory.semantic import SemanticLayer
from core.memory.text import content_hash
from core.memory.validity import replaceable
from core.models import Persona
from core.personas import PersonaService
from core.store import Store

__all__ = ["MAX_METADATA_BYTES", "MemoryWriter", "checked_content", "checked_metadata"]

MAX_METADATA_BYTES = 16_000
_FUTURE_TOLERANCE = timedelta(minutes=5)

logger = logging.getLogger(__name__)


@dataclass
class _Item:
    """One draft on its way into the store."""

    position: int
    draft: MemoryDraft
    persona_id: str
    content: str
    hash: str
    metadata: str
    created_at: str
    encoding: Encoding
    vector: np.ndarray | None = None
    pieces: bytes | None = None  # word-piece signs (late.py), when the model gives them
    duplicate_of: str | None = None
    reason: Literal["exact", "similar"] | None = None
    similarity: float | None = None
    conflicts: list[PossibleConflict] = field(default_factory=list)


def _argument(position: int | None, name: str) -> str:
    return name if position is None else f"items[{position}].{name}"


def checked_content(text: str, argument: str) -> str:
    """The content to store: `text` without surrounding whitespace, which must leave something."""
    content = text.strip()
    if not content:
        raise InvalidInput(argument, text, "Give the memory some visible text.")
    return content


def checked_metadata(metadata: dict[str, object], argument: str) -> bytes:
    """The metadata as stored (JSON), within the size limit."""
    encoded = orjson.dumps(metadata)
    if len(encoded) > MAX_METADATA_BYTES:
        raise InvalidInput(
            argument,
            f"{len(encoded)} bytes of JSON",
            f"Keep metadata under {MAX_METADATA_BYTES} bytes; put long text in the content.",
        )
    return encoded


class MemoryWriter:
    """memory_store and memory_store_batch; `written` is set after every write, so the index loop
    can catch up at once."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        settings: Settings,
        personas: PersonaService,
        semantic: SemanticLayer,
        belief_model: StructuredModel | None = None,
    ) -> None:
        self._db = db
        self._repo = MemoryRepository(db)
        self._contradictions = ContradictionCheck(db, clock, settings, personas, belief_model)
        self._clock = clock
        self._settings = settings
        self._personas = personas
        self.semantic = semantic
        self.decay_policy = DecayPolicy.from_settings(settings)
        self.written = anyio.Event()

    async def wait_for_write(self) -> None:
        """Return after the next write (the index loop's wake-up)."""
        await self.written.wait()
        self.written = anyio.Event()

    async def store(self, draft: MemoryDraft, active: str | None = None) -> StoreResult:
        """Store one memory, or reinforce the existing one it duplicates."""
        results = await self._store([draft], active, batch=False)
        return results[0]

    async def store_batch(self, drafts: Sequence[MemoryDraft], active: str | None = None) -> BatchResult:
        """Store many memories in one transaction (all or nothing); duplicates reinforce."""
        if not drafts:
            raise InvalidInput("items", [], "Give at least one item, each with at least `content`.")
        results = await self._store(drafts, active, batch=True)
        return BatchResult(
            stored=sum(1 for r in results if r.duplicate_of is None),
            duplicates=sum(1 for r in results if r.duplicate_of is not None),
            ids=[r.memory.id for r in results],
            duplicate_of=[r.duplicate_of for r in results],
        )

    async def store_many(self, drafts: Sequence[MemoryDraft]) -> list[StoreResult]:
        """store_batch, answering item by item (reflection reports each fact it made)."""
        return await self._store(drafts, None, batch=True)

    async def _prepare(self, drafts: Sequence[MemoryDraft], active: str | None, batch: bool) -> list[_Item]:
        now = self._clock.now()
        items = []
        resolved: dict[str | None, Persona] = {}
        encoder = Encoder(self._db, self._personas)
        for position, draft in enumerate(drafts):
            where = position if batch else None
            if draft.persona_id not in resolved:
                resolved[draft.persona_id] = await self._personas.resolve(draft.persona_id, active)
            persona = resolved[draft.persona_id]
            if draft.visibility == "public":  # every principal that may read the persona sees it
                await self._personas.access.require(persona, "write", "storing a public memory")
            content = checked_content(draft.content, _argument(where, "content"))
            checked_metadata(draft.metadata, _argument(where, "metadata"))
            created = aware(draft.created_at, _argument(where, "created_at"))
            if created is not None and created > now + _FUTURE_TOLERANCE:
                raise InvalidInput(
                    _argument(where, "created_at"), iso(created), "A memory cannot come from the future."
                )
            aware(draft.valid_from, _argument(where, "valid_from"))
            for index, old in enumerate(draft.supersedes or []):
                await replaceable(
                    self._repo, self._personas, persona, old, _argument(where, f"supersedes[{index}]")
                )
            for index, witness in enumerate(draft.witnesses or []):
                await self._personas.get_live(witness, _argument(where, f"witnesses[{index}]"))
            encoding = await encoder.encode(persona, content, draft.subject, draft.importance)
            metadata = draft.metadata
            if encoding.explanation is not None:
                metadata = {**metadata, "importance_factors": encoding.explanation}
            items.append(
                _Item(
                    position=position,
                    draft=draft,
                    persona_id=persona.id,
                    content=content,
                    hash=content_hash(content),
                    metadata=orjson.dumps(metadata).decode(),
                    created_at=iso(created or now),
                    encoding=encoding,
                )
            )
        return items

    async def _store(
        self, drafts: Sequence[MemoryDraft], active: str | None, batch: bool
    ) -> list[StoreResult]:
        items = await self._prepare(drafts, active, batch)
        self._mark_exact_duplicates_within(items)
        await self._mark_exact_duplicates_stored(items, self._repo.by_hash)
        fresh = [item for item in items if item.duplicate_of is None]
        model_id = await self.semantic.model_id()
        encoded = await self.semantic.embed_for_store([item.content for item in fresh])
        if encoded is not None:
            pieces: Sequence[bytes | None] = encoded.pieces or [None] * len(fresh)
            for item, vector, blob in zip(fresh, encoded.vectors, pieces, strict=True):
                item.vector, item.pieces = vector, blob
            await self._mark_similar_duplicates(fresh)
        await self._propose_conflicts([item for item in items if item.duplicate_of is None], model_id)
        stamp = self._clock.now()
        now = iso(stamp)
        new_ids: dict[int, str] = {}
        async with self._db.transaction() as tx:
            await self._drop_vanished_targets(tx, items)
            # Another process may have stored the same text since we looked.
            await self._mark_exact_duplicates_stored(items, partial(MemoryRepository.by_hash_in_tx, tx))
            rows = []
            for item in items:
                if item.duplicate_of is None:
                    memory_id = uuid.uuid4().hex
                    new_ids[item.position] = memory_id
                    rows.append(self._row(item, memory_id, now, model_id))
            written = [i for i in items if i.position in new_ids]
            await MemoryRepository.insert(
                tx,
                rows,
                model_id,
                {new_ids[i.position]: i.vector for i in written if i.vector is not None},
                {new_ids[i.position]: i.pieces for i in written if i.pieces is not None},
            )
            for item in items:  # in order, so an earlier item's final id is known before it is needed
                if item.duplicate_of is not None:
                    if item.duplicate_of.startswith("#"):  # an earlier item of this batch
                        earlier = items[int(item.duplicate_of[1:])]
                        item.duplicate_of = new_ids.get(earlier.position) or earlier.duplicate_of
                    assert item.duplicate_of is not None
                    await MemoryRepository.reinforce(
                        tx, [item.duplicate_of], self.decay_policy, stamp, item.draft.importance
                    )
            final = [new_ids.get(item.position) or item.duplicate_of or "" for item in items]
            for item, memory_id in zip(items, final, strict=True):
                if item.draft.supersedes:
                    start = iso(item.draft.valid_from) if item.draft.valid_from else item.created_at
                    await MemoryRepository.supersede(
                        tx, item.draft.supersedes, memory_id, start, now, acting().name
                    )
            await witnesses.add_witnesses(
                tx,
                [
                    {
                        "id": memory_id,
                        "persona_id": item.persona_id,
                        "conversation_id": item.draft.conversation_id,
                        "witnesses": item.draft.witnesses,
                    }
                    for item, memory_id in zip(items, final, strict=True)
                ],
                now,
            )
            stored = await MemoryRepository.get_many_in_tx(tx, final)
            missing = set(final) - stored.keys()
            if missing:  # never expected: refuse rather than acknowledge what was not written
                raise RuntimeError(
                    f"stored memories not found in the same transaction: {sorted(missing)[:3]}"
                )
        self.written.set()
        return [
            StoreResult(
                memory=stored[memory_id],
                duplicate_of=item.duplicate_of,
                duplicate_reason=item.reason,
                possible_conflicts=item.conflicts,
                similarity=None if item.similarity is None else round(item.similarity, 6),
            )
            for item, memory_id in zip(items, final, strict=True)
        ]

    @staticmethod
    async def _drop_vanished_targets(tx: aiosqlite.Connection, items: list[_Item]) -> None:
        """A memory an item was found to repeat may have been archived or deleted (by another
        process) since: then the item is stored as new after all."""
        targets = {i.duplicate_of for i in items if i.duplicate_of and not i.duplicate_of.startswith("#")}
        if not targets:
            return
        live = await MemoryChanges.live_among(tx, targets)
        for item in items:
            if item.duplicate_of in targets - live:
                logger.warning("memory %s vanished before its duplicate was stored", item.duplicate_of)
                item.duplicate_of = item.reason = item.similarity = None

    @staticmethod
    def _row(item: _Item, memory_id: str, now: str, model_id: str | None) -> dict[str, object]:
        draft, encoding = item.draft, item.encoding
        return {
            "id": memory_id,
            "persona_id": item.persona_id,
            "content": item.content,
            "kind": draft.kind,
            "visibility": draft.visibility,
            "importance": encoding.importance,
            "emotion_valence": encoding.valence,
            "emotion_arousal": encoding.arousal,
            "emotion_label": encoding.label,
            "emotional_intensity": encoding.intensity,
            "created_at": item.created_at,
            "updated_at": now,
            "source": draft.source,
            "subject": draft.subject,
            "conversation_id": draft.conversation_id,
            "metadata": item.metadata,
            "content_hash": item.hash,
            "embedding_model": model_id if item.vector is not None else None,
            "token_model": model_id if item.pieces is not None else None,
            "valid_from": iso(draft.valid_from) if draft.valid_from else None,
        }

    @staticmethod
    def _mark_exact_duplicates_within(items: list[_Item]) -> None:
        first: dict[tuple[str, str], int] = {}
        for item in items:
            key = (item.persona_id, item.hash)
            if key in first:
                # "#n": the memory that item n of this batch will become.
                item.duplicate_of, item.reason, item.similarity = f"#{first[key]}", "exact", 1.0
            else:
                first[key] = item.position

    @staticmethod
    async def _mark_exact_duplicates_stored(
        items: list[_Item], by_hash: Callable[[str, list[str]], Awaitable[dict[str, str]]]
    ) -> None:
        for persona_id in {item.persona_id for item in items}:
            pending = [i for i in items if i.persona_id == persona_id and i.duplicate_of is None]
            if not pending:
                continue
            found = await by_hash(persona_id, [item.hash for item in pending])
            for item in pending:
                if item.hash in found and found[item.hash] not in item.draft.drawn_from():
                    item.duplicate_of, item.reason, item.similarity = found[item.hash], "exact", 1.0

    async def _propose_conflicts(self, fresh: list[_Item], model_id: str | None) -> None:
        """Current facts each new semantic or reflective memory seems to end (contradictions.py)."""
        facts = [NewFact(item.draft, item.persona_id, item.content, item.vector) for item in fresh]
        await self._contradictions.check(facts, model_id)
        for item, fact in zip(fresh, facts, strict=True):
            item.draft, item.conflicts = fact.draft, fact.conflicts

    async def _mark_similar_duplicates(self, fresh: list[_Item]) -> None:
        threshold = self._settings.dedup_threshold
        for persona_id in {item.persona_id for item in fresh}:
            group = [item for item in fresh if item.persona_id == persona_id and item.vector is not None]
            if not group:
                continue
            matrix = np.stack([item.vector for item in group])  # type: ignore[misc]
            nearest = await self.semantic.nearest_many(persona_id, matrix)
            within = matrix @ matrix.T
            # Earlier items of the batch that were stored (not themselves duplicates) compete with
            # the index's nearest memory; -inf masks the others.
            kept = np.full(len(group), -np.inf, dtype=within.dtype)
            for row, item in enumerate(group):
                best_id, best = nearest[row]
                if row:
                    col = int(np.argmax(within[row, :row] + kept[:row]))
                    similarity = float(within[row, col] + kept[col])
                    if similarity > best:
                        best_id, best = f"#{group[col].position}", similarity
                if best_id is not None and best >= threshold and best_id not in item.draft.drawn_from():
                    item.duplicate_of, item.reason, item.similarity = best_id, "similar", best
                else:
                    kept[row] = 0.0
