"""Memories: storing with dedup, hybrid search, and the vector index kept in step with SQLite."""

from core.embeddings import EmbedderSlot
from core.memory.models import Memory, MemoryDraft, MemoryPatch, SearchResult, StoreResult
from core.memory.semantic import SemanticLayer
from core.memory.service import MemoryService, SearchOptions

__all__ = [
    "EmbedderSlot",
    "Memory",
    "MemoryDraft",
    "MemoryPatch",
    "MemoryService",
    "SearchOptions",
    "SearchResult",
    "SemanticLayer",
    "StoreResult",
]
