"""PNG charts of a bench.py report (matplotlib: pip install 'persona-mcp[bench]')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]


def plot(report: dict[str, Any], folder: Path) -> list[Path]:
    """One chart per benchmark present in the report; the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'persona-mcp[bench]'") from None
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(figure: Any, name: str) -> None:
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        written.append(path)

    if report.get("calls"):
        figure, axes = plt.subplots(figsize=(6, 3.5))
        summary = report["calls"]["summary"]
        transports = list(summary)
        for offset, case in ((-0.2, "baseline"), (0.2, "persona-mcp")):
            axes.bar(
                [i + offset for i in range(len(transports))],
                [summary[t][case]["p50_ms"] for t in transports],
                width=0.4,
                label=case,
            )
        axes.set_xticks(range(len(transports)), transports)
        axes.set_ylabel("p50 round trip (ms)")
        axes.set_title("Trivial tool call")
        axes.legend()
        save(figure, "calls")
    sizes = report.get("search", {}).get("sizes", {})
    if sizes:
        figure, axes = plt.subplots(figsize=(6, 3.5))
        counts = [int(size) for size in sizes]
        rows = list(sizes.values())
        axes.plot(counts, [r["search_server_ms"]["p50"] for r in rows], "o-", label="search p50 (server)")
        axes.plot(counts, [r["search_server_ms"]["p95"] for r in rows], "o--", label="search p95 (server)")
        axes.plot(counts, [r["search_client_ms"]["p50"] for r in rows], "s-", label="search p50 (client)")
        axes.plot(counts, [r["floor_ms"] for r in rows], "^:", label="embed + FTS5 + Chroma (raw)")
        axes.set_xscale("log")
        axes.set_xlabel("memories")
        axes.set_ylabel("ms")
        axes.set_title("memory_search latency")
        axes.legend()
        save(figure, "search")
    runs = report.get("load", {}).get("runs", [])
    if runs:
        figure, axes = plt.subplots(figsize=(6, 3.5))
        labels = [
            f"{r['sessions']} {r.get('client', 'sdk')}\n"
            + (f"call per {r['think_s']:g} s" if r["think_s"] else "flat out")
            for r in runs
        ]
        for offset, key in ((-0.2, "p50"), (0.2, "p99")):
            axes.bar(
                [i + offset for i in range(len(runs))],
                [r.get("search_ms", {}).get(key, 0) for r in runs],
                width=0.4,
                label=f"search {key}",
            )
        axes.axhline(250, color="grey", linestyle=":", label="p99 target")
        axes.set_xticks(range(len(runs)), labels)
        axes.set_ylabel("ms")
        axes.set_title("HTTP load")
        axes.legend()
        save(figure, "load")
    lifecycle = report.get("lifecycle", [])
    if lifecycle:
        figure, axes = plt.subplots(figsize=(6, 3.5))
        counts = [r["memories"] for r in lifecycle]
        for key, label in (
            ("decay_ms", "decay"),
            ("baseline_rewrite_ms", "sqlite3 rewrite (baseline)"),
            ("prune_dry_run_ms", "prune dry run"),
            ("prune_ms", "prune"),
        ):
            axes.plot(counts, [r[key] for r in lifecycle], "o-", label=label)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("memories")
        axes.set_ylabel("ms")
        axes.set_title("Decay and prune")
        axes.legend()
        save(figure, "lifecycle")
    return written
