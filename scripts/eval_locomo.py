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

    python scripts/eval_locomo.py                       # the first LoCoMo file found (--data)
    python scripts/eval_locomo.py --data other.json --samples conv-26 --json out.json
    python scripts/eval_locomo.py --protocol plain      # no conversation ids or dates
    python scripts/eval_locomo.py --folds --configs hybrid --weights lex=semantic=0.4,lexical=0.4

Protocols: `sessions` stores each session as a conversation_id with created_at from its date and the
speaker as subject; `plain` stores only `Speaker: text` and metadata, in order (what a host that
calls memory_store per message gives us).

--folds reports leave-one-conversation-out: for each conversation held out, the configuration
(of --configs and --weights) with the best R@10 on the other conversations is chosen, and its
R@10 on the held-out one is what counts. With one configuration this is its per-conversation
recall. Numbers quoted for a change are these, never those of a configuration chosen on the same
questions.

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

from core.config import SearchWeights, load_settings
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).parent))
from _report import emit

_REPO = Path(__file__).resolve().parents[1]
# Where the data is looked for without --data: $LOCOMO_DATA, the team's development file beside the
# checkout, then the public file (locomo10.json) in the checkout or the current folder.
DATA_PLACES = (
    _REPO.parent / "shared" / "data" / "locomo-dev.json",
    _REPO / "data" / "locomo10.json",
    Path("locomo10.json"),
)
WHERE_TO_GET = (
    "LoCoMo is public: download data/locomo10.json from https://github.com/snap-research/locomo and "
    "pass --data PATH (or set LOCOMO_DATA, or put it in this checkout as data/locomo10.json)."
)


def find_data(given: Path | None) -> Path:
    """The LoCoMo file to use: `given`, else the first of $LOCOMO_DATA and DATA_PLACES that exists;
    SystemExit saying where to get one when there is none."""
    if given is not None:
        if not given.is_file():
            raise SystemExit(f"--data {given}: no such file. {WHERE_TO_GET}")
        return given
    from_env = os.environ.get("LOCOMO_DATA")
    if from_env:
        if not Path(from_env).is_file():
            raise SystemExit(f"LOCOMO_DATA={from_env}: no such file. {WHERE_TO_GET}")
        return Path(from_env)
    for place in DATA_PLACES:
        if place.is_file():
            return place
    looked = ", ".join(str(place) for place in DATA_PLACES)
    raise SystemExit(f"No LoCoMo file found (looked for {looked}). {WHERE_TO_GET}")


KS = (1, 5, 10, 20)
CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def _only(component: str) -> dict[str, float]:
    """Weights scoring by `component` alone: every other weight 0, except mood, which these
    baselines have always kept at its default."""
    return {name: 0.0 for name in SearchWeights.model_fields if name != "mood"} | {component: 1.0}


CONFIGS: dict[str, dict[str, float] | None] = {
    "bm25": _only("lexical"),
    "dense": _only("semantic"),
    "hybrid": None,  # the server's own weights
}
_SESSION = re.compile(r"^session_(\d+)$")


def session_time(text: str) -> datetime:
    """LoCoMo writes '1:56 pm on 8 May, 2023'."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


PROTOCOLS = ("sessions", "plain")


def turns_of(sample: dict[str, Any], protocol: str = "sessions") -> list[dict[str, Any]]:
    """Every turn of a conversation, as memory_store_batch items (dia_id kept in metadata). The
    plain protocol keeps only the content and the metadata."""
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
            metadata = {"dia_id": turn["dia_id"], "session": number, "session_date": date_text}
            if protocol == "plain":
                items.append({"content": content, "metadata": {"dia_id": turn["dia_id"]}})
                continue
            items.append(
                {
                    "content": content,
                    "subject": turn["speaker"],
                    "source": "locomo",
                    "conversation_id": f"{sample['sample_id']}-session-{number}",
                    "created_at": (start + timedelta(seconds=30 * position)).isoformat(),
                    "metadata": metadata,
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


async def load(
    client: Client, samples: list[dict[str, Any]], protocol: str
) -> tuple[dict[str, dict[str, str]], float]:
    """Store every turn; return dia_id -> memory id per sample, and turns stored per second."""
    ids: dict[str, dict[str, str]] = {}
    stored = 0
    started = time.perf_counter()
    for sample in samples:
        persona_id = persona_of(sample)
        await call(client, "persona_create", id=persona_id, name=f"LoCoMo {sample['sample_id']}")
        items = turns_of(sample, protocol)
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
    """Ask every question; recall@k overall, by category and by conversation, and client-side latency."""
    records: list[tuple[str, int, int | None]] = []  # sample, category, rank at which all evidence is in
    latencies: list[float] = []
    server_ms: list[float] = []
    skipped = 0
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
            found = next((k for k in range(1, len(ranked) + 1) if wanted <= set(ranked[:k])), None)
            records.append((sample["sample_id"], question["category"], found))
    return {
        **summarize(records),
        "skipped_without_evidence": skipped,
        "by_category": {CATEGORY_NAMES[c]: summarize([r for r in records if r[1] == c]) for c in CATEGORIES},
        "by_sample": {
            s["sample_id"]: summarize([r for r in records if r[0] == s["sample_id"]]) for s in samples
        },
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "server_p50": round(statistics.median(server_ms), 2),
        },
    }


def summarize(records: list[tuple[str, int, int | None]]) -> dict[str, Any]:
    """Questions and recall@k of some answered questions."""
    count = len(records)
    recall = {
        f"@{k}": round(sum(1 for *_, found in records if found is not None and found <= k) / count, 4)
        for k in KS
        if count
    }
    return {"questions": count, "recall": recall}


def folds(report: dict[str, Any], key: str = "@10") -> dict[str, Any]:
    """Leave one conversation out: per held-out conversation, the configuration best on the others
    (question-weighted recall at `key`) and its recall on the held-out one."""
    configs = report["configs"]
    samples = report["samples"]

    def pooled(name: str, among: list[str]) -> float:
        parts = [configs[name]["by_sample"][s] for s in among]
        total = sum(p["questions"] for p in parts)
        return sum(p["recall"][key] * p["questions"] for p in parts) / total if total else 0.0

    held: dict[str, Any] = {}
    for sample in samples:
        others = [s for s in samples if s != sample]
        chosen = max(configs, key=lambda name: pooled(name, others)) if others else next(iter(configs))
        held[sample] = {
            "chosen": chosen,
            "train": round(pooled(chosen, others), 4) if others else None,
            "held_out": configs[chosen]["by_sample"][sample]["recall"][key],
            "questions": configs[chosen]["by_sample"][sample]["questions"],
        }
    total = sum(v["questions"] for v in held.values())
    return {
        "metric": f"R{key}",
        "folds": held,
        "held_out": round(sum(v["held_out"] * v["questions"] for v in held.values()) / total, 4),
    }


async def run(
    samples: list[dict[str, Any]],
    sample_ids: list[str] | None,
    configs: dict[str, dict[str, float] | None],
    data: Path,
    protocol: str,
) -> dict[str, Any]:
    if sample_ids:
        samples = [s for s in samples if s["sample_id"] in sample_ids]
        missing = set(sample_ids) - {s["sample_id"] for s in samples}
        if missing:
            raise SystemExit(f"no sample {sorted(missing)[0]!r} in {data}")
    report: dict[str, Any] = {
        "data": str(data),
        "protocol": protocol,
        "samples": [s["sample_id"] for s in samples],
        "configs": {},
    }
    with tempfile.TemporaryDirectory(prefix="locomo-") as folder:
        ids: dict[str, dict[str, str]] = {}
        for name, weights in configs.items():
            overrides: dict[str, Any] = {
                "data_dir": Path(folder),
                "seed_personas": False,
                "toolsets": ("all",),
            }
            if weights is not None:
                overrides["search_weights"] = weights
            settings = load_settings(os.environ, **overrides)
            async with Client(build_server(settings)) as client:
                if not ids:
                    ids, rate = await load(client, samples, protocol)
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
        f"LoCoMo retrieval ({report['protocol']} protocol): {', '.join(report['samples'])}; "
        f"{report['memories']} memories; embedder {report['embedder']}; "
        f"stored {report['store_rate_per_s']}/s",
        f"{'config':<10} {'questions':>9} "
        + " ".join(f"{'R@' + str(k):>6}" for k in KS)
        + f" {'p50 ms':>7} {'p95 ms':>7} {'server':>7}",
    ]
    for name, result in report["configs"].items():
        recall = result["recall"]
        latency = result["latency_ms"]
        lines.append(
            f"{name:<10} {result['questions']:>9} "
            + " ".join(f"{recall['@' + str(k)]:>6.3f}" for k in KS)
            + f" {latency['p50']:>7.1f} {latency['p95']:>7.1f} {latency['server_p50']:>7.1f}"
        )
    columns = [*CATEGORY_NAMES.values(), *report["samples"]]
    lines += [
        "",
        "R@10 by category and by conversation:",
        f"{'config':<10} " + " ".join(f"{c:>11}" for c in columns),
    ]
    for name, result in report["configs"].items():
        parts = [*result["by_category"].values(), *result["by_sample"].values()]
        lines.append(f"{name:<10} " + " ".join(f"{p['recall'].get('@10', 0):>11.3f}" for p in parts))
    if "folds" in report:
        held = report["folds"]
        lines += ["", f"Leave one conversation out ({held['metric']}): held-out {held['held_out']:.3f}"]
        for sample, fold in held["folds"].items():
            train = "-" if fold["train"] is None else f"{fold['train']:.3f}"
            lines.append(
                f"  {sample:<10} chose {fold['chosen']:<10} train {train}  held-out {fold['held_out']:.3f} "
                f"(n={fold['questions']})"
            )
    return "\n".join(lines)


def _weights(text: str) -> tuple[str, dict[str, float]]:
    """NAME=semantic=0.6,lexical=0.2 (names left out keep the server's defaults)."""
    name, _, pairs = text.partition("=")
    if not name or not pairs:
        raise argparse.ArgumentTypeError(f"write NAME=semantic=0.6,lexical=0.2, not {text!r}")
    weights = {}
    for pair in pairs.split(","):
        key, _, value = pair.partition("=")
        weights[key.strip()] = float(value)
    return name, weights


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="A LoCoMo-format JSON file (default: $LOCOMO_DATA, ../shared/data/locomo-dev.json, "
        "data/locomo10.json, ./locomo10.json: the first that exists).",
    )
    parser.add_argument("--samples", nargs="*", help="Sample ids to use (default: all).")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--weights",
        type=_weights,
        action="append",
        default=[],
        help="Another configuration, NAME=semantic=0.6,lexical=0.2 (repeatable).",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="sessions")
    parser.add_argument("--folds", action="store_true", help="Report leave-one-conversation-out.")
    parser.add_argument("--json", help="Write the JSON report here ('-' for stdout).")
    args = parser.parse_args()
    args.data = find_data(args.data)
    configs = {name: CONFIGS[name] for name in args.configs} | dict(args.weights)
    report = anyio.run(
        run, orjson.loads(args.data.read_bytes()), args.samples, configs, args.data, args.protocol
    )
    if args.folds:
        report["folds"] = folds(report)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
