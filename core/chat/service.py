"""persona.chat: one exchange with a persona, from context to stored memories.

1. Build the context (core.chat.context) for the message, in the conversation when one is given.
2. Ask the model, streaming its text to `on_chunk` as it arrives.
3. Only when the reply is complete: open the conversation if it is new, store both turns (one
   transaction), reinforce the memories that were used, store what the write gate keeps, and nudge
   the persona's feelings. A failed or cancelled model call stores nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.chat.context import ContextBuilder
from core.chat.gate import gate
from core.chat.mood import continue_score, nudge, save_state, signals_of
from core.clock import Clock, iso
from core.config import Settings
from core.conversations import ConversationService
from core.emotions import state_from_row
from core.errors import InvalidInput
from core.llm import ChatModel, Completion, PromptMessage
from core.memory import MemoryDraft, MemoryService
from core.models import ChatContext, ChatReply, Persona
from core.personas import PersonaService
from core.store import Database

__all__ = ["ChatRequest", "ChatService", "Prepared"]

OnChunk = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ChatRequest:
    """One message to a persona, as persona.chat takes it."""

    message: str
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


class ChatService:
    """The exchange behind persona.chat."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        personas: PersonaService,
        memories: MemoryService,
        conversations: ConversationService,
        contexts: ContextBuilder,
        model: ChatModel,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._personas = personas
        self._memories = memories
        self._conversations = conversations
        self._contexts = contexts
        self._model = model

    async def model_reachable(self) -> bool:
        return await self._model.reachable()

    async def prepare(self, request: ChatRequest) -> Prepared:
        """The persona, the context and the model settings for a message (nothing is stored)."""
        persona = await self._personas.resolve(request.persona_id, request.active)
        if request.conversation_id is not None:
            conversation = await self._conversations.get(request.conversation_id)
            if conversation.status != "open":
                raise InvalidInput(
                    "conversation_id",
                    request.conversation_id,
                    "That conversation is closed; start a new one.",
                )
        context = await self._contexts.build(
            request.message, persona.id, request.conversation_id, request.user_id, request.token_budget
        )
        return Prepared(
            persona=persona,
            context=context,
            model=persona.llm.model or self._settings.chat_model,
            temperature=request.temperature if request.temperature is not None else persona.llm.temperature,
        )

    async def chat(
        self, request: ChatRequest, on_chunk: OnChunk | None = None, sampled: Completion | None = None
    ) -> ChatReply:
        """One exchange. With `sampled`, the reply came from the client's own model (MCP sampling)
        for the context `prepare` gave it; otherwise the configured model is asked."""
        started = time.perf_counter()
        prepared = await self.prepare(request)
        persona, context = prepared.persona, prepared.context
        message, user_id, conversation_id = request.message, request.user_id, request.conversation_id
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
        if conversation_id is None:
            conversation_id = (await self._conversations.start(persona.id, None, user_id, None)).id
        await self._conversations.record_exchange(conversation_id, persona.id, message, completion.text)
        await self._memories.recall(context.memories_used)
        injected = [
            (m.id, m.content) for m in (await self._memories.get_many(context.memories_used)).values()
        ]
        decisions = gate(message, completion.text, injected, [*persona.interests, *persona.knowledge_domains])
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
        mood = await self._personas.emotional_state(persona)
        signals = signals_of(message, persona)
        values = nudge(mood, message, persona, signals)
        now = iso(self._clock.now())
        await save_state(self._db, persona.id, values, f"chat in {conversation_id}", now)
        state = state_from_row({**values, "updated_at": now}, persona.emotional_baseline)
        tokens = (
            completion.prompt_tokens + completion.completion_tokens
            if completion.prompt_tokens is not None and completion.completion_tokens is not None
            else context.tokens + self._conversations.tokens.count(completion.text)
        )
        return ChatReply(
            response=completion.text,
            conversation_id=conversation_id,
            memories_used=context.memories_used,
            emotional_state=state,
            continue_score=continue_score(persona, state.energy, message, signals),
            tokens_used=tokens,
            provider="sampling" if sampled is not None else self._model.provider,
            model=completion.model,
            processing_time=round(time.perf_counter() - started, 4),
            memories_stored=stored,
            memories_skipped=[f"{d.source}: {d.reason}" for d in decisions if not d.keep],
        )
