"""`persona-mcp call`: one tool from a shell, as a CI script uses it, against the data folder and
against a running HTTP server. The result is JSON on stdout; a tool error is exit 1 with the
message on stderr; a usage error is exit 2 and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import http_server, server_env

pytestmark = pytest.mark.slow


def _call(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "persona_mcp", "call", *args],
        env=server_env(data_dir, HF_HUB_OFFLINE="1", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_store_then_search_from_the_shell(data_dir: Path) -> None:
    stored = _call(data_dir, "memory_store", "content=Sam takes their coffee black.", "persona_id=kira")
    assert stored.returncode == 0, stored.stderr
    memory = json.loads(stored.stdout)["memory"]
    assert (memory["persona_id"], memory["content"]) == ("kira", "Sam takes their coffee black.")
    found = _call(
        data_dir,
        "memory.search",
        "--json",
        '{"query": "what does Sam drink?", "persona_id": "kira"}',
        "n_results=3",
    )
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert [hit["memory"]["id"] for hit in result["memories"]] == [memory["id"]]
    assert result["semantic"] is True


def test_errors_exit_non_zero_and_say_why(data_dir: Path) -> None:
    missing = _call(data_dir, "persona_get", "persona_id=nobody")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "No persona_id 'nobody' exists. Existing personas: aria, kira." in missing.stderr
    typo = _call(data_dir, "memory_serch", "query=x")
    assert typo.returncode == 2
    assert "Did you mean memory_search" in typo.stderr
    bad = _call(data_dir, "memory_store", "content")
    assert bad.returncode == 2
    assert "'content' is not key=value" in bad.stderr
    broken = _call(data_dir, "memory_store", "--json", "[1]")
    assert broken.returncode == 2
    assert "--json must be a JSON object" in broken.stderr
    listed = _call(data_dir, "memory_stats", "persona_id=aria")
    assert json.loads(listed.stdout)["total"] == 0  # none of the failed calls stored anything


def test_a_running_server_over_http_with_its_token(data_dir: Path, tmp_path: Path) -> None:
    with http_server(data_dir, PERSONA_MCP_TOKEN="s3cret-token-for-the-test") as server:
        elsewhere = tmp_path / "unused"
        for token in ((), ("--token", "pmcp_revoked-or-made-up")):
            refused = _call(elsewhere, "persona_list", "--url", server.url, *token)
            assert refused.returncode == 2
            assert f"persona-mcp call: {server.url}: the server answered 401" in refused.stderr
            assert "Traceback" not in refused.stderr
        listed = _call(elsewhere, "persona_list", "--url", server.url, "--token", "s3cret-token-for-the-test")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["total_count"] == 2
        from_env = _call(
            elsewhere, "persona_list", "--url", server.url, PERSONA_MCP_TOKEN="s3cret-token-for-the-test"
        )
        assert from_env.returncode == 0, from_env.stderr
    assert not elsewhere.exists()  # --url never touches a local data folder
