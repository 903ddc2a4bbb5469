"""The numeric knobs of search and decay, each a setting of its own (core.config.Settings)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KindRates", "SearchWeights", "parse_pairs"]


class SearchWeights(BaseModel):
    """How memory_search combines its score components (each 0-1) into one score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    semantic: float = Field(0.5, ge=0.0, le=10.0, description="Similarity of meaning (embeddings).")
    lexical: float = Field(0.3, ge=0.0, le=10.0, description="Shared words (BM25).")
    importance: float = Field(0.1, ge=0.0, le=10.0, description="importance x strength.")
    recency: float = Field(0.05, ge=0.0, le=10.0, description="Newer memories first.")
    context: float = Field(0.25, ge=0.0, le=10.0, description="Neighbouring turns that also match.")
    mood: float = Field(0.05, ge=0.0, le=10.0, description="Stored in the persona's present mood.")
    tokens: float = Field(0.5, ge=0.0, le=10.0, description="The query's words matched one by one.")
    passage: float = Field(0.8, ge=0.0, le=10.0, description="The same, with the turns around it.")
    subject: float = Field(0.2, ge=0.0, le=10.0, description="The query names the memory's subject.")
    when: float = Field(0.3, ge=0.0, le=10.0, description="Made within the time the query names.")


class KindRates(BaseModel):
    """How fast each kind of memory decays, as a multiple of the decay rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    episodic: float = Field(1.0, ge=0.0, le=10.0, description="Events fade fastest.")
    emotional: float = Field(0.6, ge=0.0, le=10.0, description="Feelings.")
    reflective: float = Field(0.5, ge=0.0, le=10.0, description="Conclusions drawn from other memories.")
    semantic: float = Field(0.3, ge=0.0, le=10.0, description="Facts.")
    procedural: float = Field(0.2, ge=0.0, le=10.0, description="Know-how lasts longest.")


def parse_pairs(value: Any) -> Any:
    """A setting given as "semantic=0.6,lexical=0.3" (from the environment) as a mapping; names
    left out keep their defaults. Anything else passes through."""
    if not isinstance(value, str):
        return value
    parsed: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in value.split(","))):
        key, sep, number = part.partition("=")
        if not sep:
            raise ValueError(f"write name=number pairs such as semantic=0.6,lexical=0.3 (got {part!r})")
        parsed[key.strip()] = number.strip()
    return parsed
