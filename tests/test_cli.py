"""The `persona-mcp` command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_store import LATEST

pytestmark = pytest.mark.slow


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "persona_mcp", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("persona-mcp ")


def test_doctor_reports_each_check(tmp_path: Path) -> None:
    result = _run("doctor", env={"PERSONA_MCP_DATA_DIR": str(tmp_path), "OLLAMA_HOST": "127.0.0.1:9"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"[ok  ] data folder  {tmp_path}" in result.stdout
    assert f"schema v{LATEST}, 2 personas, integrity ok" in result.stdout
    assert "[ok  ] embedder     sentence-transformers/all-MiniLM-L6-v2 (384 dimensions" in result.stdout
    assert "[warn] ollama       not reachable at http://127.0.0.1:9" in result.stdout
    assert "ollama serve" in result.stdout


def test_doctor_fails_on_an_unusable_data_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = _run("doctor", env={"PERSONA_MCP_DATA_DIR": str(blocker / "data")})
    assert result.returncode == 1
    assert "[FAIL] data folder" in result.stdout


def test_bad_settings_stop_the_server_with_a_clear_message() -> None:
    result = _run("serve", env={"PERSONA_MCP_TOOLSETS": "persona,nope"})
    assert result.returncode == 2
    expected = "PERSONA_MCP_TOOLSETS='persona,nope' is invalid: unknown profile or namespace 'nope'"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_a_real_session(tmp_path: Path) -> None:
    result = _run("demo", env={"PERSONA_MCP_DATA_DIR": str(tmp_path / "untouched")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo finished: 20/20 steps behaved as expected." in result.stdout
    assert "[tool error] persona_get: No persona_id 'nobody' exists." in result.stdout
    assert not (tmp_path / "untouched").exists()


def test_demo_keep_can_be_run_again_and_never_replaces_a_persona_it_did_not_make(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for run in range(2):
        result = _run("--data-dir", str(data), "demo", "--keep")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Demo finished: 20/20 steps behaved as expected." in result.stdout
        assert "It left sora, wren, ariki (sora archived)" in result.stdout
        assert ("Removed what an earlier `demo --keep` left: sora, wren, ariki." in result.stdout) == (
            run == 1
        )
    # A folder where the user made a persona of one of the demo's ids: the demo stops, and
    # changes nothing.
    other = tmp_path / "other"
    card = Path(__file__).parent / "data" / "cards" / "sillytavern_v2.json"
    assert _run("import", str(card), "--id", "wren", env={"PERSONA_MCP_DATA_DIR": str(other)}).returncode == 0
    refused = _run("--data-dir", str(other), "demo", "--keep")
    assert refused.returncode == 1
    assert "already has persona(s) wren that the demo did not make" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    env = {"PERSONA_MCP_DATA_DIR": str(other)}
    kept = _run("export", "wren", "--format", "json", "-o", str(tmp_path / "wren.json"), env=env)
    assert kept.returncode == 0, kept.stderr
    assert '"name": "Seraphina"' in (tmp_path / "wren.json").read_text()
    assert _run("export", "sora", "-o", str(tmp_path / "sora.json"), env=env).returncode != 0
    assert not (other / "demo-personas.json").exists()


def test_import_and_export_a_png_card_from_the_command_line(tmp_path: Path) -> None:
    env = {"PERSONA_MCP_DATA_DIR": str(tmp_path / "data")}
    card = Path(__file__).parent / "data" / "cards" / "sillytavern_v2.json"
    imported = _run("import", str(card), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "Created Seraphina (seraphina) from card_v2." in imported.stdout
    png = tmp_path / "seraphina.png"
    exported = _run("export", "seraphina", "--format", "png", "-o", str(png), env=env)
    assert exported.returncode == 0, exported.stderr
    assert png.read_bytes().startswith(b"\x89PNG")
    again = _run("import", str(png), "--id", "sera-copy", "--name", "Sera Copy", env=env)
    assert "Created Sera Copy (sera-copy) from card_v3 (png)." in again.stdout
    as_yaml = _run("export", "sera-copy", "--format", "yaml", env=env)
    assert as_yaml.stdout.startswith("id: sera-copy\nname: Sera Copy\n")
    duplicate = _run("import", str(card), env=env)
    assert duplicate.returncode == 2
    assert "merge" in duplicate.stderr


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    here = {
        "PERSONA_MCP_DATA_DIR": str(tmp_path / "here"),
        "PERSONA_MCP_BACKUP_PASSPHRASE": "a long passphrase",
    }
    archive = tmp_path / "everything.pmstate"
    card = Path(__file__).parent / "data" / "cards" / "sillytavern_v2.json"
    assert _run("import", str(card), env=here).returncode == 0
    saved = _run("backup", "-o", str(archive), env=here)
    assert saved.returncode == 0, saved.stderr
    assert "encrypted" in saved.stdout
    assert "personas 3" in saved.stdout
    there = {**here, "PERSONA_MCP_DATA_DIR": str(tmp_path / "there")}
    restored = _run("restore", str(archive), "--mode", "replace", env=there)
    assert restored.returncode == 0, restored.stderr
    assert "Now: personas 3" in restored.stdout
    assert "seraphina" in _run("export", "seraphina", "--format", "yaml", env=there).stdout
    wrong = _run("restore", str(archive), env={**there, "PERSONA_MCP_BACKUP_PASSPHRASE": "not it at all"})
    assert wrong.returncode == 2
    assert "passphrase is wrong" in wrong.stderr
