"""Retrieval quality on LoCoMo, measured through a real MCP client session.

Each turn of each conversation becomes one memory of a persona made for that conversation
(content `Speaker: text`, plus the caption of a shared photo; metadata with dia_id and session date;
created_at = the session's date; conversation_id = the session). Every question of categories 1-4
is then asked through memory_search, and a question counts as found at k when all of its evidence
turns are among the first k results.

Configurations run in the same process, on the same stored memories:
  bm25     lexical component only          (the published baseline's method)
  dense    semantic component only
  hybrid   the server's configured weights (PERSONA_MCP_SEARCH_WEIGHTS, else the defaults)

    python scripts/eval_locomo.py                       # ../shared/data/locomo-dev.json
    python scripts/eval_locomo.py --data other.json --samples conv-26 --json out.json

Prints a table, and the full results as JSON (to stdout with --json -, or to a file). Latency
is the client's round trip (p50, p95; it includes the Python MCP client validating each result
against the tool's output schema) and the server's own time for the search (`server`, p50).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client

from core.config import load_settings
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).parent))
from _report import emit

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo-dev.json"
KS = (1, 5, 10, 20)
CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
CONFIGS: dict[str, dict[str, float] | None] = {
    "bm25": {"semantic": 0, "lexical": 1, "importance": 0, "recency": 0, "context": 0},
    "dense": {"semantic": 1, "lexical": 0, "importance": 0, "recency": 0, "context": 0},
    "hybrid": None,  # the server's own weights
}
_SESSION = re.compile(r"^session_(\d+)$")


def session_time(text: str) -> datetime:
    """LoCoMo writes '1:56 pm on 8 May, 2023'."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def turns_of(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """Every turn of a conversation, as memory_store_batch items (dia_id kept in metadata)."""
    conversation = sample["conversation"]
    sessions = sorted((int(match.group(1)), key) for key in conversation if (match := _SESSION.match(key)))
    items = []
    for number, key in sessions:
        date_text = conversation.get(f"{key}_date_time", "")
        start = session_time(date_text)
        for position, turn in enumerate(conversation[key]):
            content = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                content += f" [shares a photo: {turn['blip_caption']}]"
            items.append(
                {
                    "content": content,
                    "subject": turn["speaker"],
                    "source": "locomo",
                    "conversation_id": f"{sample['sample_id']}-session-{number}",
                    "created_at": (start + timedelta(seconds=30 * position)).isoformat(),
                    "metadata": {"dia_id": turn["dia_id"], "session": number, "session_date": date_text},
                }
            )
    return items


def evidence_of(question: dict[str, Any]) -> list[str]:
    """Evidence turn ids; a few LoCoMo entries pack two ids into one string ('D8:6; D9:17')."""
    found = []
    for entry in question.get("evidence", []):
        found += [part.strip() for part in re.split(r"[;,]", entry) if part.strip()]
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(f"{tool} failed: {text}")
    return result.structured_content


async def load(client: Client, samples: list[dict[str, Any]]) -> tuple[dict[str, dict[str, str]], float]:
    """Store every turn; return dia_id -> memory id per sample, and turns stored per second."""
    ids: dict[str, dict[str, str]] = {}
    stored = 0
    started = time.perf_counter()
    for sample in samples:
        persona_id = persona_of(sample)
        await call(client, "persona_create", id=persona_id, name=f"LoCoMo {sample['sample_id']}")
        items = turns_of(sample)
        ids[persona_id] = {}
        for start in range(0, len(items), 200):
            batch = items[start : start + 200]
            result = await call(
                client, "memory_store_batch", items=[dict(item, persona_id=persona_id) for item in batch]
            )
            for item, memory_id in zip(batch, result["ids"], strict=True):
                ids[persona_id][item["metadata"]["dia_id"]] = memory_id
            stored += len(batch)
    return ids, stored / (time.perf_counter() - started)


def persona_of(sample: dict[str, Any]) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"locomo-{sample['sample_id']}".lower()).strip("-")


async def evaluate(
    client: Client, samples: list[dict[str, Any]], ids: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """Ask every question; recall@k overall and by category, and client-side latency."""
    hits = {k: 0 for k in KS}
    by_category: dict[int, dict[str, int]] = {
        c: {"questions": 0, **{f"r@{k}": 0 for k in KS}} for c in CATEGORIES
    }
    latencies: list[float] = []
    server_ms: list[float] = []
    questions = skipped = 0
    for sample in samples:
        persona_id = persona_of(sample)
        for question in sample["qa"]:
            if question.get("category") not in CATEGORIES:
                continue
            evidence = evidence_of(question)
            wanted = {ids[persona_id].get(dia_id) for dia_id in evidence}
            if not evidence or None in wanted:
                skipped += 1
                continue
            started = time.perf_counter()
            result = await call(
                client, "memory_search", query=question["question"], persona_id=persona_id, n_results=max(KS)
            )
            latencies.append((time.perf_counter() - started) * 1000)
            server_ms.append(result["elapsed_ms"])
            ranked = [hit["memory"]["id"] for hit in result["memories"]]
            questions += 1
            category = by_category[question["category"]]
            category["questions"] += 1
            for k in KS:
                if wanted <= set(ranked[:k]):
                    hits[k] += 1
                    category[f"r@{k}"] += 1
    return {
        "questions": questions,
        "skipped_without_evidence": skipped,
        "recall": {f"@{k}": round(hits[k] / questions, 4) for k in KS},
        "by_category": {
            CATEGORY_NAMES[c]: {
                "questions": v["questions"],
                **{f"@{k}": round(v[f"r@{k}"] / v["questions"], 4) for k in KS if v["questions"]},
            }
            for c, v in by_category.items()
        },
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "server_p50": round(statistics.median(server_ms), 2),
        },
    }


async def run(
    samples: list[dict[str, Any]], sample_ids: list[str] | None, configs: list[str], data: Path
) -> dict[str, Any]:
    if sample_ids:
        samples = [s for s in samples if s["sample_id"] in sample_ids]
        missing = set(sample_ids) - {s["sample_id"] for s in samples}
        if missing:
            raise SystemExit(f"no sample {sorted(missing)[0]!r} in {data}")
    report: dict[str, Any] = {"data": str(data), "samples": [s["sample_id"] for s in samples], "configs": {}}
    with tempfile.TemporaryDirectory(prefix="locomo-") as folder:
        ids: dict[str, dict[str, str]] = {}
        for name in configs:
            weights = CONFIGS[name]
            overrides: dict[str, Any] = {"data_dir": Path(folder), "seed_personas": False}
            if weights is not None:
                overrides["search_weights"] = weights
            settings = load_settings(os.environ, **overrides)
            async with Client(build_server(settings)) as client:
                if not ids:
                    ids, rate = await load(client, samples)
                    report["store_rate_per_s"] = round(rate, 1)
                    report["memories"] = sum(len(v) for v in ids.values())
                    status = await call(client, "system_status")
                    report["embedder"] = status["embedder"]["model_id"]
                await call(client, "memory_search", query="warm up", persona_id=persona_of(samples[0]))
                result = await evaluate(client, samples, ids)
                result["weights"] = settings.search_weights.model_dump()
                report["configs"][name] = result
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"LoCoMo retrieval: {', '.join(report['samples'])}; {report['memories']} memories; "
        f"embedder {report['embedder']}; stored {report['store_rate_per_s']}/s",
        f"{'config':<8} {'questions':>9} "
        + " ".join(f"{'R@' + str(k):>6}" for k in KS)
        + f" {'p50 ms':>7} {'p95 ms':>7} {'server':>7}",
    ]
    for name, result in report["configs"].items():
        recall = result["recall"]
        latency = result["latency_ms"]
        lines.append(
            f"{name:<8} {result['questions']:>9} "
            + " ".join(f"{recall['@' + str(k)]:>6.3f}" for k in KS)
            + f" {latency['p50']:>7.1f} {latency['p95']:>7.1f} {latency['server_p50']:>7.1f}"
        )
    if "hybrid" in report["configs"]:
        lines.append(
            "hybrid by category (R@10): "
            + ", ".join(
                f"{name} {v.get('@10', 0):.3f} (n={v['questions']})"
                for name, v in report["configs"]["hybrid"]["by_category"].items()
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="A LoCoMo-format JSON file.")
    parser.add_argument("--samples", nargs="*", help="Sample ids to use (default: all).")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--json", help="Write the JSON report here ('-' for stdout).")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} does not exist; pass --data")
    report = anyio.run(run, orjson.loads(args.data.read_bytes()), args.samples, args.configs, args.data)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
