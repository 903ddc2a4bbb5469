"""A database that is damaged, missing or not a file is reported with its cause and the way out,
by `doctor` and by every tool; files the server writes are its owner's alone."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.processes import http_client, http_server, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.sqlite_only]


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "persona_mcp", *args],
        env=server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _damage_memories(path: Path) -> None:
    """Overwrite the memories table's root page with garbage, as a failing disk would."""
    with closing(sqlite3.connect(path)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'memories'").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xa5" * page_size)


@pytest.mark.slow
def test_doctor_and_the_server_report_a_folder_where_the_database_should_be(data_dir: Path) -> None:
    (data_dir / "persona.db").mkdir(parents=True)
    doctor = _cli(data_dir, "doctor")
    assert doctor.returncode == 1
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert "[FAIL] database" in doctor.stdout
    assert "is a folder, not a database file: move it aside" in doctor.stdout
    served = _cli(data_dir, "serve")
    assert served.returncode == 2
    assert "Traceback" not in served.stderr
    assert served.stderr.strip().splitlines()[-1].startswith("persona-mcp: ")
    assert "is a folder, not a database file" in served.stderr


@pytest.mark.parametrize("mode", ["legacy"])
async def test_a_damaged_page_is_named_by_doctor_and_by_tools(settings: Settings, mode: str) -> None:
    async with Client(build_server(settings), mode=mode) as client:
        await call(client, "memory_store", content="Sam keeps bees on the roof.", persona_id="aria")
    _damage_memories(settings.database_path)

    doctor = _cli(settings.data_dir, "doctor")
    assert doctor.returncode == 1
    assert "Traceback" not in doctor.stdout + doctor.stderr
    line = next(line for line in doctor.stdout.splitlines() if "database" in line)
    assert line.lstrip().startswith("[FAIL] database")
    assert "is damaged" in line
    assert "persona-mcp restore FILE" in line

    async with Client(build_server(settings), mode=mode) as client:  # the server still starts...
        error = await call_error(client, "memory_search", query="bees", persona_id="aria")
        assert "is damaged" in error  # ... and each call says what is wrong and what to do
        assert "Restore a backup" in error
        assert "Error executing tool" not in error
        assert (await call(client, "persona_get", persona_id="kira"))["name"] == "Kira"


async def test_an_empty_database_file_is_started_afresh_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.data_dir.mkdir(parents=True)
    settings.database_path.touch()
    with caplog.at_level(logging.WARNING):
        async with Client(build_server(settings)) as client:
            assert (await call(client, "persona_get", persona_id="aria"))["name"] == "Aria"
    assert "is empty (0 bytes)" in caplog.text
    assert "restore a backup" in caplog.text


def _modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): stat.filemode(p.stat().st_mode) for p in sorted(root.rglob("*"))}


@pytest.mark.slow
async def test_every_file_the_server_writes_is_private(data_dir: Path, tmp_path: Path) -> None:
    os.umask(0o022)  # the usual default: the server must not depend on the caller's umask
    with http_server(data_dir) as server:
        async with http_client(server.url) as client:
            await call(client, "memory_store", content="Sam's locker code is 4417.", persona_id="aria")
            await call(client, "memory_search", query="locker", persona_id="aria")
            await call(client, "keys_set", name="openai", value="sk-" + "Q" * 40)
            await call(client, "state_save", path="plain.pmstate")
            await call(client, "memory_reindex")  # the vector index is on disk
    _check_private(data_dir, tmp_path)


def _check_private(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "aria.yaml"
    assert _cli(data_dir, "export", "aria", "-o", str(export)).returncode == 0
    assert _cli(data_dir, "backup", "-o", str(tmp_path / "cli.pmstate")).returncode == 0
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    modes = _modes(data_dir)
    assert "persona.db" in modes
    assert any(name.startswith("vectors/") for name in modes)
    assert any(name.startswith("backups/") for name in modes)
    loose = {name: mode for name, mode in modes.items() if mode not in ("-rw-------", "drwx------")}
    assert loose == {}
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cli.pmstate").stat().st_mode) == 0o600


async def test_an_existing_world_readable_database_is_made_private(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await call(client, "persona_list")
    os.chmod(settings.data_dir, 0o755)
    os.chmod(settings.database_path, 0o644)
    async with Client(build_server(settings)) as client:
        await call(client, "persona_list")
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.database_path.stat().st_mode) == 0o600
