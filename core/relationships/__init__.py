"""Relationships between personas and with users: dynamics, compatibility, history."""

from core.relationships.compatibility import compatibility
from core.relationships.dynamics import NEUTRAL, Bond, apply, natural_type
from core.relationships.models import (
    RELATIONSHIP_TYPES,
    Compatibility,
    HistoryResult,
    InteractionInput,
    Relationship,
    RelationshipList,
    RelationshipStats,
)
from core.relationships.service import USER_PREFIX, RelationshipService, user_party

__all__ = [
    "NEUTRAL",
    "RELATIONSHIP_TYPES",
    "USER_PREFIX",
    "Bond",
    "Compatibility",
    "HistoryResult",
    "InteractionInput",
    "Relationship",
    "RelationshipList",
    "RelationshipService",
    "RelationshipStats",
    "apply",
    "compatibility",
    "natural_type",
    "user_party",
]
