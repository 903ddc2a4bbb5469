"""Context assembly: exactly what persona_chat sends to a model, within a token budget.

Order of what goes in, and what gives way when the budget is tight:
  1. the persona's system prompt, built from its fields (longest optional parts are cut first),
     its mood now, and its relationship with the user when one is known;
  2. memories that match the message (memory_search), up to a fifth of the budget;
  3. the new message (always; a budget too small even for it is an error);
  4. the conversation's history, newest first, as much as fits; older turns give way to a
     running summary of them (extractive, up to a sixth of the budget);
  5. the author's note (post_history_instructions), a few messages from the end.
Lorebook entries whose keys come up in the recent messages (core/personas/lore.py) go into the
system prompt, before or after the persona's description, or as messages at their depth, within
a share of the budget. {{char}} and {{user}} (and V1's <BOT> and <USER>) are filled in throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import anyio

from core.access import acting
from core.chat.prompt import fill_macros, system_sections
from core.chat.summary import SentenceCache, Turn, choose
from core.chat.tokens import TokenCounter
from core.conversations import Conversation, ConversationService, TurnRow
from core.errors import InvalidInput, MissingInput
from core.memory import MemoryService, SearchHit, SearchOptions
from core.memory.filters import MemoryFilter
from core.memory.search_queries import SearchRepository
from core.models import ChatContext, ChatMessage, EmotionalState, LoreUsed, Persona
from core.personas import PersonaService
from core.personas.lore import LoreHit, LoreSelection, Said, select_lore
from core.personas.lorebooks import LorebookService
from core.relationships import user_party
from core.store import StatusRepository, Store

__all__ = ["ContextBuilder"]

_MEMORY_SHARE = 0.2
_SUMMARY_SHARE = 1 / 6
_SYSTEM_SHARE = 0.5
_MEMORIES = 8
# A context needs its 8 best memories, not a long ranked list: the word search scores fewer rows.
_LEXICAL_ROWS = 1_000
_NOTE_DEPTH = 3  # the author's note goes before the last three messages (the new one included)
_LORE_SHARE = 0.15


@dataclass
class _Budget:
    total: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.total - self.used


class ContextBuilder:
    """Builds the context for one message to one persona."""

    def __init__(
        self,
        db: Store,
        personas: PersonaService,
        memories: MemoryService,
        conversations: ConversationService,
        lorebooks: LorebookService,
        tokens: TokenCounter,
        default_budget: int,
    ) -> None:
        self._personas = personas
        self._lorebooks = lorebooks
        self._memories = memories
        self._conversations = conversations
        self._tokens = tokens
        self._default_budget = default_budget
        self._sentences = SentenceCache(tokens)
        self._relationships = StatusRepository(db)
        self._search = SearchRepository(db)
        # Own memories, those it witnessed or was told about, and shared or public ones.
        self._search_options = SearchOptions(
            n_results=_MEMORIES, lexical_rows=_LEXICAL_ROWS, include_shared=True, include_witnessed=True
        )

    async def build(
        self,
        message: str | None,
        persona_id: str | None,
        conversation_id: str | None,
        user_id: str | None,
        token_budget: int | None,
        active: str | None = None,
    ) -> ChatContext:
        """The context for `message` to the persona named (else the session's)."""
        user_id = self._personas.access.user_id(user_id)
        persona = await self._personas.resolve(persona_id, active)
        conversation = None if conversation_id is None else await self._conversations.get(conversation_id)
        return await self.build_for(persona, message, conversation, user_id, token_budget)

    async def build_for(
        self,
        persona: Persona,
        message: str | None,
        conversation: Conversation | None,
        user_id: str | None,
        token_budget: int | None,
        require_open: bool = False,
    ) -> ChatContext:
        """The context for `message` to `persona` (None: the persona speaks next in the
        conversation without a new message). With `require_open`, the conversation must be open
        and the persona in its room (persona_chat cannot continue it otherwise; persona_context may
        still show it). The persona sees only the turns it witnessed."""
        history: list[TurnRow] = []
        others: list[str] = []
        if conversation is not None:
            if persona.id not in conversation.participants:
                raise InvalidInput(
                    "conversation_id",
                    conversation.id,
                    f"{persona.id} does not take part in it "
                    f"(participants: {', '.join(conversation.participants)}).",
                )
            if require_open and conversation.status != "open":
                raise InvalidInput(
                    "conversation_id", conversation.id, "That conversation is closed; start a new one."
                )
            if require_open and persona.id not in conversation.present:
                raise InvalidInput(
                    "persona_id",
                    persona.id,
                    "It has left this conversation; conversation_join brings it back.",
                )
            others = [pid for pid in conversation.present if pid != persona.id]
            user_id = user_id or conversation.user_id
            history = await self._conversations.turns(conversation.id, witness=persona.id)
        elif message is None:
            raise MissingInput("message", "Say something, or name a conversation the persona can speak in.")
        budget = _Budget(token_budget or self._default_budget)
        last = ChatMessage(role="user", content=message) if message is not None else self._cue(persona)
        message_cost = self._tokens.message(last.content)
        if message_cost > budget.total // 2:
            raise InvalidInput(
                "token_budget",
                budget.total,
                f"The message alone takes {message_cost} tokens; "
                f"give a budget of at least {2 * message_cost}.",
            )
        budget.used += message_cost
        query = message if message is not None else (history[-1].content if history else persona.scenario)
        mood = await self._personas.emotional_state(persona)
        relationship = await self._relationships_text(persona.id, user_id, others)
        # After the reads, not beside them: run together they slowed each other down more than
        # they overlapped (measured with scripts/bench_chat.py).
        found = (
            (await self._memories.search(query, persona.id, self._search_options)).memories
            if query.strip()
            else []
        )
        selection = await self._lore(persona, history, message, budget, conversation)
        lore = selection.hits
        user = user_id or "User"
        system = self._system_prompt(persona, mood, relationship, budget, lore, user)
        memories_used, recalled = await self._recall(persona, found, budget)
        if recalled:
            system += "\n\nThings you remember (use them if they help; do not recite them):\n" + recalled
        messages, summarized, older, kept_tokens = self._history(persona, history, user_id, budget)
        if summarized:
            system += f"\n\nEarlier in this conversation: {summarized}"
        messages.append(last)
        inserted = 0
        if persona.post_history_instructions:
            note = ChatMessage(
                role="system",
                content=fill_macros(persona.post_history_instructions, persona, user),
            )
            cost = self._tokens.message(note.content)
            if cost <= budget.left:
                inserted += cost
                budget.used += cost
                messages.insert(max(0, len(messages) - _NOTE_DEPTH), note)
        inserted += self._insert_at_depth(messages, lore, persona, user)
        # The history's turns were counted when stored; the summary is part of the system prompt.
        total = self._tokens.message(system) + kept_tokens + message_cost + inserted
        return ChatContext(
            system_prompt=system,
            messages=messages,
            memories_used=memories_used,
            lore_used=[
                LoreUsed(
                    entry=hit.index,
                    book=hit.book,
                    lorebook_id=hit.lorebook_id,
                    name=hit.entry.label(hit.index),
                    reason=hit.reason,
                    matched=hit.matched,
                    placement=hit.placement,
                    tokens=self._tokens.count(hit.content),
                )
                for hit in lore
            ],
            tokens=total,
            token_budget=budget.total,
            token_counting=self._tokens.method,
            history_turns=len(history),
            summarized_turns=older,
            lore_skipped=selection.skipped,
        )

    async def _lore(
        self,
        persona: Persona,
        history: list[TurnRow],
        message: str | None,
        budget: _Budget,
        conversation: Conversation | None = None,
    ) -> LoreSelection:
        """The lorebook entries the recent messages (the new one included) activate, from every
        book that applies (core/personas/lorebooks.py: the persona's own first), sharing one
        budget in that order. Matching runs on a worker thread: a card's regex keys never hold
        up other clients' calls."""
        others: list[Persona] = []
        if conversation is not None:
            for pid in conversation.present:
                other = await self._personas.find(pid) if pid != persona.id else None
                if other is not None:
                    others.append(other)
        books = await self._lorebooks.for_context(
            persona, conversation.id if conversation is not None else None, others
        )
        if not books:
            return LoreSelection([])
        said = [Said(turn.role, turn.content) for turn in history if turn.role != "system"]
        if message is not None:
            said.append(Said("user", message))
        left = max(0, min(int(budget.total * _LORE_SHARE), budget.left))
        hits: list[LoreHit] = []
        skipped = 0
        for attached in books:
            chosen = await anyio.to_thread.run_sync(
                select_lore, attached.book, said, left, self._tokens.count
            )
            left -= chosen.tokens
            hits += [
                replace(hit, book=attached.name, lorebook_id=attached.lorebook_id) for hit in chosen.hits
            ]
            skipped += chosen.skipped
        return LoreSelection(hits, skipped)

    def _insert_at_depth(
        self, messages: list[ChatMessage], lore: list[LoreHit], persona: Persona, user: str
    ) -> int:
        """Put the depth entries among the messages (depth 0: after the last); their tokens."""
        cost = 0
        for hit in reversed([hit for hit in lore if hit.placement == "depth"]):
            content = fill_macros(hit.content, persona, user)
            message = ChatMessage(role=hit.role, content=content)
            messages.insert(max(0, len(messages) - (hit.depth or 0)), message)
            cost += self._tokens.message(content)
        return cost

    @staticmethod
    def _cue(persona: Persona) -> ChatMessage:
        return ChatMessage(
            role="system",
            content=f"Continue the conversation: write {persona.name}'s next reply, and only theirs.",
        )

    async def roleplay_prompt(self, persona_id: str, user_name: str | None) -> str:
        """The persona's system prompt with its mood and its strongest memories, for a client's own
        model (the `roleplay` prompt): what persona_context gives, but for no message in particular."""
        persona = await self._personas.get_live(persona_id)
        budget = _Budget(self._default_budget)
        mood = await self._personas.emotional_state(persona)
        who = user_name if acting().admin else acting().name  # another's relationship is not its to read
        relationship = await self._relationships_text(persona.id, who, [])
        lore = (await self._lore(persona, [], None, budget)).hits
        prompt = self._system_prompt(persona, mood, relationship, budget, lore, user_name or "User")
        memories = await self._memories.top(persona.id, "strongest", _MEMORIES)
        if memories:
            prompt += "\n\nThings you remember:\n" + "\n".join(f"- {m.content}" for m in memories)
        return prompt

    def _system_prompt(
        self,
        persona: Persona,
        mood: EmotionalState,
        relationship: str | None,
        budget: _Budget,
        lore: list[LoreHit],
        user: str,
    ) -> str:
        sections = system_sections(persona, mood, relationship, lore)
        limit = int(budget.total * _SYSTEM_SHARE)
        costs = self._tokens.count_many([text for text, _ in sections])
        # Drop optional sections, longest first, until the prompt fits its share.
        for index in sorted(range(len(sections)), key=lambda i: -costs[i]):
            if sum(costs) <= limit:
                break
            if sections[index][1]:
                costs[index] = 0
        kept = [text for (text, _), cost in zip(sections, costs, strict=True) if cost]
        prompt = fill_macros("\n\n".join(kept), persona, user)
        budget.used += self._tokens.message(prompt)
        return prompt

    async def _relationships_text(self, persona_id: str, user_id: str | None, others: list[str]) -> str:
        """Who the persona is talking with: the user, and the other personas in the room."""
        name = user_id or "the user"
        row = await self._relationships.relationship(persona_id, user_party(user_id))
        if row is None:
            lines = [f"You are talking with {name}, whom you have not met before."]
        else:
            lines = [
                f"You are talking with {name} ({row['type']}): affinity {row['affinity']:+.2f}, trust "
                f"{row['trust']:.2f}, familiarity {row['familiarity']:.2f}, "
                f"{row['interaction_count']} past exchanges."
            ]
        for other in others:
            persona = await self._personas.get(other)
            row = await self._relationships.relationship(persona_id, other)
            known = f"{row['type']}, affinity {row['affinity']:+.2f}" if row else "you have not met before"
            lines.append(f"Also here: {persona.name} ({known}).")
        return "\n".join(lines)

    async def _recall(
        self, persona: Persona, found: list[SearchHit], budget: _Budget
    ) -> tuple[list[str], str]:
        """The matching memories that fit their share of the budget: ids, and the lines to show.
        A memory that replaced another says what was true before (Sam used to live in Paris)."""
        limit = min(int(budget.total * _MEMORY_SHARE), budget.left)
        where = MemoryFilter(persona_id=persona.id)
        before = await self._search.replaced([hit.memory.id for hit in found], where)
        lines = [
            f"- {hit.memory.content}"
            + (f" (Before that: {before[hit.memory.id]})" if hit.memory.id in before else "")
            for hit in found
        ]
        used, ids, kept = 0, [], []
        for hit, line, cost in zip(found, lines, self._tokens.count_many(lines), strict=True):
            if used + cost + 1 > limit:
                continue
            used += cost + 1
            ids.append(hit.memory.id)
            kept.append(line)
        budget.used += used
        return ids, "\n".join(kept)

    def _history(
        self, persona: Persona, history: list[TurnRow], user_id: str | None, budget: _Budget
    ) -> tuple[list[ChatMessage], str, int, int]:
        """The newest turns that fit, a summary of the older ones when some did not, how many
        older ones there were, and the tokens of the turns kept."""
        reserve = int(budget.total * _SUMMARY_SHARE)
        room = budget.left - reserve
        kept: list[ChatMessage] = []
        first_kept = len(history)
        for index in range(len(history) - 1, -1, -1):
            turn = history[index]
            cost = turn.tokens
            if cost > room:
                break
            room -= cost
            first_kept = index
            kept.append(self._as_chat(persona, turn))
        kept.reverse()
        kept_tokens = sum(m.tokens for m in history[first_kept:])
        budget.used += kept_tokens
        if first_kept == 0:  # everything fits: the reserve was not needed
            return kept, "", 0, kept_tokens
        user = user_id or "User"
        older = [
            sentence
            for m in history[:first_kept]
            if m.role != "system"
            for sentence in self._sentences.get(
                m.id, Turn(user if m.role == "user" else (m.persona_id or "Assistant"), m.content)
            )
        ]
        summary = choose(older, min(reserve, budget.left) - 12)
        budget.used += self._tokens.count(summary) + 12
        return kept, summary, first_kept, kept_tokens

    @staticmethod
    def _as_chat(persona: Persona, turn: TurnRow) -> ChatMessage:
        if turn.role == "assistant" and turn.persona_id not in (None, persona.id):
            return ChatMessage(role="user", content=f"{turn.persona_id}: {turn.content}")
        return ChatMessage(role=turn.role, content=turn.content)
