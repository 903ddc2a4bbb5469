"""ConversationService: start, add turns, read back, list and end conversations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import NamedTuple

from core.access import acting
from core.chat.summary import Turn, summarize
from core.chat.tokens import TokenCounter
from core.clock import Clock, iso, parse_iso
from core.conversations.models import (
    Conversation,
    ConversationList,
    EndResult,
    History,
    Message,
    Role,
)
from core.conversations.repository import ConversationRepository
from core.errors import InvalidInput, MissingInput, NotFound
from core.memory import MemoryDraft, MemoryService
from core.personas import PersonaService
from core.store import Store
from core.store.port import Row

__all__ = ["ConversationService", "TurnRow"]

MAX_PARTICIPANTS = 8
SUMMARY_TOKENS = 200

_Drafts = list[MemoryDraft]  # spelled here: inside the class, `list` is ConversationService.list


class TurnRow(NamedTuple):
    """A message as context assembly needs it."""

    id: int
    role: Role
    persona_id: str | None
    content: str
    tokens: int


def _conversation(row: Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        user_id=row["user_id"],
        status=row["status"],
        participants=[p for p in (row["participants"] or "").split(",") if p],
        present=[p for p in (row["present"] or "").split(",") if p],
        turns=row["turns"],
        tokens=row["tokens"],
        summary=row["summary"],
        created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
        closed_at=parse_iso(row["closed_at"]) if row["closed_at"] else None,
    )


def _message(row: Row) -> Message:
    return Message(
        id=row["id"],
        role=row["role"],
        persona_id=row["persona_id"],
        content=row["content"],
        tokens=row["tokens"],
        created_at=parse_iso(row["created_at"]),
    )


class ConversationService:
    """The operations behind conversation_* (and the history persona_chat and persona_context use)."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        personas: PersonaService,
        memories: MemoryService,
        tokens: TokenCounter,
    ) -> None:
        self.repo = ConversationRepository(db)
        self._clock = clock
        self._personas = personas
        self._memories = memories
        self.tokens = tokens
        self.ended: list[Callable[[list[str]], None]] = []  # told the personas of each ended conversation

    async def start(
        self,
        persona_id: str | None,
        participants: list[str] | None,
        user_id: str | None,
        title: str | None,
        active: str | None = None,
    ) -> Conversation:
        """Open a conversation with one persona (the one named, else the session's) or several."""
        user_id = self._personas.access.user_id(user_id)
        if participants:
            if persona_id is not None and persona_id not in participants:
                participants = [persona_id, *participants]
            ids = list(dict.fromkeys(participants))
            if len(ids) > MAX_PARTICIPANTS:
                raise InvalidInput(
                    "participants",
                    participants,
                    f"Name at most {MAX_PARTICIPANTS} personas per conversation.",
                )
            for index, pid in enumerate(ids):
                await self._personas.get_live(pid, f"participants[{index}]")
        else:
            ids = [(await self._personas.resolve(persona_id, active)).id]
        conversation_id = uuid.uuid4().hex
        await self.repo.create(conversation_id, title, user_id, ids, iso(self._clock.now()))
        return await self.get(conversation_id)

    async def get(self, conversation_id: str, argument: str = "conversation_id") -> Conversation:
        row = await self.repo.get(conversation_id)
        if row is None:
            if not acting().admin and await self.repo.exists(conversation_id):
                self._personas.access.denied("conversation", conversation_id)
            raise NotFound(argument, conversation_id, "Use an id that conversation_start returned.")
        return _conversation(row)

    async def status(
        self, conversation_id: str | None, persona_id: str | None, active: str | None
    ) -> Conversation:
        """The conversation named, or the persona's most recently active open one."""
        if conversation_id is not None:
            return await self.get(conversation_id)
        persona = await self._personas.resolve(persona_id, active)
        row = await self.repo.latest_open(persona.id)
        if row is None:
            raise MissingInput(
                "conversation_id", f"{persona.id} has no open conversation; conversation_start opens one."
            )
        return _conversation(row)

    async def append(
        self, conversation_id: str, role: Role, content: str, persona_id: str | None = None
    ) -> Message:
        """Add a turn to an open conversation."""
        await self.require_open(conversation_id)
        message_id = await self._add(conversation_id, [(role, persona_id, content)])
        row = await self.repo.message(message_id)
        assert row is not None
        return _message(row)

    async def record_exchange(
        self, conversation_id: str, persona_id: str, message: str | None, reply: str
    ) -> list[int]:
        """Store a user message (if any) and the persona's reply together (both or neither); the
        ids of the two messages."""
        turns: list[tuple[Role, str | None, str]] = [] if message is None else [("user", None, message)]
        last = await self._add(conversation_id, [*turns, ("assistant", persona_id, reply)])
        return [last - 1, last] if message is not None else [last]

    async def require_open(self, conversation_id: str) -> Conversation:
        """The conversation, which must still be open."""
        conversation = await self.get(conversation_id)
        if conversation.status != "open":
            raise InvalidInput(
                "conversation_id", conversation_id, "That conversation is closed; start a new one."
            )
        return conversation

    async def _add(self, conversation_id: str, turns: list[tuple[Role, str | None, str]]) -> int:
        """Insert (role, persona_id, content) turns in one transaction; the id of the last."""
        now = iso(self._clock.now())
        rows = [(role, pid, content, self.tokens.message(content), now) for role, pid, content in turns]
        return await self.repo.add_turns(conversation_id, rows, now)

    async def history(self, conversation_id: str, limit: int = 50, before: int | None = None) -> History:
        """Up to `limit` messages before message `before` (default: the newest), oldest first."""
        await self.get(conversation_id)
        rows = await self.repo.messages(conversation_id, limit, before)
        messages = [_message(row) for row in reversed(rows[:limit])]
        if messages:
            by_message: dict[int, list[str]] = {}
            for persona_id, message_id in await self.repo.witnesses(
                conversation_id, messages[0].id, messages[-1].id
            ):
                by_message.setdefault(message_id, []).append(persona_id)
            messages = [m.model_copy(update={"witnesses": by_message.get(m.id, [])}) for m in messages]
        return History(conversation_id=conversation_id, messages=messages, has_more=len(rows) > limit)

    async def turns(self, conversation_id: str, witness: str | None = None) -> list[TurnRow]:
        """Every message (that `witness` was present for, when given) as a light row, oldest
        first, for context assembly."""
        return [TurnRow(*row) for row in await self.repo.turns(conversation_id, witness)]

    async def last_turn(self, conversation_id: str, witness: str) -> TurnRow | None:
        """The newest message `witness` was present for and did not say itself."""
        row = await self.repo.last_turn(conversation_id, witness)
        return TurnRow(*row) if row else None

    async def turns_of(self, conversation_id: str, persona_id: str) -> int:
        """How many turns the persona has spoken in the conversation."""
        return await self.repo.turns_of(conversation_id, persona_id)

    async def messages(self, conversation_id: str) -> list[Message]:
        """Every message, oldest first."""
        return [_message(row) for row in await self.repo.messages(conversation_id)]

    async def list(self, persona_id: str | None, status: str | None, limit: int) -> ConversationList:
        """Conversations (of one persona, or all), newest activity first."""
        if persona_id is not None:
            await self._personas.get(persona_id)
        rows, total = await self.repo.listed(persona_id, status, limit)
        return ConversationList(conversations=[_conversation(row) for row in rows], total_count=total)

    async def _summaries(self, conversation: Conversation) -> tuple[str, _Drafts]:
        """The whole conversation's summary, and for each participant a reflective memory of the
        part it witnessed (a persona that left the room does not remember what was said without it)."""
        names = {p.id: p.name for p in await self._personas.list_personas(include_archived=True)}
        user = conversation.user_id or "User"
        messages = [m for m in await self.messages(conversation.id) if m.role != "system"]
        seen: dict[str, set[int]] = {}
        for persona_id, message_id in await self.repo.witnesses(conversation.id):
            seen.setdefault(persona_id, set()).add(message_id)

        def summary_of(ids: frozenset[int] | None) -> str:
            turns = [
                Turn(names.get(m.persona_id or "", "Assistant") if m.role == "assistant" else user, m.content)
                for m in messages
                if ids is None or m.id in ids
            ]
            return summarize(turns, SUMMARY_TOKENS, self.tokens)

        by_view: dict[frozenset[int], str] = {}
        drafts: _Drafts = []
        title = f" '{conversation.title}'" if conversation.title else ""
        heading = f"Conversation{title} with {user} ({conversation.created_at:%Y-%m-%d})"
        for pid in conversation.participants:
            view = frozenset(seen.get(pid, ()))
            if view not in by_view:
                by_view[view] = summary_of(view)
            if by_view[view]:
                drafts.append(
                    MemoryDraft(
                        content=f"{heading}: {by_view[view]}",
                        persona_id=pid,
                        kind="reflective",
                        subject=conversation.user_id,
                        source="conversation_end",
                        conversation_id=conversation.id,
                        witnesses=[],
                    )
                )
        return summary_of(None), drafts

    async def end(self, conversation_id: str, summarize_it: bool = True) -> EndResult:
        """Close the conversation; with `summarize_it`, keep its gist as a reflective memory of
        every participant (stored first, so a failure leaves the conversation open to retry)."""
        conversation = await self.get(conversation_id)
        if conversation.status == "closed":
            raise InvalidInput("conversation_id", conversation_id, "That conversation is already closed.")
        summary, created = "", []
        if summarize_it:
            summary, drafts = await self._summaries(conversation)
            if drafts:
                created = (await self._memories.store_batch(drafts)).ids
        await self.repo.close(conversation_id, summary or None, iso(self._clock.now()))
        for hook in self.ended:  # e.g. background reflection (core/maintenance.py)
            hook(conversation.participants)
        return EndResult(
            conversation=await self.get(conversation_id), summary=summary, memories_created=created
        )
