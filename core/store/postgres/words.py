"""Word search on PostgreSQL: the memories' `search` tsvector (GIN-indexed) finds the matches, and
they are scored with FTS5's BM25, so a search ranks the same way on either engine.

FTS5's bm25(memories_fts, 1.0, 0.5), as SQLite computes it: for each query term q,
    idf(q) = ln((N - n(q) + 0.5) / (n(q) + 0.5)), at least 1e-6
    f(q, d) = 1.0 x hits in the content + 0.5 x hits in the subject
    score  += idf(q) x f x (k1 + 1) / (f + k1 x (1 - b + b x |d| / avg |d|)),  k1 = 1.2, b = 0.75
with N the number of memories and n(q) those containing q. Here the hits and |d| come from the
tsvector (content lexemes weighted A, subject B; positions are hits), so stop words the text
search configuration drops are not counted in |d|, and avg |d| is taken over the scored rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from core.store.port import Row, Store, Terms

__all__ = ["fts_config", "lexical", "term_counts"]

_K1 = 1.2
_B = 0.75
_SUBJECT_WEIGHT = 0.5
_LEXEME = re.compile(r"'((?:[^']|'')*)'(?::([0-9A-D,]+))?")


async def fts_config(db: Store) -> str:
    """The text search configuration the schema was made with."""
    return str(await db.scalar("SELECT value FROM store_config WHERE key = 'fts_config'") or "english")


async def term_counts(db: Store, config: str, words: Sequence[str]) -> Terms:
    """Each word's lexemes and how many memories (of anyone, archived too) contain it."""
    if not words:
        return Terms([], [], [], 0)
    rows = await db.fetch_all(
        "SELECT t.i, tsvector_to_array(to_tsvector(?1::regconfig, t.w)), "
        "(SELECT count(*) FROM memories WHERE search @@ plainto_tsquery(?1::regconfig, t.w)), "
        "(SELECT count(*) FROM memories) "
        "FROM unnest(?2::text[]) WITH ORDINALITY AS t(w, i) ORDER BY t.i",
        (config, list(words)),
    )
    return Terms(
        list(words),
        [list(row[1] or []) for row in rows],
        [int(row[2]) for row in rows],
        int(rows[0][3]) if rows else 0,
    )


async def lexical(
    db: Store,
    config: str,
    terms: Terms,
    where: tuple[str, list[Any]],
    limit: int,
    newest: int | None,
) -> list[tuple[str, float]]:
    """The best `limit` BM25 matches of any of the words among the memories passing `where` (a
    clause over `m`), as (id, score > 0); with `newest`, only the newest `newest` matches are
    scored."""
    clause, params = where
    query = " || ".join("plainto_tsquery(?::regconfig, ?)" for _ in terms.words)
    query_params: list[Any] = [value for word in terms.words for value in (config, word)]
    rows = await db.fetch_all(
        f"SELECT m.id, m.search FROM memories m WHERE m.search @@ ({query}) AND {clause} "
        "ORDER BY m.seq DESC LIMIT ?",
        (*query_params, *params, newest if newest is not None else 2**62),
    )
    return _best(rows, terms, limit)


def _best(rows: Sequence[Row], terms: Terms, limit: int) -> list[tuple[str, float]]:
    wanted = {lexeme: i for i, lexemes in enumerate(terms.lexemes) for lexeme in lexemes}
    idf = [
        max(1e-6, math.log((terms.total - n + 0.5) / (n + 0.5))) if terms.total else 1e-6
        for n in terms.counts
    ]
    parsed = [(row[0], *_hits(str(row[1]), wanted, len(terms.words))) for row in rows]
    if not parsed:
        return []
    average = sum(length for _, _, length in parsed) / len(parsed) or 1.0
    scored = []
    for memory_id, hits, length in parsed:
        norm = _K1 * (1 - _B + _B * length / average)
        score = sum(idf[i] * f * (_K1 + 1) / (f + norm) for i, f in enumerate(hits) if f > 0)
        scored.append((memory_id, score))
    scored.sort(key=lambda item: -item[1])
    return scored[:limit]


def _hits(vector: str, wanted: dict[str, int], count: int) -> tuple[list[float], int]:
    """Weighted hits per query word, and the document's length, from a tsvector's text."""
    hits = [0.0] * count
    length = 0
    for match in _LEXEME.finditer(vector):
        positions = match.group(2).split(",") if match.group(2) else ["1D"]
        length += len(positions)
        word = wanted.get(match.group(1).replace("''", "'"))
        if word is not None:
            hits[word] += sum(_SUBJECT_WEIGHT if p.endswith("B") else 1.0 for p in positions)
    return hits, length
