"""persona_import and persona_export: personas in and out as files, optionally with their state.

An import reads and validates the whole file (fields, lorebook, state, every memory line) before
it changes anything. A persona whose id already exists is an error unless `merge` is given; then
the file's fields replace the stored ones, relationships are kept where the stored one is newer,
and memories pass the normal near-duplicate check, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from core import __version__
from core.access import acting
from core.clock import Clock, iso
from core.errors import Conflict, InvalidInput
from core.interop.bundle import (
    MAX_BUNDLE_MEMORIES,
    EmotionSnapshot,
    MemoryBundle,
    MemoryRecord,
    PersonaState,
    RelationshipRecord,
    memory_jsonl,
    read_memories,
    read_state,
)
from core.interop.cards import CardSpec
from core.interop.documents import ExportFormat, ImportFormat, ParsedPersona, parse, render
from core.interop.safe_load import decode_base64
from core.memory import MemoryPatch, MemoryService
from core.memory.writer import checked_metadata
from core.models import PERSONA_ID_PATTERN, Mood, Persona
from core.personas.service import PersonaService, slugify, validated_spec
from core.relationships import RelationshipService
from core.store.persona_files import PersonaFiles

__all__ = ["ExportResult", "ImportResult", "PersonaTransfer", "StateImport"]

_BATCH = 500  # memories per store_batch call on import


class StateImport(BaseModel):
    """What an import did with the state that came with the persona."""

    emotional_state: Literal["applied", "kept", "absent"] = Field(
        description="applied; kept (the state here is newer); absent from the file."
    )
    relationships_imported: int = 0
    relationships_kept: int = Field(0, description="Left as they were: the relationship here is newer.")
    relationships_skipped: list[str] = Field(
        default_factory=list, description="Parties that do not exist here (personas are not created)."
    )
    memories_stored: int = 0
    memories_merged: int = Field(0, description="Already known here: reinforced instead of copied.")
    embedding_model_there: str | None = Field(
        None, description="The model the memories were embedded with on the exporting machine."
    )


class ImportResult(BaseModel):
    """What persona_import did."""

    persona: Persona
    action: Literal["created", "merged"]
    format: str = Field(description="The format detected, e.g. 'card_v3 (png)'.")
    warnings: list[str] = Field(description="What had to be coerced, kept aside, or dropped.")
    state: StateImport | None = None


class ExportResult(BaseModel):
    """What persona_export returns."""

    persona_id: str
    format: str
    encoding: Literal["text", "base64"] = Field(description="base64 for png, text otherwise.")
    content: str
    size: int = Field(description="Bytes of the file (decoded, for base64).")
    memories: int | None = Field(None, description="Memories in the state bundle, when state was included.")
    relationships: int | None = None


class PersonaTransfer:
    """Import and export personas, with their state when asked."""

    def __init__(
        self,
        personas: PersonaService,
        memories: MemoryService,
        relationships: RelationshipService,
        clock: Clock,
        files: PersonaFiles,
    ) -> None:
        self._personas = personas
        self._files = files
        self._memories = memories
        self._relationships = relationships
        self._clock = clock

    async def import_persona(
        self,
        content: str,
        fmt: ImportFormat = "auto",
        persona_id: str | None = None,
        merge: bool = False,
        name: str | None = None,
    ) -> ImportResult:
        """Read a persona file and store it (validated in full first; nothing changes on error)."""
        return await self.import_parsed(parse(content, fmt), persona_id, merge, name)

    async def import_parsed(
        self,
        parsed: ParsedPersona,
        persona_id: str | None = None,
        merge: bool = False,
        name: str | None = None,
    ) -> ImportResult:
        """import_persona for a file already read with documents.parse."""
        if name is not None:
            parsed.fields["name"] = name
        spec = validated_spec(parsed.fields, "content")
        state = None if parsed.state is None else read_state(parsed.state, "content")
        records = read_memories(state.memories, "content") if state and state.memories else []
        for number, record in enumerate(records, start=1):
            checked_metadata(record.metadata, f"content.state.memories line {number}: metadata")
        warnings = list(parsed.warnings)
        target = persona_id or parsed.persona_id
        if target is not None and not re.match(PERSONA_ID_PATTERN, target):
            if persona_id is not None:
                raise InvalidInput("persona_id", persona_id, "ids are lowercase letters, digits and hyphens.")
            warnings.append(f"the file's id {target!r} is not a valid id; used one made from the name")
            target = None
        target = target or slugify(spec.name)
        existing = await self._personas.find(target)
        same_name = await self._personas.named(spec.name)
        if existing is None and same_name is not None and merge:
            existing, target = same_name, same_name.id
        if existing is not None and not merge:
            raise Conflict(
                f"A persona with id {target!r} already exists. Pass merge=true to merge the file into it, "
                "or persona_id (and name) to import a separate copy."
            )
        if existing is None and same_name is not None:
            raise Conflict(
                f"Persona {same_name.id!r} is already called {spec.name!r}. Pass merge=true to merge the "
                "file into it, or name (and persona_id) to import a separate copy."
            )
        if existing is None:
            persona = await self._personas.create(spec.model_dump(), persona_id=target)
        else:
            changes = spec.model_dump(include=set(parsed.fields))
            # Importing into an archived persona brings it back: the file says it is wanted.
            persona = await self._personas.update(target, changes, restore=True)
        if parsed.files:  # the image and assets the card came in, for exports to write back
            await self._files.replace(persona.id, parsed.files, iso(self._clock.now()))
        applied = None
        if state is not None:
            applied = await self._apply_state(persona, state, records, parsed.persona_id, existing is None)
        return ImportResult(
            persona=persona,
            action="created" if existing is None else "merged",
            format=parsed.format,
            warnings=warnings,
            state=applied,
        )

    async def _apply_state(
        self,
        persona: Persona,
        state: PersonaState,
        records: list[MemoryRecord],
        old_id: str | None,
        created: bool,
    ) -> StateImport:
        result = StateImport(emotional_state="absent")
        if state.emotional_state is not None:
            result.emotional_state = await self._apply_emotion(persona, state.emotional_state, created)
        for bond in state.relationships:
            if bond.party in (persona.id, old_id):
                continue
            if not bond.party.startswith("user:") and await self._personas.find(bond.party) is None:
                result.relationships_skipped.append(bond.party)
                continue
            who = acting()
            if bond.party.startswith("user:") and not who.admin and bond.party != f"user:{who.name}":
                result.relationships_skipped.append(bond.party)  # another user's: not this caller's to set
                continue
            written = await self._relationships.merge_in(persona.id, bond.party, bond.model_dump())
            if written:
                result.relationships_imported += 1
            else:
                result.relationships_kept += 1
        if state.memories is not None:
            result.embedding_model_there = state.memories.embedding_model
        for start in range(0, len(records), _BATCH):
            chunk = records[start : start + _BATCH]
            batch = await self._memories.store_batch([record.draft(persona.id) for record in chunk])
            result.memories_stored += batch.stored
            result.memories_merged += batch.duplicates
            for record, memory_id, duplicate in zip(chunk, batch.ids, batch.duplicate_of, strict=True):
                if record.pinned and duplicate is None:
                    await self._memories.update(memory_id, MemoryPatch(pinned=True))
        return result

    async def _apply_emotion(
        self, persona: Persona, snapshot: EmotionSnapshot, created: bool
    ) -> Literal["applied", "kept"]:
        current = await self._personas.emotions.state(persona)
        if not created and (
            snapshot.updated_at is None
            or (current.updated_at is not None and current.updated_at >= snapshot.updated_at)
        ):
            return "kept"
        values = snapshot.model_dump(exclude={"updated_at"})
        await self._personas.emotions.save(persona, values, "imported with the persona")
        return "applied"

    async def export_persona(
        self,
        persona_id: str,
        fmt: ExportFormat,
        include_state: bool = False,
        card_spec: CardSpec = "v3",
        image: str | None = None,
    ) -> ExportResult:
        """The persona as a file; with include_state, its feelings, relationships and memories too."""
        persona = await self._personas.get(persona_id)
        picture = None if image is None else decode_base64(image, "image", "the image")
        state = await self._state(persona) if include_state else None
        files = await self._files.of(persona.id) if fmt in ("png", "charx") else {}
        content = render(persona, fmt, self._clock.now(), state, card_spec, picture, files)
        binary = fmt in ("png", "charx")
        return ExportResult(
            persona_id=persona.id,
            format=f"png ({card_spec})" if fmt == "png" else fmt,
            encoding="base64" if binary else "text",
            content=content,
            size=len(content) * 3 // 4 - content[-2:].count("=") if binary else len(content.encode()),
            memories=None if state is None else state["memories"]["count"],
            relationships=None if state is None else len(state["relationships"]),
        )

    async def _state(self, persona: Persona) -> dict[str, Any]:
        emotion = await self._personas.emotions.state(persona)
        fields = set(RelationshipRecord.model_fields) - {"party"}
        relationships = [
            RelationshipRecord(party=item.persona_b, **item.model_dump(include=fields))
            for item in await self._relationships.all_of(persona.id)
        ]
        memories = await self._memories.top(persona.id, "newest", MAX_BUNDLE_MEMORIES)
        models = Counter(memory.embedding_model for memory in memories if memory.embedding_model)
        state = PersonaState(
            app_version=__version__,
            exported_at=self._clock.now(),
            emotional_state=EmotionSnapshot(**emotion.model_dump(include={*Mood.model_fields, "updated_at"})),
            relationships=relationships,
            memories=MemoryBundle(
                embedding_model=models.most_common(1)[0][0] if models else None,
                count=len(memories),
                jsonl=memory_jsonl(memories),
            ),
        )
        return state.model_dump(mode="json", exclude_none=True)
