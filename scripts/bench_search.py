"""memory_store_batch throughput and memory_search latency at a corpus size, with raw baselines.

At each size the corpus server (scripts/_corpus.py) is asked 100 memory_search calls (10 results)
through an MCP client over HTTP; the client's round trip and the server's own `elapsed_ms` are
both kept. Baselines, in the same run on the same memories and queries:
  embed    the same model embedding one query in this process (ONNX Runtime)
  fts5     a raw SQLite FTS5 query (bm25, top 10) on the server's database, read-only
  chroma   a raw Chroma query (top 10) over the same vectors, in a collection of this process
`x raw` is the server's p50 over embed + fts5 + chroma: below 1 where the server's word search,
which scores the rarest words first and at most 2,500 rows, beats a naive FTS5 OR query.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import PERSONA, Corpus, call, percentiles, queries

from core.embeddings import Embedder

SEARCHES = 100
BASELINE_QUERIES = 30
SINGLE_STORES = 30


class RawBaselines:
    """The floor under a hybrid search: the embedder, FTS5 and Chroma, each alone."""

    def __init__(self, embedder: Embedder) -> None:
        import chromadb

        self._embedder = embedder
        self._folder = tempfile.TemporaryDirectory(prefix="bench-chroma-")
        client = chromadb.PersistentClient(self._folder.name)
        self._collection = client.get_or_create_collection("baseline", metadata={"hnsw:space": "cosine"})
        self._seen = 0

    def close(self) -> None:
        self._folder.cleanup()

    def _catch_up(self, database: Path) -> int:
        """Add the vectors stored since the last call to the baseline collection."""
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT v.seq, v.memory_id, v.vector FROM memory_vectors v "
                "JOIN memories m ON m.id = v.memory_id "
                "WHERE m.persona_id = ? AND m.archived_at IS NULL AND v.seq > ? ORDER BY v.seq",
                (PERSONA, self._seen),
            ).fetchall()
        for start in range(0, len(rows), 5_000):
            chunk = rows[start : start + 5_000]
            vectors = np.frombuffer(b"".join(row[2] for row in chunk), dtype="<f4").reshape(len(chunk), -1)
            self._collection.add(ids=[row[1] for row in chunk], embeddings=vectors)
        if rows:
            self._seen = rows[-1][0]
        return int(self._collection.count())

    async def measure(self, database: Path, texts: list[str], own_index: bool = True) -> dict[str, Any]:
        """Time each baseline on `texts`. With `own_index` false, Chroma is timed later on the
        server's own index (chroma_on_server): copying 100k vectors here would take longer than
        every other figure at that size together."""
        embed, self._vectors = [], []
        for text in texts:
            started = time.perf_counter()
            self._vectors.append((await self._embedder.embed([text]))[0])
            embed.append((time.perf_counter() - started) * 1000)
        fts = []
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            for text in texts:
                match = " OR ".join(f'"{word}"' for word in re.findall(r"\w+", text.lower()))
                started = time.perf_counter()
                db.execute(
                    "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rank LIMIT 10",
                    (match,),
                ).fetchall()
                fts.append((time.perf_counter() - started) * 1000)
        found = {"embed_ms": percentiles(embed), "fts5_ms": percentiles(fts)}
        if own_index:
            self._catch_up(database)
            found.update(self._chroma(self._collection))
        return found

    def _chroma(self, collection: Any) -> dict[str, Any]:
        times = []
        for vector in self._vectors:
            started = time.perf_counter()
            collection.query(query_embeddings=vector[None, :], n_results=10)
            times.append((time.perf_counter() - started) * 1000)
        return {"chroma_entries": int(collection.count()), "chroma_ms": percentiles(times)}

    def chroma_on_server(self, data_dir: Path) -> dict[str, Any]:
        """The last queries again, on the persona's collection in the (stopped) server's index."""
        import chromadb

        client = chromadb.PersistentClient(str(data_dir / "vectors"))
        (name,) = [c.name for c in client.list_collections() if c.name.endswith(f"--p--{PERSONA}")]
        return self._chroma(client.get_collection(name))


async def measure(corpus: Corpus, baselines: RawBaselines, own_index: bool = True) -> dict[str, Any]:
    """Single stores, then searches once the index has caught up, then the baselines."""
    singles = []
    for index in range(SINGLE_STORES):
        note = f"A single note, number {index}, about the {corpus.stored} mark."
        started = time.perf_counter()
        await call(corpus.client, "memory_store", content=note, persona_id=PERSONA)
        singles.append((time.perf_counter() - started) * 1000)
    stats = await corpus.settled()
    texts = queries(SEARCHES)
    await call(corpus.client, "memory_search", query="warm up", persona_id=PERSONA)
    client, server = [], []
    for text in texts:
        started = time.perf_counter()
        found = await call(corpus.client, "memory_search", query=text, persona_id=PERSONA, n_results=10)
        client.append((time.perf_counter() - started) * 1000)
        server.append(found["elapsed_ms"])
    row = {
        "memories": stats["total"],
        "single_store_ms": percentiles(singles),
        "search_client_ms": percentiles(client),
        "search_server_ms": percentiles(server),
        "baseline": await baselines.measure(
            corpus.data_dir / "persona.db", queries(BASELINE_QUERIES), own_index
        ),
    }
    if own_index:
        with_floor(row)
    return row


def with_floor(row: dict[str, Any]) -> None:
    """The raw sum a hybrid search is compared with, once all three baselines are in."""
    base = row["baseline"]
    floor = base["embed_ms"]["p50"] + base["fts5_ms"]["p50"] + base["chroma_ms"]["p50"]
    row["floor_ms"] = round(floor, 2)
    row["server_vs_floor"] = round(row["search_server_ms"]["p50"] / floor, 2)


def table(rows: dict[str, dict[str, Any]], fills: list[dict[str, float]], embed_rate: float) -> str:
    lines = [
        f"| memories | store_batch | x embedder ({embed_rate:.0f}/s) | single store p50 "
        "| search p50 (client) | p95 | p50 (server) | embed + FTS5 + Chroma (raw) | x raw |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rates = {int(fill["to"]): fill["per_s"] for fill in fills}
    for size, row in rows.items():
        base = row["baseline"]
        rate = rates.get(int(size), 0.0)
        raw = " + ".join(f"{base[name]['p50']:.1f}" for name in ("embed_ms", "fts5_ms", "chroma_ms"))
        lines.append(
            f"| {int(size):,} | {rate:.0f}/s | {rate / embed_rate:.2f} "
            f"| {row['single_store_ms']['p50']:.1f} ms "
            f"| {row['search_client_ms']['p50']:.1f} ms | {row['search_client_ms']['p95']:.1f} ms "
            f"| {row['search_server_ms']['p50']:.1f} ms | {raw} = {row['floor_ms']:.1f} ms "
            f"| {row['server_vs_floor']:.2f} |"
        )
    return "\n".join(lines)
