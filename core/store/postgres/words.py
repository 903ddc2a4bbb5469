"""Word search on PostgreSQL: the memories' `search` tsvector (GIN-indexed) finds the matches, and
they are scored with FTS5's BM25, so a search ranks the same way on either engine.

FTS5's bm25(memories_fts, 1.0, 0.5), as SQLite computes it: for each query term q,
    idf(q) = ln((N - n(q) + 0.5) / (n(q) + 0.5)), at least 1e-6
    f(q, d) = 1.0 x hits in the content + 0.5 x hits in the subject
    score  += idf(q) x f x (k1 + 1) / (f + k1 x (1 - b + b x |d| / avg |d|)),  k1 = 1.2, b = 0.75
with N the number of memories and n(q) those containing q. Here the hits and |d| come from the
tsvector (content lexemes weighted A, subject B; positions are hits) and are counted in the
database, so stop words the text search configuration drops are not counted in |d|, and avg |d|
is taken over the scored rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from core.store.port import Store, Terms

__all__ = ["fts_config", "lexical", "term_counts"]

_K1 = 1.2
_B = 0.75
_SUBJECT_WEIGHT = 0.5


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
    idf = [max(1e-6, math.log((terms.total - n + 0.5) / (n + 0.5))) for n in terms.counts]
    weighted = {lexeme: idf[i] for i, lexemes in enumerate(terms.lexemes) for lexeme in lexemes}
    query = " || ".join("plainto_tsquery(?::regconfig, ?)" for _ in terms.words)
    query_params: list[Any] = [value for word in terms.words for value in (config, word)]
    # Scored in the database from the tsvectors' positions and weights (unnest(tsvector)), so
    # only (id, score) comes back: a hit in the content counts 1, in the subject (weight B) 0.5;
    # |d| is the document's positions, avg |d| over the scored rows.
    rows = await db.fetch_all(
        "WITH q AS (SELECT * FROM unnest(?::text[], ?::float8[]) AS q(lexeme, idf)), "
        "docs AS (SELECT m.id, m.search FROM memories m "
        f"  WHERE m.search @@ ({query}) AND {clause} ORDER BY m.seq DESC LIMIT ?), "
        "parts AS (SELECT d.id, u.lexeme, u.weights FROM docs d, unnest(d.search) AS u), "
        "lengths AS (SELECT id, sum(cardinality(weights)) AS len FROM parts GROUP BY id), "
        "hits AS (SELECT p.id, q.idf, "
        f"  (SELECT sum(CASE WHEN w = 'B' THEN {_SUBJECT_WEIGHT} ELSE 1.0 END) "
        "   FROM unnest(p.weights) AS w) AS f "
        "  FROM parts p JOIN q ON q.lexeme = p.lexeme) "
        f"SELECT h.id, sum(h.idf * h.f * {_K1 + 1} / (h.f + {_K1} * ({1 - _B} + {_B} * g.len / a.avgdl))) "
        "  AS score "
        "FROM hits h JOIN lengths g ON g.id = h.id CROSS JOIN (SELECT avg(len) AS avgdl FROM lengths) AS a "
        "GROUP BY h.id ORDER BY score DESC, h.id LIMIT ?",
        (
            list(weighted),
            list(weighted.values()),
            *query_params,
            *params,
            newest if newest is not None else 2**62,
            limit,
        ),
    )
    return [(str(row[0]), float(row[1])) for row in rows]
