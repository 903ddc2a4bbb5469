"""Who is in a conversation's room: joining, leaving, and who speaks next.

Only personas in the room witness a new turn (message_witnesses), so one that left, or joined late,
never sees in its context what was said without it.
"""

from __future__ import annotations

import hashlib

from core.clock import Clock, iso
from core.conversations.models import Conversation, NextSpeaker
from core.conversations.service import MAX_PARTICIPANTS, ConversationService
from core.conversations.speakers import choose_speaker
from core.errors import InvalidInput
from core.personas import PersonaService

__all__ = ["Rooms"]


class Rooms:
    """conversation_join, conversation_leave and conversation_next_speaker."""

    def __init__(self, clock: Clock, personas: PersonaService, conversations: ConversationService) -> None:
        self._clock = clock
        self._personas = personas
        self._conversations = conversations

    async def join(self, conversation_id: str, persona_id: str) -> Conversation:
        """Bring a persona into an open conversation (back, if it left). It witnesses only what is
        said from now on."""
        conversation = await self._conversations.require_open(conversation_id)
        persona = await self._personas.get_live(persona_id)
        if persona.id in conversation.present:
            return conversation
        if len(conversation.participants) >= MAX_PARTICIPANTS and persona.id not in conversation.participants:
            raise InvalidInput(
                "persona_id", persona_id, f"A conversation holds at most {MAX_PARTICIPANTS} personas."
            )
        await self._conversations.repo.join(conversation_id, persona.id, iso(self._clock.now()))
        return await self._conversations.get(conversation_id)

    async def leave(self, conversation_id: str, persona_id: str) -> Conversation:
        """Take a persona out of the room: it does not witness what is said until it joins again."""
        conversation = await self._conversations.require_open(conversation_id)
        if persona_id not in conversation.present:
            raise InvalidInput(
                "persona_id",
                persona_id,
                f"It is not in the room (present: {', '.join(conversation.present) or 'nobody'}).",
            )
        await self._conversations.repo.leave(conversation_id, persona_id, iso(self._clock.now()))
        return await self._conversations.get(conversation_id)

    async def next_speaker(self, conversation_id: str, message: str | None, seed: int | None) -> NextSpeaker:
        """Which present persona should speak next, and why."""
        conversation = await self._conversations.require_open(conversation_id)
        if not conversation.present:
            raise InvalidInput(
                "conversation_id", conversation_id, "Nobody is in the room; conversation_join someone."
            )
        present = [await self._personas.get(pid) for pid in conversation.present]
        rows = await self._conversations.repo.recent_speakers(conversation_id, 50)
        speakers = [row["persona_id"] if row["role"] == "assistant" else None for row in reversed(rows)]
        text = message if message is not None else (rows[0]["content"] if rows else None)
        if seed is None:
            seed = int.from_bytes(
                hashlib.sha256(f"{conversation_id}:{conversation.turns}".encode()).digest()[:4]
            )
        if len(present) == 1:
            return NextSpeaker(
                conversation_id=conversation_id,
                persona_id=present[0].id,
                reason="only_one",
                weights={},
                seed=seed,
            )
        author = None if message is not None or not speakers else speakers[-1]
        choice = choose_speaker(present, speakers, text, seed, author)
        return NextSpeaker(
            conversation_id=conversation_id,
            persona_id=choice.persona_id,
            reason=choice.reason,
            weights=choice.weights,
            seed=seed,
        )
