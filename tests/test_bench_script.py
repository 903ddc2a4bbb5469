"""scripts/bench.py end to end on a tiny corpus: the suite keeps running as the code changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.conftest import call
from tests.processes import http_client, http_server

ROOT = Path(__file__).resolve().parents[1]


def test_bench_tools_reports_each_profile_against_its_budget(tmp_path: Path) -> None:
    report_file = tmp_path / "tools.json"
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "tools", "--json", str(report_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_file.read_text())
    chat, every = report["tools"]["profiles"]["chat"], report["tools"]["profiles"]["all"]
    assert chat["tools"] < every["tools"]
    assert set(chat["names"]) < set(every["names"])
    assert chat["bytes"] == sum(report["tools"]["tools"][name]["bytes"] for name in chat["names"])
    assert every["bytes"] < every["unabridged_bytes"]
    marks = {t["target"]: t for t in report["targets"]}
    assert marks["tools/list, chat profile"]["limit"] == 24
    assert marks["tools/list, all profile"]["met"] == (every["bytes"] <= 48 * 1024)
    assert "| persona_create |" in done.stdout
    assert "<= 24 KB" in done.stdout


@pytest.mark.slow
def test_bench_runs_and_reports_every_figure_it_was_asked_for(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Performance\n<!-- bench:search -->\nold search table\n<!-- /bench:search -->\nprose\n"
        "<!-- bench:startup -->\nold startup table\n<!-- /bench:startup -->\n"
        "<!-- bench:targets -->\nold targets\n<!-- /bench:targets -->\n"
    )
    names = ["search", "chat", "lifecycle", "rss"]
    done = subprocess.run(
        [
            *(sys.executable, "scripts/bench.py", *names, "--sizes", "300"),
            *("--json", str(report_file), "--doc", str(readme)),
        ],
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
    # The README's marked tables come from the run; a benchmark it did not run keeps its old table.
    text = readme.read_text()
    assert "old search table" not in text
    assert "| memories | store_batch |" in text.split("<!-- /bench:search -->")[0]
    assert "prose" in text
    assert "old startup table" in text
    assert "old targets" in text  # a partial run does not stand for the whole suite's targets
    # A saved report renders the same tables without running anything.
    again = tmp_path / "again.md"
    again.write_text("".join(f"<!-- bench:{n} -->\n<!-- /bench:{n} -->\n" for n in ("search", "run")))
    assert "Machine speed: a plain Python loop step took" in done.stdout
    rendered = subprocess.run(
        [sys.executable, "scripts/bench.py", "--report", str(report_file), "--readme", str(again)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    assert text.split("<!-- bench:search -->")[1].split("<!-- /bench:search -->")[0] in again.read_text()
    assert "Machine speed" not in again.read_text()  # the summary blocks only come from full runs


@pytest.mark.slow
@pytest.mark.anyio
async def test_both_load_clients_drive_a_real_server_and_count_its_errors(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_load

    settings = {"PERSONA_MCP_RATE_LIMIT_PER_MINUTE": "0", "PERSONA_MCP_SEED_PERSONAS": "false"}
    with http_server(tmp_path / "data", **settings) as server:
        async with http_client(server.url, mode="legacy") as client:
            with anyio.fail_after(120):
                while not (await call(client, "system_status"))["embedder"]["loaded"]:  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            # No persona "bench" yet: every call is a tool error, and each one is counted.
            failing = await bench_load.load(server.url, 3, 2.0, 0.1, wire=True)
            assert failing["calls"] > 5
            assert failing["errors"] == failing["calls"]
            assert "bench" in failing["error_samples"][0]
            await call(client, "persona_create", id="bench", name="Bench")
            stored = 0
            for wire in (True, False):
                run = await bench_load.load(server.url, 4, 2.0, 0.1, wire=wire)
                assert run["errors"] == 0, run["error_samples"]
                assert run["client"] == ("wire" if wire else "sdk")
                assert run["search_ms"]["n"] > 5
                stored += run.get("store_ms", {}).get("n", 0)
            # Every store the clients timed really landed.
            assert (await call(client, "memory_stats", persona_id="bench"))["total"] == stored > 0
