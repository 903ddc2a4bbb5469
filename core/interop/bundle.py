"""What a stateful export carries beside the persona: its feelings, relationships and memories.

It rides in `extensions.persona_mcp.state` of a card (plain card readers ignore it) or under
`state` in our YAML/JSON. Memories travel as one JSONL string, one memory per line, with the
embedding model they were indexed with named: the importer re-embeds them with its own model.
Everything is validated here before an import changes anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidInput
from core.interop.safe_load import MAX_CONTENT_BYTES, check_shape
from core.memory import Memory, MemoryDraft
from core.memory.models import Content, Kind, Visibility
from core.models import Mood
from core.relationships.models import RelationshipType

__all__ = [
    "BUNDLE_VERSION",
    "MAX_BUNDLE_MEMORIES",
    "EmotionSnapshot",
    "MemoryRecord",
    "PersonaState",
    "RelationshipRecord",
    "memory_jsonl",
    "read_memories",
    "read_state",
]

BUNDLE_VERSION = 1
MAX_BUNDLE_MEMORIES = 100_000
_PARTY = r"^(user:.{1,128}|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmotionSnapshot(Mood):
    """The persona's feelings when it was exported."""

    model_config = ConfigDict(extra="forbid")

    updated_at: datetime | None = None


class RelationshipRecord(_Record):
    """One relationship, seen from the exported persona."""

    party: str = Field(pattern=_PARTY, description="The other party: a persona id or 'user:<id>'.")
    type: RelationshipType
    type_locked: bool = False
    affinity: float = Field(ge=-1.0, le=1.0)
    trust: float = Field(ge=0.0, le=1.0)
    familiarity: float = Field(ge=0.0, le=1.0)
    interaction_count: int = Field(ge=0)
    last_interaction_at: datetime | None = None


class MemoryBundle(_Record):
    """The persona's memories as JSONL."""

    format: Literal["jsonl"] = "jsonl"
    embedding_model: str | None = Field(None, description="The model its vectors came from there.")
    count: int = Field(ge=0, le=MAX_BUNDLE_MEMORIES)
    jsonl: str = Field(max_length=MAX_CONTENT_BYTES)


class MemoryRecord(_Record):
    """One line of the memory bundle."""

    content: Content
    kind: Kind = "episodic"
    visibility: Visibility = "private"
    importance: float = Field(0.5, ge=0.0, le=1.0)
    strength: float = Field(1.0, ge=0.0, le=1.0)
    pinned: bool = False
    subject: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    access_count: int = Field(0, ge=0)

    def draft(self, persona_id: str) -> MemoryDraft:
        """The memory_store arguments that recreate it (nobody else witnessed it here)."""
        return MemoryDraft(
            content=self.content,
            persona_id=persona_id,
            kind=self.kind,
            visibility=self.visibility,
            importance=self.importance,
            subject=self.subject,
            source=self.source or "import",
            metadata=self.metadata,
            created_at=self.created_at,
            witnesses=[],
        )


class PersonaState(_Record):
    """Everything a stateful export carries besides the persona's fields."""

    version: int = Field(BUNDLE_VERSION, ge=1, le=BUNDLE_VERSION)
    app_version: str | None = None
    exported_at: datetime | None = None
    emotional_state: EmotionSnapshot | None = None
    relationships: list[RelationshipRecord] = Field(default_factory=list, max_length=10_000)
    memories: MemoryBundle | None = None


def memory_jsonl(memories: list[Memory]) -> str:
    """The JSONL lines of a memory bundle."""
    kept = set(MemoryRecord.model_fields)
    lines = [
        orjson.dumps(
            MemoryRecord.model_validate(memory.model_dump(include=kept)).model_dump(
                mode="json", exclude_defaults=True
            )
        ).decode()
        for memory in memories
    ]
    return "\n".join(lines)


def read_state(raw: Any, argument: str) -> PersonaState:
    """The state of an import, validated (a newer bundle version is refused)."""
    try:
        return PersonaState.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, prefix=f"{argument}.state") from None


def read_memories(bundle: MemoryBundle, argument: str) -> list[MemoryRecord]:
    """The bundle's memory lines, each validated; the count must match."""
    where = f"{argument}.state.memories"
    records = []
    for number, line in enumerate(bundle.jsonl.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
            check_shape(raw, where)
            records.append(MemoryRecord.model_validate(raw))
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{where}.jsonl", line, f"line {number} is not JSON ({exc}).") from None
        except ValidationError as exc:
            raise InvalidInput.from_validation(exc, prefix=f"{where}.jsonl line {number}") from None
        if len(records) > MAX_BUNDLE_MEMORIES:
            raise InvalidInput(
                where, bundle.count, f"a bundle holds at most {MAX_BUNDLE_MEMORIES:,} memories."
            )
    if len(records) != bundle.count:
        raise InvalidInput(
            f"{where}.count",
            bundle.count,
            f"the bundle has {len(records)} memory lines: the file was cut short or edited.",
        )
    return records
