"""Hybrid ranking: one score per memory from meaning, words, importance, recency and context.

Components, each in 0-1:
  semantic    cosine similarity of query and memory embeddings, clipped at 0
  lexical     BM25 of the query's content words, divided by the best BM25 among the candidates
  importance  importance x strength
  recency     0.5 ** (age / half-life)
  context     the best relevance (semantic and lexical, weighted as above) among the memory's
              neighbours in its conversation, or in store order within a sitting (neighbour_queries.py):
              a turn that answers a question is often the reply to the turn that matches it, and
              a conversation turn rarely makes sense alone.
  mood        mood congruence: 1 - |valence now - valence when stored| / 2 (0.5 when unknown);
              people recall more readily what they learned in the mood they are in.
  tokens      how much of the query the memory covers word piece by word piece (late.py),
              divided by the best among the candidates
  passage     the same over the memory and its neighbours together, divided by the best
  subject     1 when the query names the memory's subject (who or what it is about): asked what
              Caroline painted, what Caroline said counts more than what others said of painting
The score is the weighted sum (weights from settings.search_weights).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.clock import parse_iso
from core.config import SearchWeights
from core.memory.models import ScoreComponents
from core.memory.text import names
from core.store.port import Row

__all__ = ["Candidates", "Evidence", "Scored", "rank"]

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Candidates:
    """What ranking reads of the candidate memories, as columns: `ids[i]` goes with `weight[i]`,
    `created_ts[i]`, `mood[i]` and `subject[i]`."""

    ids: list[str]
    weight: np.ndarray  # importance x strength
    created_ts: np.ndarray  # seconds since the epoch
    mood: np.ndarray  # congruence of the persona's mood now with its mood when this was stored
    subject: np.ndarray  # 1 where the query names the memory's subject

    @classmethod
    def of(cls, rows: Sequence[Row], valence: float, query_terms: Collection[str]) -> Candidates:
        """From (id, importance x strength, created_at, valence when stored or None, ..., subject)
        rows (the subject last), for a persona whose mood now has `valence` and a query of
        `query_terms`."""
        stored = np.array([np.nan if row[3] is None else row[3] for row in rows], dtype=np.float64)
        return cls(
            [row[0] for row in rows],
            np.array([row[1] for row in rows], dtype=np.float64),
            np.array([parse_iso(row[2]).timestamp() for row in rows], dtype=np.float64),
            np.where(np.isnan(stored), 0.5, 1.0 - np.abs(valence - stored) / 2.0),
            np.array([float(names(query_terms, row[-1])) for row in rows], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __add__(self, other: Candidates) -> Candidates:
        return Candidates(
            self.ids + other.ids,
            np.concatenate((self.weight, other.weight)),
            np.concatenate((self.created_ts, other.created_ts)),
            np.concatenate((self.mood, other.mood)),
            np.concatenate((self.subject, other.subject)),
        )


@dataclass(frozen=True)
class Evidence:
    """What retrieval found: cosine similarities, raw BM25 scores and raw late-interaction
    scores (of the re-ranked candidates) by memory id."""

    semantic: Mapping[str, float]
    lexical: Mapping[str, float]
    tokens: Mapping[str, float] = field(default_factory=dict)
    passage: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    """A ranked candidate."""

    memory_id: str
    score: float
    created_ts: float
    columns: Mapping[str, np.ndarray]  # every candidate's components, by ScoreComponents field
    row: int  # this candidate's place in them

    def model(self) -> ScoreComponents:
        return ScoreComponents(
            **{name: round(float(column[self.row]), 6) for name, column in self.columns.items()}
        )


def _relative(found: Mapping[str, float], ids: list[str]) -> np.ndarray:
    """The candidates' scores divided by the best of them (zeros when none scored)."""
    values = np.fromiter((found.get(i, 0.0) for i in ids), np.float64, len(ids))
    best = max(found.values(), default=0.0)
    return values / best if best > 0 else np.zeros_like(values)


def _context(
    ids: list[str],
    semantic: np.ndarray,
    lexical: np.ndarray,
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    weights: SearchWeights,
) -> np.ndarray:
    """Each candidate's best neighbour relevance (semantic and lexical, weighted as in the
    score) times its share; neighbours that are not candidates count as no match."""
    context = np.zeros(len(ids))
    total = weights.semantic + weights.lexical
    if not neighbours or total == 0:
        return context
    relevance = (weights.semantic * semantic + weights.lexical * lexical) / total
    position = {memory_id: index for index, memory_id in enumerate(ids)}
    links = [
        (position[memory_id], position[other], share)
        for memory_id, others in neighbours.items()
        if memory_id in position
        for other, share in others
        if other in position
    ]
    if links:
        into, source, share = (np.array(column) for column in zip(*links, strict=True))
        np.maximum.at(context, into.astype(np.intp), share * relevance[source.astype(np.intp)])
    return context


def rank(
    candidates: Candidates,
    evidence: Evidence,
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    weights: SearchWeights,
    now_ts: float,
    half_life_days: float,
    limit: int | None = None,
    window: tuple[float, float] | None = None,
) -> list[Scored]:
    """The best `limit` candidates (all when None), scored and sorted best first (ties: newer
    first, then id). Scored as arrays: a search ranks up to a few thousand candidates twice, and
    a Python loop over them was the largest share of a search's own CPU."""
    if not candidates:
        return []
    ids, created, importance, mood = (
        candidates.ids,
        candidates.created_ts,
        candidates.weight,
        candidates.mood,
    )
    semantic = np.maximum(
        0.0, np.fromiter((evidence.semantic.get(i, 0.0) for i in ids), np.float64, len(ids))
    )
    lexical = _relative(evidence.lexical, ids)
    tokens = _relative(evidence.tokens, ids)
    passage = _relative(evidence.passage, ids)
    recency = 0.5 ** (np.maximum(0.0, (now_ts - created) / _SECONDS_PER_DAY) / half_life_days)
    context = _context(ids, semantic, lexical, neighbours, weights)
    # A soft preference for the time the query names (timewords.find_when), never a filter.
    when = (
        ((created >= window[0]) & (created < window[1])).astype(np.float64) if window else np.zeros(len(ids))
    )
    score = (
        weights.semantic * semantic
        + weights.lexical * lexical
        + weights.importance * importance
        + weights.recency * recency
        + weights.context * context
        + weights.mood * mood
        + weights.tokens * tokens
        + weights.passage * passage
        + weights.subject * candidates.subject
        + weights.when * when
    )
    order = np.lexsort((np.array(ids), -created, -score))[:limit]
    columns = {
        "semantic": semantic,
        "lexical": lexical,
        "importance": importance,
        "recency": recency,
        "context": context,
        "mood": mood,
        "tokens": tokens,
        "passage": passage,
        "subject": candidates.subject,
        "when": when,
    }
    return [Scored(ids[i], float(score[i]), float(created[i]), columns, int(i)) for i in order]
