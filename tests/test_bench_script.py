"""scripts/bench.py end to end on a tiny corpus: the suite keeps running as the code changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_runs_and_reports_every_figure_it_was_asked_for(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    names = ["search", "chat", "lifecycle", "rss"]
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", *names, "--sizes", "300", "--json", str(report_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_file.read_text())
    row = report["search"]["sizes"]["300"]
    assert row["memories"] >= 300
    assert row["search_server_ms"]["n"] == 100
    # Chroma is timed on the server's own index after the run, so after the prune archived a quarter.
    assert row["memories"] * 0.7 < row["baseline"]["chroma_entries"] < row["memories"]
    assert row["floor_ms"] > 0
    assert report["chat"]["added_by_server_ms"]["n"] == 40
    assert [r["memories"] for r in report["lifecycle"]] == [report["lifecycle"][0]["memories"]]
    assert report["rss"]["idle"]["rss"] > 50
    assert {t["target"] for t in report["targets"]} >= {
        "idle RSS, model loaded",
        "search p50 at 300 (server)",
    }
    assert "| memories | store_batch |" in done.stdout  # the readable tables
    assert "## Targets" in done.stdout
