"""Importing history from where it lives into a persona (core/interop/histories.py reads it).

- A SillyTavern chat becomes one conversation with its turns, times and speakers (personas of the
  same name take part; other names are kept as narrated lines), and its turns go through the write
  gate into memories, as a chat here would: the user's statements, the persona's at 0.6.
- A ChatGPT or Claude export becomes memories about the user: the user's turns, with their dates,
  through the gate (greetings and thanks are passed over); the assistant's replies are not kept.
- The MCP memory server's graph becomes semantic memories with subjects: one per observation and
  per relation.

Every item of the source is written to a ledger (imported_items), taken or passed over, so a second
import of the same file adds nothing. `dry_run` reports what would be created and changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.chat.gate import judge
from core.chat.tokens import TokenCounter
from core.clock import Clock, iso
from core.conversations.repository import ConversationRepository, NewTurn
from core.interop.histories import History, HistoryFormat, Thread, read_history
from core.memory import MemoryDraft, MemoryService
from core.models import Persona
from core.personas.service import PersonaService
from core.store import Store
from core.store.imports import ImportLedger, LedgerRow

__all__ = ["HistoryImport", "HistoryImporter"]

_BATCH = 200  # memories per store call
_SAMPLES = 5


class HistoryImport(BaseModel):
    """What an import of history did (or, with dry_run, would do)."""

    format: HistoryFormat
    persona_id: str
    dry_run: bool
    conversations: int = Field(0, description="Conversations created (SillyTavern chats).")
    messages: int = Field(0, description="Messages written into them.")
    memories: int = Field(0, description="New memories stored (or, in a dry run, to be considered).")
    merged: int = Field(0, description="Items that repeated a memory already there (it was reinforced).")
    passed_over: dict[str, int] = Field(
        default_factory=dict, description="Items the write gate did not keep, by reason."
    )
    already_imported: int = Field(0, description="Items an earlier import took in: nothing added for them.")
    sample: list[str] = Field(default_factory=list, description="A few of the memories, as stored.")
    warnings: list[str] = Field(default_factory=list)


class HistoryImporter:
    """Reads a history file and writes it into a persona's conversations and memories."""

    def __init__(
        self,
        db: Store,
        clock: Clock,
        personas: PersonaService,
        memories: MemoryService,
        tokens: TokenCounter,
    ) -> None:
        self._clock = clock
        self._personas = personas
        self._memories = memories
        self._tokens = tokens
        self._ledger = ImportLedger(db)
        self._conversations = ConversationRepository(db)

    async def run(
        self,
        content: str,
        persona_id: str,
        fmt: HistoryFormat | None = None,
        dry_run: bool = False,
    ) -> HistoryImport:
        """Read the file (a bad one fails here, before anything is read) and import it."""
        return await self.apply(read_history(content, fmt), persona_id, dry_run)

    async def apply(self, history: History, persona_id: str, dry_run: bool = False) -> HistoryImport:
        """Write a history already read into the persona (or, with dry_run, report what would be)."""
        persona = await self._personas.get_live(persona_id)
        source = history.format
        done = await self._ledger.done(persona.id, source)
        report = HistoryImport(
            format=source, persona_id=persona.id, dry_run=dry_run, warnings=history.warnings
        )
        drafts: list[tuple[str, MemoryDraft]] = []
        ledger: list[LedgerRow] = []
        passed: Counter[str] = Counter()
        interests = [*persona.interests, *persona.knowledge_domains]
        for thread in history.threads:
            conversation_id = None
            if source == "sillytavern":
                conversation_id = await self._conversation(thread, persona, done, report, dry_run)
                if conversation_id is None:
                    continue
            for turn in thread.turns:
                if turn.key in done:
                    report.already_imported += 1
                    continue
                if source != "sillytavern" and turn.role != "user":
                    continue  # an assistant's reply in an export is not what the user said
                if turn.role == "system":
                    ledger.append((turn.key, None, conversation_id))
                    continue
                decision = judge(turn.text, "user" if turn.role == "user" else "persona", (), interests)
                if not decision.keep:
                    passed[decision.reason] += 1
                    ledger.append((turn.key, None, conversation_id))
                    continue
                metadata: dict[str, Any] = {"gate": decision.reason, "imported": {"from": source}}
                if thread.title:
                    metadata["imported"]["thread"] = thread.title[:200]
                drafts.append(
                    (
                        turn.key,
                        MemoryDraft(
                            content=turn.text,
                            persona_id=persona.id,
                            importance=decision.importance,
                            subject=thread.user_name if turn.role == "user" else None,
                            source=f"import:{source}",
                            conversation_id=conversation_id,
                            metadata=metadata,
                            created_at=turn.at,
                        ),
                    )
                )
        for fact in history.facts:
            if fact.key in done:
                report.already_imported += 1
                continue
            metadata = {"imported": {"from": source}, "entity_type": fact.kind}
            draft = MemoryDraft(
                content=fact.text,
                persona_id=persona.id,
                kind="semantic",
                subject=fact.subject[:200],
                source=f"import:{source}",
                metadata=metadata,
            )
            drafts.append((fact.key, draft))
        report.passed_over = dict(passed)
        report.sample = [draft.content[:200] for _, draft in drafts[:_SAMPLES]]
        if dry_run:
            report.memories = len(drafts)
            return report
        await self._ledger.record(persona.id, source, ledger, iso(self._clock.now()))
        for start in range(0, len(drafts), _BATCH):
            chunk = drafts[start : start + _BATCH]
            result = await self._memories.store_batch([draft for _, draft in chunk])
            report.memories += result.stored
            report.merged += result.duplicates
            rows: list[LedgerRow] = [
                (key, memory_id, draft.conversation_id)
                for (key, draft), memory_id in zip(chunk, result.ids, strict=True)
            ]
            await self._ledger.record(persona.id, source, rows, iso(self._clock.now()))
        return report

    async def _conversation(
        self, thread: Thread, persona: Persona, done: set[str], report: HistoryImport, dry_run: bool
    ) -> str | None:
        """The conversation a SillyTavern chat becomes (None when an earlier import made it)."""
        item = f"conversation:{thread.key}"
        conversation_id = f"st-{thread.key}"
        if item in done:
            report.already_imported += 1 + len(thread.turns)
            return None
        own = set(persona.own_names)
        if thread.character_name:
            own.add(thread.character_name.casefold())
        others: dict[str, str] = {}
        turns: list[tuple[str, str | None, str, datetime]] = []
        started = thread.started or (thread.turns[0].at if thread.turns else None) or self._clock.now()
        for turn in thread.turns:
            at = turn.at or started
            if turn.role == "user":
                turns.append(("user", None, turn.text, at))
            elif turn.role == "system":
                turns.append(("system", None, turn.text, at))
            elif turn.speaker.casefold() in own:
                turns.append(("assistant", persona.id, turn.text, at))
            else:
                other = others.get(turn.speaker) or await self._other(turn.speaker)
                if other is not None:
                    others[turn.speaker] = other
                    turns.append(("assistant", other, turn.text, at))
                else:  # someone with no persona here: kept as a narrated line
                    turns.append(("system", None, f"{turn.speaker}: {turn.text}", at))
        report.conversations += 1
        report.messages += len(turns)
        if not dry_run:
            participants = [persona.id, *dict.fromkeys(others.values())]
            user_id = self._personas.access.user_id(None)
            rows: list[NewTurn] = [
                (role, speaker, text, self._tokens.message(text), iso(at))
                for role, speaker, text, at in turns
            ]
            last = iso(turns[-1][3]) if turns else iso(started)
            await self._conversations.create(
                conversation_id, thread.title, user_id, participants, iso(started), rows, updated_at=last
            )
            now = iso(self._clock.now())
            await self._ledger.record(persona.id, report.format, [(item, None, conversation_id)], now)
        return conversation_id

    async def _other(self, name: str) -> str | None:
        found = await self._personas.named(name)
        return found.id if found is not None and found.archived_at is None else None
