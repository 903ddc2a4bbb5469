"""persona_chat: one exchange with a persona, from context to stored memories.

1. Build the context (core.chat.context) for the message, in the conversation when one is given
   (with no message, the persona speaks next in the conversation, answering its last turn).
2. Ask the model, streaming its text to `on_chunk` as it arrives.
3. Only when the reply is complete: open the conversation if it is new, store the turns (one
   transaction; the personas in the room witness them), reinforce the memories that were used,
   store what the write gate keeps, let the personas in the room know the memories the reply
   passed on, move the relationship with whoever was answered (the user, or another persona),
   and nudge the persona's feelings. A failed or cancelled model call stores nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from core.chat.context import ContextBuilder
from core.chat.gate import gate, told
from core.chat.mood import continue_score, feeling, nudge, signals_of
from core.config import Settings
from core.conversations import Conversation, ConversationService
from core.errors import InvalidInput
from core.llm import ChatModel, Completion, PromptMessage
from core.memory import MemoryDraft, MemoryService
from core.models import ChatContext, ChatReply, Persona, RelationshipSnapshot
from core.personas import PersonaService
from core.relationships import InteractionInput, RelationshipService, user_party

__all__ = ["ChatRequest", "ChatService", "Prepared"]

OnChunk = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ChatRequest:
    """One message to a persona, as persona_chat takes it."""

    message: str | None  # None: speak next in the conversation without a new message
    persona_id: str | None = None
    conversation_id: str | None = None
    user_id: str | None = None
    token_budget: int | None = None
    temperature: float | None = None
    active: str | None = None  # the session's active persona


@dataclass(frozen=True)
class Prepared:
    """What a model is asked for one message."""

    persona: Persona
    context: ChatContext
    model: str
    temperature: float | None
    conversation: Conversation | None  # as read for the context; None: a new one is opened


class ChatService:
    """The exchange behind persona_chat."""

    def __init__(
        self,
        settings: Settings,
        personas: PersonaService,
        memories: MemoryService,
        conversations: ConversationService,
        contexts: ContextBuilder,
        relationships: RelationshipService,
        model: ChatModel,
    ) -> None:
        self._settings = settings
        self._personas = personas
        self._memories = memories
        self._conversations = conversations
        self._contexts = contexts
        self._relationships = relationships
        self._model = model

    async def model_reachable(self) -> bool:
        return await self._model.reachable()

    async def prepare(self, request: ChatRequest) -> Prepared:
        """The persona, the context and the model settings for a message (nothing is stored)."""
        request = replace(request, user_id=self._personas.access.user_id(request.user_id))
        persona = await self._personas.resolve(request.persona_id, request.active)
        conversation = (
            None
            if request.conversation_id is None
            else await self._conversations.get(request.conversation_id)
        )
        context = await self._contexts.build_for(
            persona,
            request.message,
            conversation,
            request.user_id,
            request.token_budget,
            require_open=True,
        )
        return Prepared(
            persona=persona,
            context=context,
            model=persona.llm.model or self._settings.chat_model,
            temperature=request.temperature if request.temperature is not None else persona.llm.temperature,
            conversation=conversation,
        )

    async def chat(
        self, request: ChatRequest, on_chunk: OnChunk | None = None, sampled: Completion | None = None
    ) -> ChatReply:
        """One exchange. With `sampled`, the reply came from the client's own model (MCP sampling)
        for the context `prepare` gave it; otherwise the configured model is asked."""
        started = time.perf_counter()
        request = replace(request, user_id=self._personas.access.user_id(request.user_id))
        prepared = await self.prepare(request)
        persona, context = prepared.persona, prepared.context
        message, conversation_id = request.message, request.conversation_id
        answered = (
            None
            if conversation_id is None or message is not None
            else await self._conversations.last_turn(conversation_id, persona.id)
        )
        completion = sampled
        if completion is None:
            prompt = [PromptMessage("system", context.system_prompt)]
            prompt += [PromptMessage(m.role, m.content) for m in context.messages]
            completion = await self._model.complete(prompt, prepared.model, prepared.temperature, on_chunk)
        if not completion.text:
            raise InvalidInput(
                "message", message, f"The model {completion.model!r} returned an empty reply; try again."
            )

        # The reply is complete: from here on, record the exchange.
        conversation = prepared.conversation or await self._conversations.start(
            persona.id, None, request.user_id, None
        )
        conversation_id = conversation.id
        user_id = request.user_id or conversation.user_id
        turns_before = await self._conversations.turns_of(conversation_id, persona.id)
        await self._conversations.record_exchange(conversation_id, persona.id, message, completion.text)
        await self._memories.recall(context.memories_used)
        injected = [
            (m.id, m.content) for m in (await self._memories.get_many(context.memories_used)).values()
        ]
        stored, skipped = await self._remember(
            persona, message, completion.text, injected, user_id, conversation_id
        )
        others = [pid for pid in conversation.present if pid != persona.id]
        if others:
            for memory_id in told(completion.text, injected):
                await self._memories.tell(memory_id, others)
        if message is not None:
            party: str | None = user_party(user_id)
            heard = message
        elif answered is not None:  # another persona's turn, or the user's
            party = answered.persona_id or user_party(user_id)
            heard = answered.content
        else:  # nobody else has said anything it heard: it speaks first
            party, heard = None, ""
        bond = None
        if party is not None:
            quality = round(0.2 + 0.7 * feeling(heard), 4)  # feeling is -1..1, so -0.5..0.9
            bond = await self._relationships.record(
                persona.id, party, InteractionInput(kind="chat", quality=quality, summary=_gist(heard))
            )
        mood = await self._personas.emotional_state(persona)
        signals = signals_of(heard, persona)
        values = nudge(mood, heard, persona, signals, bond.affinity if bond else 0.0, turns_before)
        reason = f'{party} said "{_gist(heard, 60)}"' if party else "spoke first"
        state = await self._personas.emotions.save(persona, values, f"chat in {conversation_id}: {reason}")
        tokens = (
            completion.prompt_tokens + completion.completion_tokens
            if completion.prompt_tokens is not None and completion.completion_tokens is not None
            else context.tokens + self._conversations.tokens.count(completion.text)
        )
        return ChatReply(
            response=completion.text,
            conversation_id=conversation_id,
            memories_used=context.memories_used,
            lore_used=[lore.name for lore in context.lore_used],
            emotional_state=state,
            continue_score=continue_score(persona, state.energy, heard, signals),
            tokens_used=tokens,
            provider="sampling" if sampled is not None else self._model.provider,
            model=completion.model,
            processing_time=round(time.perf_counter() - started, 4),
            memories_stored=stored,
            memories_skipped=skipped,
            relationship=None
            if bond is None
            else RelationshipSnapshot(
                party=bond.persona_b, **bond.model_dump(include=set(RelationshipSnapshot.model_fields))
            ),
            persona_id=persona.id,
        )

    async def _remember(
        self,
        persona: Persona,
        message: str | None,
        reply: str,
        injected: list[tuple[str, str]],
        user_id: str | None,
        conversation_id: str,
    ) -> tuple[list[str], list[str]]:
        """Store what the write gate keeps of the exchange: the ids stored, and what was skipped."""
        decisions = gate(message, reply, injected, [*persona.interests, *persona.knowledge_domains])
        kept = [d for d in decisions if d.keep]
        stored: list[str] = []
        if kept:
            drafts = [
                MemoryDraft(
                    content=d.text,
                    persona_id=persona.id,
                    importance=d.importance,
                    subject=user_id if d.source == "user" else None,
                    source=d.source,
                    conversation_id=conversation_id,
                    metadata={"gate": d.reason},
                )
                for d in kept
            ]
            stored = (await self._memories.store_batch(drafts)).ids
        return stored, [f"{d.source}: {d.reason}" for d in decisions if not d.keep]


def _gist(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
