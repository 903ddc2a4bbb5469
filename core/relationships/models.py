"""What the relationship tools take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AUTO_TYPES",
    "RELATIONSHIP_TYPES",
    "Compatibility",
    "CompatibilityFactors",
    "HistoryResult",
    "Interaction",
    "InteractionInput",
    "PairScore",
    "Relationship",
    "RelationshipList",
    "RelationshipStats",
    "RelationshipType",
]

RelationshipType = Literal[
    "stranger",
    "acquaintance",
    "friend",
    "close_friend",
    "romantic",
    "family",
    "mentor",
    "colleague",
    "rival",
    "enemy",
]
RELATIONSHIP_TYPES: tuple[str, ...] = RelationshipType.__args__  # type: ignore[attr-defined]
# The types interactions move a relationship through; the others only come from an explicit `type`.
AUTO_TYPES = frozenset({"stranger", "acquaintance", "friend", "close_friend", "rival", "enemy"})


class InteractionInput(BaseModel):
    """One interaction between two parties, as relationship_update takes it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z][a-z_ -]*$",
        description="What happened, lowercase: chat, help, support, gift, collaboration, apology, "
        "conflict, insult, betrayal (these weigh more or less), or any other word.",
    )
    quality: float = Field(ge=-1.0, le=1.0, description="How it went: -1 (very badly) to 1 (very well).")
    summary: str | None = Field(None, max_length=1000, description="A line about it, kept in the history.")


class Relationship(BaseModel):
    """Two parties' relationship; the same values whichever order they are named in."""

    persona_a: str
    persona_b: str
    type: RelationshipType
    type_locked: bool = Field(description="True when the type was set explicitly; interactions keep it.")
    affinity: float = Field(ge=-1.0, le=1.0, description="Dislike (-1) to liking (1).")
    trust: float = Field(ge=0.0, le=1.0)
    familiarity: float = Field(ge=0.0, le=1.0)
    interaction_count: int = Field(ge=0)
    last_interaction_at: datetime | None
    met: bool = Field(description="False for a pair that never interacted (neutral values, nothing stored).")


class RelationshipList(BaseModel):
    """relationship_list: one party's relationships, strongest (|affinity| x familiarity) first."""

    persona_id: str
    relationships: list[Relationship]
    total_count: int


class Interaction(BaseModel):
    """One past interaction, and where it left the relationship."""

    kind: str
    quality: float
    summary: str | None
    created_at: datetime
    type_after: str | None
    affinity_after: float | None
    trust_after: float | None
    familiarity_after: float | None


class HistoryResult(BaseModel):
    """relationship_history: interactions, newest first."""

    persona_a: str
    persona_b: str
    interactions: list[Interaction]
    total_count: int


class CompatibilityFactors(BaseModel):
    """The four parts of a compatibility score, each 0-1."""

    traits: float = Field(ge=0.0, le=1.0, description="Big Five similarity, warmth and steadiness.")
    interests: float = Field(ge=0.0, le=1.0, description="Shared interests, values and knowledge.")
    style: float = Field(ge=0.0, le=1.0, description="How their ways of speaking fit.")
    history: float = Field(ge=0.0, le=1.0, description="How their interactions went (0.5 if never met).")


class Compatibility(BaseModel):
    """relationship_compatibility."""

    persona_a: str
    persona_b: str
    score: float = Field(ge=0.0, le=1.0)
    factors: CompatibilityFactors
    weights: dict[str, float] = Field(description="Each factor's share of the score.")
    shared_topics: list[str]
    suggestions: list[str] = Field(description="Topics both enjoy, things to avoid, how to start.")


class PairScore(BaseModel):
    persona_a: str
    persona_b: str
    score: float


class RelationshipStats(BaseModel):
    """relationship_stats."""

    relationships: int
    by_type: dict[str, int]
    with_users: int = Field(description="Relationships between a persona and a user.")
    interactions_total: int
    most_compatible: list[PairScore]
    least_compatible: list[PairScore]
    personas_compared: int
