"""The repositories' SQL, written once for SQLite, as PostgreSQL runs it.

The repositories keep one text per statement; the parts of it that are SQLite's own spelling are
few and mechanical, so they are rewritten here instead of written twice:

  ?, ?N placeholders        %s, with the parameters put in the order they appear
  :name placeholders        %(name)s (the parameters a mapping)
  %                         %% (psycopg reads % as the start of a placeholder)
  INSERT OR IGNORE INTO     INSERT INTO ... ON CONFLICT DO NOTHING
  rowid                     seq (the identity column the PostgreSQL schema gives the tables whose
                            rowid the SQL reads: memories, conversation_participants, lorebook_links)
  group_concat(x[, s])      string_agg(x, s) (',' when no separator is given)
  json_extract(x, '$.k')    (x::jsonb ->> 'k')
  x IS ?, x IS NOT ?        IS [NOT] DISTINCT FROM, which is what SQLite's IS means
  +alias.column             alias.column (SQLite's way of keeping an index out of a plan)
  INDEXED BY name           left out (the planner chooses)
  CROSS JOIN t a ON          JOIN t a ON (SQLite's hint to keep the join order)

What has no mechanical equivalent is refused with the statement named, so a new query in SQLite's
own dialect fails the PostgreSQL tests at once instead of meaning something else: INSERT OR
REPLACE (write an upsert, `ON CONFLICT (...) DO UPDATE`, which both engines run), PRAGMA, FTS5
(memories_fts; the search queries have their own PostgreSQL text).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["Translated", "UnsupportedSQL", "translate"]


class UnsupportedSQL(ValueError):
    """SQL in SQLite's own dialect that has no mechanical PostgreSQL spelling."""


Translated = tuple[str, tuple[int, ...] | None]

_REFUSED = (
    (re.compile(r"\bINSERT\s+OR\s+REPLACE\b", re.I), "INSERT OR REPLACE (write ON CONFLICT ... DO UPDATE)"),
    (re.compile(r"^\s*PRAGMA\b", re.I), "PRAGMA"),
    (re.compile(r"\bmemories_fts\b"), "FTS5 (the search queries give PostgreSQL its own text)"),
)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_ROWID = re.compile(r"\browid\b")
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(\s*([\w.]+)\s*(?:,\s*('[^']*'))?\s*\)", re.I)
_JSON_EXTRACT = re.compile(r"\bjson_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)", re.I)
_COMMA = "','"
_IS_PARAM = re.compile(r"\bIS\s+(NOT\s+)?(?=\?)", re.I)
_UNARY_PLUS = re.compile(r"(^|[\s(,])\+(?=[A-Za-z_]\w*\.)")
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.I)
_CROSS_JOIN_ON = re.compile(r"\bCROSS\s+JOIN\s+(\w+(?:\s+(?!ON\b)\w+)?)\s+ON\b", re.I)


def translate(sql: str) -> Translated:
    """PostgreSQL's text for `sql`, and the order to pass its parameters in (None: as given)."""
    return _translate(sql)


@lru_cache(maxsize=2048)
def _translate(sql: str) -> Translated:
    for pattern, what in _REFUSED:
        if pattern.search(sql):
            raise UnsupportedSQL(f"{what} has no PostgreSQL spelling here: {' '.join(sql.split())[:200]}")
    text = sql
    if _OR_IGNORE.search(text):
        text = _OR_IGNORE.sub("INSERT INTO", text)
        returning = _RETURNING.search(text)
        if returning:
            text = f"{text[: returning.start()]}ON CONFLICT DO NOTHING {text[returning.start() :]}"
        else:
            text = f"{text.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    text = _ROWID.sub("seq", text)
    text = _GROUP_CONCAT.sub(lambda m: f"string_agg({m.group(1)}, {m.group(2) or _COMMA})", text)
    text = _JSON_EXTRACT.sub(r"(\1::jsonb ->> '\2')", text)
    text = _IS_PARAM.sub(lambda m: "IS DISTINCT FROM " if m.group(1) else "IS NOT DISTINCT FROM ", text)
    text = _UNARY_PLUS.sub(r"\1", text)
    text = _INDEXED_BY.sub("", text)
    text = _CROSS_JOIN_ON.sub(r"JOIN \1 ON", text)
    return _placeholders(text)


def _placeholders(sql: str) -> Translated:
    """`?` and `?N` to `%s` (and `%` to `%%`) outside quoted text; the parameter order."""
    out: list[str] = []
    order: list[int] = []
    numbered = False
    highest = 0
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":  # a quoted literal or identifier, copied as it is ('' and "" escape)
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
            continue
        if char == "%":
            out.append("%%")
        elif char == ":" and sql[i + 1 : i + 2] == ":":  # a cast, ::jsonb
            out.append("::")
            i += 1
        elif char == ":" and (name := re.match(r"[A-Za-z_]\w*", sql[i + 1 :])):  # :name, given a mapping
            out.append(f"%({name.group(0)})s")
            i += len(name.group(0))
        elif char == "?":
            digits = re.match(r"\d+", sql[i + 1 :])
            if digits:
                index = int(digits.group(0))
                numbered = True
                i += len(digits.group(0))
            else:
                index = highest + 1  # SQLite: one past the largest index used so far
            highest = max(highest, index)
            order.append(index - 1)
            out.append("%s")
        else:
            out.append(char)
        i += 1
    text = "".join(out)
    if not numbered and order == list(range(len(order))):
        return text, None
    return text, tuple(order)
