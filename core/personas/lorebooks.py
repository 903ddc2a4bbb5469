"""Lorebooks as their own objects ("knowledge packs"): stored once, attached to any number of
personas and conversations, detached, deleted. A persona's own card book stays in its spec; chat
context uses it first, then the books attached to the persona, to the conversation, and (in a
group chat) to the other personas present.

Access: a book belongs to the principal that imported it. Others see it while it is attached to a
persona they may read or a conversation of theirs. Attaching to a persona needs write access to the
persona (it changes what the persona knows for everyone); to a conversation, that it is one's own."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, Field

from core.access import acting, audit
from core.clock import Clock, iso, parse_iso
from core.errors import Forbidden, InvalidInput, MissingInput, NotFound
from core.lorebook import Lorebook
from core.models import PERSONA_ID_PATTERN, Persona
from core.personas.service import PersonaService, numbered, slugify
from core.store.lorebooks import LorebookRepository
from core.store.port import Store

__all__ = [
    "AttachedBook",
    "LorebookAttachment",
    "LorebookDeleted",
    "LorebookDetail",
    "LorebookImported",
    "LorebookInfo",
    "LorebookList",
    "LorebookService",
    "book_digest",
]

_CACHED_BOOKS = 64


def book_digest(book: Lorebook) -> str:
    """A fingerprint of a book's content: the same file imported twice has the same one."""
    dumped = orjson.dumps(book.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(dumped).hexdigest()


class LorebookInfo(BaseModel):
    """A stored lorebook, without its entries."""

    id: str
    name: str
    description: str | None = None
    entries: int = Field(ge=0)
    format: str = Field(
        description="The shape it was imported from: world_info, lorebook_v3, character_book..."
    )
    owner: str
    created_at: datetime
    updated_at: datetime
    personas: list[str] = Field(default_factory=list, description="Personas it is attached to.")
    conversations: list[str] = Field(default_factory=list, description="Conversations it is attached to.")


class LorebookImported(LorebookInfo):
    created: bool = Field(description="False when this exact book was already stored (nothing was added).")
    replaced: bool = False
    warnings: list[str] = Field(default_factory=list)


class LorebookDetail(LorebookInfo):
    book: Lorebook


class LorebookList(BaseModel):
    lorebooks: list[LorebookInfo]


class LorebookDeleted(BaseModel):
    lorebook_id: str
    name: str
    detached: int = Field(description="Attachments removed with it.")


class LorebookAttachment(BaseModel):
    lorebook_id: str
    persona_id: str | None = None
    conversation_id: str | None = None
    action: str = Field(description="attached, already_attached, detached, or not_attached.")


@dataclass(frozen=True)
class AttachedBook:
    """A book that applies to a chat: None for a persona's own card book."""

    lorebook_id: str | None
    name: str
    book: Lorebook


_Info = TypeVar("_Info", bound=LorebookInfo)


def _info(row: Any, links: list[Any], cls: type[_Info], **extra: Any) -> _Info:
    mine = [link for link in links if link["lorebook_id"] == row["id"]]
    return cls(
        id=row["id"],
        name=row["name"],
        description=row["description"] if "description" in row.keys() else None,  # noqa: SIM118
        entries=row["entries"],
        format=row["format"],
        owner=row["owner"],
        created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
        personas=[link["persona_id"] for link in mine if link["persona_id"]],
        conversations=[link["conversation_id"] for link in mine if link["conversation_id"]],
        **extra,
    )


class LorebookService:
    """Import, list, read, attach, detach and delete lorebooks; the books a chat context uses."""

    def __init__(self, db: Store, personas: PersonaService, clock: Clock) -> None:
        self._db = db
        self._repo = LorebookRepository(db)
        self._personas = personas
        self._clock = clock
        self._parsed: OrderedDict[tuple[str, str], Lorebook] = OrderedDict()

    async def _unknown(self, lorebook_id: str) -> NotFound:
        known = [row["id"] for row in await self._repo.listed(None, None)][:20]
        hint = (
            f"Known lorebooks: {', '.join(known)}."
            if known
            else "There are no lorebooks yet: lorebook_import."
        )
        return NotFound("lorebook_id", lorebook_id, hint)

    async def _row(self, lorebook_id: str) -> Any:
        row = await self._repo.get(lorebook_id)
        if row is None:
            raise await self._unknown(lorebook_id)
        return row

    def _owned(self, row: Any, doing: str) -> None:
        who = acting()
        if not who.admin and row["owner"] != who.name:
            raise Forbidden(
                f"Permission denied: {doing} on lorebook {row['id']!r} is for its owner "
                f"({row['owner']!r}) or an admin; principal {who.name!r} is neither."
            )

    def _parse(self, row: Any) -> Lorebook:
        key = (row["id"], row["updated_at"])
        book = self._parsed.get(key)
        if book is None:
            book = Lorebook.model_validate(orjson.loads(row["book"]))
            self._parsed[key] = book
            while len(self._parsed) > _CACHED_BOOKS:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end(key)
        return book

    async def _free_id(self, name: str) -> str:
        base = slugify(name).replace("persona-", "book-", 1)
        candidate, number = base, 1
        while await self._repo.exists(candidate):
            number += 1
            candidate = numbered(base, number)
        return candidate

    async def add(
        self,
        book: Lorebook,
        fmt: str,
        name: str | None = None,
        lorebook_id: str | None = None,
        warnings: list[str] | None = None,
    ) -> LorebookImported:
        """Store a book (or, with `lorebook_id` of a book of one's own, replace its content). The
        same content imported again by the same owner is found, not stored twice."""
        name = (name or book.name or "").strip()
        if not name:
            raise MissingInput("name", "The file names no lorebook: pass name, e.g. name='Eldoria'.")
        if len(name) > 200:
            raise InvalidInput("name", name, "A lorebook's name is at most 200 characters.")
        if lorebook_id is not None and not re.fullmatch(PERSONA_ID_PATTERN, lorebook_id):
            raise InvalidInput(
                "lorebook_id", lorebook_id, "Ids are 1-64 lowercase letters, digits and inner hyphens."
            )
        digest = book_digest(book)
        now = iso(self._clock.now())
        row: dict[str, Any] = {"name": name, "format": fmt, "digest": digest, "updated_at": now}
        row |= {"book": orjson.dumps(book.model_dump(mode="json")).decode(), "entries": len(book.entries)}
        async with self._db.transaction() as tx:
            if lorebook_id is not None and await self._repo.exists(lorebook_id):
                existing = await self._row(lorebook_id)
                self._owned(existing, "replacing a lorebook")
                await LorebookRepository.replace(tx, lorebook_id, row)
                await audit(tx, now, acting().name, "replace", "lorebook", lorebook_id)
                created, replaced, target = True, True, lorebook_id
            elif lorebook_id is None and (same := await self._repo.same_content(acting().name, digest)):
                created, replaced, target = False, False, same["id"]
            else:
                target = lorebook_id or await self._free_id(name)
                await LorebookRepository.insert(
                    tx, {"id": target, **row, "owner": acting().name, "created_at": now}
                )
                created, replaced = True, False
        stored = await self._row(target)
        links = await self._repo.links([target])
        return _info(
            stored, links, LorebookImported, created=created, replaced=replaced, warnings=warnings or []
        )

    async def list_books(
        self, persona_id: str | None = None, conversation_id: str | None = None
    ) -> LorebookList:
        """The books the acting principal may see (only those attached to a persona or a
        conversation when one is named)."""
        if persona_id is not None:
            await self._personas.get(persona_id)
        if conversation_id is not None:
            await self._conversation(conversation_id)
        rows = await self._repo.listed(persona_id, conversation_id)
        links = await self._repo.links([row["id"] for row in rows])
        return LorebookList(lorebooks=[_info(row, links, LorebookInfo) for row in rows])

    async def get(self, lorebook_id: str) -> LorebookDetail:
        row = await self._row(lorebook_id)
        links = await self._repo.links([lorebook_id])
        book = self._parse(row)
        detail: LorebookDetail = _info(
            {**dict(row), "description": book.description}, links, LorebookDetail, book=book
        )
        return detail

    async def delete(self, lorebook_id: str) -> LorebookDeleted:
        row = await self._row(lorebook_id)
        self._owned(row, "lorebook_delete")
        async with self._db.transaction() as tx:
            detached = await LorebookRepository.delete(tx, lorebook_id)
            await audit(tx, iso(self._clock.now()), acting().name, "delete", "lorebook", lorebook_id)
        return LorebookDeleted(lorebook_id=lorebook_id, name=row["name"], detached=detached)

    async def _conversation(self, conversation_id: str) -> None:
        if not await self._repo.conversation_visible(conversation_id):
            raise NotFound("conversation_id", conversation_id, "conversation_history lists yours.")

    async def attach(
        self,
        lorebook_id: str,
        persona_id: str | None = None,
        conversation_id: str | None = None,
        detach: bool = False,
    ) -> LorebookAttachment:
        """Attach the book to a persona or a conversation (or detach it)."""
        if (persona_id is None) == (conversation_id is None):
            raise InvalidInput(
                "persona_id",
                persona_id,
                "Name exactly one of persona_id (every chat of that persona) or conversation_id "
                "(every persona in that conversation).",
            )
        await self._row(lorebook_id)
        if persona_id is not None:
            verb = "lorebook_detach" if detach else "lorebook_attach"
            await self._personas.get_for(persona_id, "write", verb)
        else:
            await self._conversation(str(conversation_id))
        async with self._db.transaction() as tx:
            if detach:
                changed = await LorebookRepository.unlink(tx, lorebook_id, persona_id, conversation_id)
                action = "detached" if changed else "not_attached"
            else:
                now = iso(self._clock.now())
                changed = await LorebookRepository.link(tx, lorebook_id, persona_id, conversation_id, now)
                action = "attached" if changed else "already_attached"
        return LorebookAttachment(
            lorebook_id=lorebook_id, persona_id=persona_id, conversation_id=conversation_id, action=action
        )

    async def for_context(
        self, persona: Persona, conversation_id: str | None = None, others: list[Persona] | None = None
    ) -> list[AttachedBook]:
        """The books a chat of `persona` uses, in order: its own card book, the books attached to
        it, to the conversation, then (a group chat) the other personas' card and attached books.
        Each book once."""
        others = others or []
        rows = await self._repo.attached([persona.id, *(p.id for p in others)], conversation_id)
        books: list[AttachedBook] = []
        seen: set[str] = set()

        def add(attached: list[Any]) -> None:  # rows in the order they were attached
            for row in attached:
                if row["id"] not in seen:
                    seen.add(row["id"])
                    books.append(AttachedBook(row["id"], row["name"], self._parse(row)))

        def of(owner: Persona) -> None:  # a persona's card book, then the books attached to it
            if owner.lorebook is not None and owner.lorebook.entries:
                books.append(AttachedBook(None, f"{owner.name}'s card", owner.lorebook))
            add([row for row in rows if row["persona_id"] == owner.id])

        of(persona)
        add([row for row in rows if row["conversation_id"] is not None])
        for other in others:
            of(other)
        return books
