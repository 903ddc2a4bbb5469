"""persona-mcp's benchmark suite: every figure, or the named ones, each beside a baseline measured
in the same run, checked against the targets, written as JSON plus readable tables.

    python scripts/bench.py                       # everything (under ten minutes on 2 cores)
    python scripts/bench.py calls search          # just these
    python scripts/bench.py --sizes 1000 10000    # a smaller corpus
    python scripts/bench.py --plot bench-charts   # also PNG charts (pip install 'persona-mcp[bench]')
    python scripts/bench.py --doc docs/performance.md    # also put the tables into its markers
    python scripts/bench.py --report bench-results.json --doc docs/performance.md   # from a saved run

Benchmarks:
  startup    spawn to first tools/list over stdio, against a bare MCPServer       (bench_startup.py)
  calls      trivial tool round trip, in-memory / stdio / HTTP, against an echo tool (bench_calls.py)
  search     store_batch rate and search p50/p95 at each size, against the embedder,
             raw FTS5 and raw Chroma                                              (bench_search.py)
  load       50 and 200 concurrent HTTP sessions at 10k memories, and flat out    (bench_load.py)
  chat       persona_chat around an instant model at 10k memories                (bench_chat.py)
  lifecycle  decay and prune at 10k and 100k, against a raw sqlite3 rewrite       (bench_lifecycle.py)
  rss        resident memory idle (model loaded) and at each size
  tools      tools/list bytes a model reads, per tool and profile, against the
             unabridged schemas                                                  (bench_tools.py)
  access     memory_search as a principal that is no admin, against the admin, at each
             size up to 10k, in one process                                      (bench_access.py)
  scale      store and search over HTTP with 1, 2 and 4 workers on one PostgreSQL, against one
             SQLite process, at each size of 10k and up; only when named (it fills
             its own corpora, about 25 minutes per engine at 100k)               (bench_scale.py)
The corpus benchmarks share one server process over HTTP whose persona grows 1k -> 10k -> 100k.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_access
import bench_calls
import bench_chat
import bench_lifecycle
import bench_load
import bench_scale
import bench_search
import bench_startup
import bench_tools
from _corpus import Corpus, corpus, facts, rss_mb
from _report import emit

from core.embeddings import load_embedder
from tests.ollama_standin import echo_reply, run_standin

NAMES = ("tools", "startup", "calls", "search", "load", "chat", "lifecycle", "rss", "access", "scale")
EXPLICIT = {"scale"}  # run only when named
ACCESS_LARGEST = 10_000  # the access comparison's largest corpus (its own, filled in process)
CORPUS_NAMES = {"search", "load", "chat", "lifecycle", "rss"}
LOAD_SIZE = 10_000  # load, chat and the first lifecycle run happen at this size
# HTTP load runs: sessions, mean think time between one session's calls (0: flat out), client
# (see bench_load), seconds measured. A session calling every 10 s stands for a busy user: an
# assistant calls memory once or twice a chat turn, and people take longer than that between turns.
LOAD_RUNS = (
    (50, 5.0, "sdk", 10.0),
    (200, 10.0, "sdk", 20.0),
    (200, 10.0, "wire", 30.0),
    (40, 0.0, "sdk", 10.0),
)


async def _embed_rate() -> tuple[Any, float]:
    """The embedder in this process, and its batch rate on the corpus's kind of text."""
    embedder = (await load_embedder("auto", None, "http://127.0.0.1:9")).embedder
    texts = facts(2_000, seed=424242)
    await embedder.embed(texts[:64])
    started = time.perf_counter()
    await embedder.embed(texts)
    return embedder, len(texts) / (time.perf_counter() - started)


async def _at_size(
    size: int, store: Corpus, wanted: set[str], report: dict[str, Any], context: dict[str, Any]
) -> None:
    """Everything measured once the persona holds `size` memories."""
    fill = await store.fill_to(size)
    if "search" in wanted:
        row = await bench_search.measure(store, context["baselines"], own_index=size != context["largest"])
        report["search"]["sizes"][str(size)] = {**row, "store_batch_per_s": fill["per_s"]}
    if "rss" in wanted:
        await store.settled()
        report["rss"][str(size)] = rss_mb(store.server.process.pid)
    if size == min(LOAD_SIZE, context["largest"]):
        if "load" in wanted:
            runs = report["load"]["runs"]
            for sessions, think, client, seconds in LOAD_RUNS:
                print(f"  load: {sessions} {client} sessions, think {think:g} s", file=sys.stderr, flush=True)
                runs.append(
                    await bench_load.load(store.server.url, sessions, seconds, think, client == "wire")
                )
        if "chat" in wanted:
            print("  chat", file=sys.stderr, flush=True)
            report["chat"] = await bench_chat.measure(store, context["standin"])
    if "lifecycle" in wanted and size in (min(LOAD_SIZE, context["largest"]), context["largest"]):
        print("  decay and prune", file=sys.stderr, flush=True)
        report["lifecycle"].append(await bench_lifecycle.measure(store))


def loop_ns() -> float:
    """Nanoseconds per step of a plain Python loop, best of 5: how fast this machine runs Python
    right now, so runs on different (or differently busy) machines can be compared."""
    best = float("inf")
    for _ in range(5):
        started, total = time.perf_counter_ns(), 0
        for step in range(1_000_000):
            total += step
        best = min(best, time.perf_counter_ns() - started)
    return round(best / 1_000_000, 1)


def cpu_ticks() -> tuple[int, int]:
    """(stolen, all) CPU ticks since boot from /proc/stat: time the hypervisor gave to others.
    (0, 0) where there is no /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


async def run(wanted: set[str], sizes: list[int], runs: int, calls: int) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loop_ns_before": loop_ns(),
        },
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    stolen, ticks = cpu_ticks()
    began = time.perf_counter()
    if "tools" in wanted:
        report["tools"] = await bench_tools.run()
    if "startup" in wanted:
        print("startup", file=sys.stderr, flush=True)
        report["startup"] = await bench_startup.run(runs)
    if "calls" in wanted:
        print("calls", file=sys.stderr, flush=True)
        report["calls"] = await bench_calls.run(calls)
    if "access" in wanted:
        report["access"] = await bench_access.run([n for n in sizes if n <= ACCESS_LARGEST] or [min(sizes)])
    if "scale" in wanted:
        report["scale"] = await bench_scale.run([n for n in sizes if n >= 10_000] or [max(sizes)])
    if wanted & CORPUS_NAMES:
        needed = sizes if wanted & {"search", "rss", "lifecycle"} else [min(LOAD_SIZE, max(sizes))]
        embedder, rate = await _embed_rate()
        report["search"] = {"embed_per_s": round(rate, 1), "sizes": {}}
        report["load"] = {"runs": []}
        report["rss"], report["lifecycle"] = {}, []
        baselines = bench_search.RawBaselines(embedder)
        with (
            tempfile.TemporaryDirectory(prefix="bench-corpus-") as folder,
            run_standin(chat_models={bench_chat.MODEL: echo_reply}) as standin,
        ):
            async with corpus(Path(folder), standin.url) as store:
                report["rss"]["idle"] = rss_mb(store.server.process.pid)
                context = {"baselines": baselines, "standin": standin, "largest": max(needed)}
                for size in sorted(needed):
                    print(f"corpus: {size:,} memories", file=sys.stderr, flush=True)
                    await _at_size(size, store, wanted, report, context)
                report["search"]["fills"] = store.fill_log
            largest = report["search"]["sizes"].get(str(max(needed)))
            if largest:  # the server has stopped: its own index can be opened now
                largest["baseline"].update(baselines.chroma_on_server(Path(folder)))
                bench_search.with_floor(largest)
        baselines.close()
    report["seconds"] = round(time.perf_counter() - began, 1)
    stolen_after, ticks_after = cpu_ticks()
    report["machine"]["loop_ns_after"] = loop_ns()
    report["machine"]["steal_pct"] = round(100 * (stolen_after - stolen) / max(1, ticks_after - ticks), 1)
    report["targets"] = targets(report)
    return report


def _target(name: str, value: float | None, limit: float, unit: str, at_most: bool = False) -> dict[str, Any]:
    """A target: under `limit`, or up to it when `at_most`."""
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "unit": unit,
        "at_most": at_most,
        "met": value is not None and (value <= limit if at_most else value < limit),
    }


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the performance issue that this run measured: the value and met or missed."""
    found = []
    for profile, row in report.get("tools", {}).get("profiles", {}).items():
        kilobytes = round(row["bytes"] / 1024, 1)
        found.append(
            _target(
                f"tools/list, {profile} profile", kilobytes, row["budget_bytes"] / 1024, "KB", at_most=True
            )
        )
    if "calls" in report:
        found.append(
            _target(
                "stdio trivial call p50",
                report["calls"]["summary"]["stdio"]["persona-mcp"]["p50_ms"],
                2,
                "ms",
            )
        )
    if "startup" in report:
        found.append(_target("cold start median", report["startup"]["summary"]["cold"]["median_s"], 2, "s"))
    largest = max(report.get("search", {}).get("sizes", {}) or [0], key=int)
    if largest != 0:
        row = report["search"]["sizes"][largest]
        found.append(
            _target(f"search p50 at {int(largest):,} (server)", row["search_server_ms"]["p50"], 30, "ms")
        )
        found.append(
            _target(f"search p50 at {int(largest):,} (client)", row["search_client_ms"]["p50"], 30, "ms")
        )
    if "idle" in report.get("rss", {}):
        found.append(_target("idle RSS, model loaded", report["rss"]["idle"]["rss"], 300, "MB"))
    for run in report.get("load", {}).get("runs", []):
        if run["sessions"] == 200:
            each = f"200 HTTP sessions ({run['client']} client), a call per {run['think_s']:g} s each"
            found.append(_target(f"{each}: errors", run["errors"], 1, "errors"))
            found.append(_target(f"{each}: search p99", run.get("search_ms", {}).get("p99"), 250, "ms"))
    return found


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3g}" if value < 10 else f"{value:,.0f}"


def _limit(target: dict[str, Any]) -> str:
    if target["unit"] == "errors" and target["limit"] == 1:
        return "none"
    return f"{'<=' if target.get('at_most') else '<'} {target['limit']:g} {target['unit']}"


def sections(report: dict[str, Any]) -> dict[str, str]:
    """The readable table of each benchmark this run measured, by name, plus the targets and a
    line saying when, where and how long."""
    found: dict[str, str] = {}
    if "tools" in report:
        found["tools"] = bench_tools.table(report["tools"])
    if "startup" in report:
        found["startup"] = bench_startup.table(report["startup"])
    if "calls" in report:
        found["calls"] = bench_calls.table(report["calls"])
    if report.get("search", {}).get("sizes"):
        search = report["search"]
        found["search"] = bench_search.table(search["sizes"], search["fills"], search["embed_per_s"])
    if report.get("load", {}).get("runs"):
        found["load"] = bench_load.table(report["load"]["runs"])
    if report.get("chat"):
        found["chat"] = bench_chat.table(report["chat"])
    if report.get("scale"):
        found["scale"] = bench_scale.table(report["scale"])
    if report.get("lifecycle"):
        found["lifecycle"] = bench_lifecycle.table(report["lifecycle"])
    if report.get("access"):
        found["access"] = bench_access.table(report["access"])
    if report.get("rss"):
        rows = [
            f"| {state} | {v['rss']:.0f} MB | {v['peak']:.0f} MB |"
            for state, v in (
                (s if s == "idle" else f"{int(s):,} memories", v) for s, v in report["rss"].items()
            )
        ]
        found["rss"] = "| state | RSS | peak |\n|---|---|---|\n" + "\n".join(rows)
    marks = [
        f"| {t['target']} | {_value(t['value'])} {t['unit']} | {_limit(t)} "
        f"| {'met' if t['met'] else 'MISSED'} |"
        for t in report["targets"]
    ]
    found["targets"] = "| target | measured | limit | |\n|---|---|---|---|\n" + "\n".join(marks)
    machine = report["machine"]
    found["run"] = (
        f"From one run on {machine['cpus']} cores, Python {machine['python']}, started "
        f"{report['started']}, {report['seconds']:.0f} s in all."
    )
    if "loop_ns_after" in machine:  # reports saved before the machine's speed was recorded lack it
        found["run"] += (
            f" Machine speed: a plain Python loop step took {machine['loop_ns_before']:g} ns before "
            f"and {machine['loop_ns_after']:g} ns after (best of 5; lower is faster), and the "
            f"hypervisor took {machine['steal_pct']:g}% of CPU time during the run."
        )
    return found


HEADINGS = {
    "tools": "What tools/list costs a model",
    "startup": "Startup",
    "calls": "Tool-call round trip",
    "search": "Store and search",
    "load": "HTTP load",
    "chat": "Chat overhead",
    "lifecycle": "Decay and prune",
    "rss": "Resident memory (server process)",
    "access": "What access control costs a search",
    "targets": "Targets",
}


def report_names(report: dict[str, Any]) -> list[str]:
    """The benchmarks a report holds."""
    return [name for name in NAMES if report.get(name)]


def tables(found: dict[str, str]) -> str:
    """The sections as one readable document, under headings."""
    parts = [f"## {HEADINGS[name]}\n\n{found[name]}" for name in HEADINGS if name in found]
    return "\n\n".join([*parts, found["run"]])


def splice(text: str, found: dict[str, str]) -> tuple[str, list[str]]:
    """`text` with what lies between each `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` pair
    replaced by the table NAME of this run, and the names replaced. Blocks this run did not
    measure keep their old tables."""
    replaced = []
    for name, table in found.items():
        start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        head, mark, rest = text.partition(start)
        if not mark:
            continue
        _, closed, tail = rest.partition(end)
        if not closed:
            raise ValueError(f"{start} has no {end} after it")
        text = f"{head}{start}\n\n{table}\n\n{end}{tail}"  # blank lines: a table on its own
        replaced.append(name)
    return text, replaced


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="startup: spawns per case")
    parser.add_argument("--calls", type=int, default=200, help="calls: calls per transport")
    parser.add_argument("--json", default="bench-results.json", help="JSON report path ('-' for stdout)")
    parser.add_argument("--plot", type=Path, help="write PNG charts to this folder (needs matplotlib)")
    parser.add_argument(
        "--report",
        type=Path,
        help="render a saved JSON report (--doc, --plot) instead of running the benchmarks",
    )
    parser.add_argument(
        "--doc",
        "--readme",
        dest="doc",
        type=Path,
        help="replace the tables between <!-- bench:NAME --> markers in this file (e.g. README.md)",
    )
    args = parser.parse_args()
    if unknown := set(args.names) - set(NAMES):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}: give any of {', '.join(NAMES)}")
    wanted = set(args.names) or set(NAMES) - EXPLICIT
    for name in ("httpx", "httpx2"):  # one INFO line per request otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.report:
        report = orjson.loads(args.report.read_bytes())
    else:
        report = anyio.run(run, wanted, args.sizes, args.runs, args.calls)
    found = sections(report)
    emit(report, tables(found), None if args.report else args.json)
    if args.doc:
        if not set(NAMES) - EXPLICIT <= set(report_names(report)):  # partial: the summary blocks stay
            found = {name: table for name, table in found.items() if name not in ("targets", "run")}
        text, replaced = splice(args.doc.read_text(), found)
        args.doc.write_text(text)
        print(f"{args.doc}: replaced {', '.join(replaced) or 'no tables'}", file=sys.stderr)
    if args.plot:
        from _plot import plot

        for path in plot(report, args.plot):
            print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
