"""Files a user names are read within limits and written whole: devices, pipes and huge files are
refused before they are read, archives cannot ask for unbounded memory, disk or CPU, and a save
never leaves a partial file."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import anyio
import orjson
import pytest
from mcp import Client

from core.config import Settings
from core.state.archive import MAGIC, pack
from tests.conftest import call, call_error
from tests.processes import server_env

pytestmark = pytest.mark.anyio

MEMORY_LIMIT = 450 * 2**20  # address space for a CLI process: enough to run, not to swallow a file


def _cli(data_dir: Path, *args: str, memory: int | None = MEMORY_LIMIT) -> subprocess.CompletedProcess[str]:
    """`persona-mcp ARGS` under an address-space limit."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "persona_mcp", *args],
        env=server_env(data_dir),
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("persona-mcp: ")
    for word in words:
        assert word in last, last


@pytest.mark.slow
@pytest.mark.parametrize("command", ["import", "restore"])
def test_devices_and_pipes_are_refused_before_a_byte_is_read(
    data_dir: Path, tmp_path: Path, command: str
) -> None:
    _one_clear_line(_cli(data_dir, command, "/dev/zero"), "/dev/zero", "not a regular file")
    fifo = tmp_path / "card.json"
    os.mkfifo(fifo)  # nobody writes to it: reading would wait for ever
    _one_clear_line(_cli(data_dir, command, str(fifo)), "not a regular file")


@pytest.mark.slow
def test_a_huge_file_is_refused_without_reading_it(data_dir: Path, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:
        out.truncate(100 * 2**20)
    _one_clear_line(_cli(data_dir, "import", str(huge)), "104,857,600 bytes", "at most 32 MiB")
    binary = tmp_path / "card.charx"  # a damaged zip: read as a CharX, refused as one
    binary.write_bytes(b"PK\x03\x04\xff\xfe" + bytes(range(256)))
    _one_clear_line(_cli(data_dir, "import", str(binary)), "not a readable CharX")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    _one_clear_line(_cli(data_dir, "import", str(photo)), "neither UTF-8 text")


def _bomb(size: int) -> bytes:
    """A valid-looking archive whose database part unpacks to `size` zero bytes (~1000:1)."""
    digest = hashlib.sha256()
    zeros = bytes(2**20)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("persona.db", "w", force_zip64=True) as part:
            for _ in range(size // len(zeros)):
                part.write(zeros)
                digest.update(zeros)
        manifest = {
            "format": "persona-mcp-state",
            "format_version": 1,
            "parts": {"persona.db": {"sha256": digest.hexdigest(), "size": size}},
        }
        archive.writestr("manifest.json", orjson.dumps(manifest))
    return buffer.getvalue()


@pytest.mark.slow
def test_a_zip_bomb_is_unpacked_to_disk_within_limits_not_into_memory(data_dir: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pmstate"
    bomb.write_bytes(_bomb(768 * 2**20))
    assert bomb.stat().st_size < 2 * 2**20
    # 768 MiB of part under a 450 MiB address space: only streaming gets through to the real check.
    _one_clear_line(_cli(data_dir, "restore", str(bomb)), "not a usable SQLite file")
    assert not [p for p in data_dir.rglob("*") if ".load-" in str(p)]  # the unpacked part is gone


def _sealed_with(header: dict[str, object]) -> bytes:
    salt = base64.b64encode(os.urandom(16)).decode()
    nonce = base64.b64encode(os.urandom(12)).decode()
    fields = {"format_version": 1, "cipher": "AES-256-GCM", "kdf": "scrypt", "salt": salt, "nonce": nonce}
    return MAGIC + orjson.dumps({**fields, **header}) + b"\n" + os.urandom(64)


@pytest.mark.parametrize(
    "params",
    [{"n": 2**15, "r": 8, "p": 100_000}, {"n": 2**15, "r": 64, "p": 1}, {"n": 2**24, "r": 8, "p": 1}],
)
async def test_scrypt_parameters_beyond_ours_are_refused_at_once(
    client: Client, settings: Settings, params: dict[str, int]
) -> None:
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    (settings.backup_dir / "crafted.pmstate").write_bytes(_sealed_with(params))
    started = time.monotonic()
    error = await call_error(client, "state_load", path="crafted.pmstate", passphrase="whatever passphrase")
    assert time.monotonic() - started < 5  # p=100000 alone would run for hours; r=64 asks for 8 GiB
    assert "outside what persona-mcp writes" in error


async def test_a_pipe_in_the_state_folder_is_refused_not_waited_on(
    client: Client, settings: Settings
) -> None:
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    os.mkfifo(settings.backup_dir / "pipe.pmstate")
    with anyio.fail_after(20):
        error = await call_error(client, "state_load", path="pipe.pmstate")
    assert "not a regular file" in error


def _files(settings: Settings) -> list[str]:
    """Every file and folder around the data folder, but the vector index and its lock, which the
    server's background loop creates when it gets to it."""
    top = settings.data_dir.parent
    return sorted(
        p.name
        for p in top.rglob("*")
        if not any(part.startswith("vectors") for part in p.relative_to(top).parts)
    )


def _leftovers(settings: Settings) -> list[str]:
    return sorted(str(p.relative_to(settings.data_dir)) for p in settings.data_dir.rglob("*partial*"))


@pytest.mark.parametrize(
    "path", [".", "", "   ", "sub/..", "a\x00b.pmstate", "line\nbreak.pmstate", "nested"]
)
async def test_state_save_writes_only_files_inside_the_state_folder(
    client: Client, settings: Settings, path: str
) -> None:
    (settings.backup_dir / "nested").mkdir(parents=True)
    before = _files(settings)
    error = await call_error(client, "state_save", path=path)
    assert "Invalid path" in error
    assert "give a file name such as 'mine.pmstate'" in error
    assert _files(settings) == before
    assert _leftovers(settings) == []


async def test_a_save_that_cannot_be_written_leaves_nothing_behind(
    client: Client, settings: Settings
) -> None:
    settings.backup_dir.mkdir(parents=True)
    (settings.backup_dir / "plain.txt").write_text("a file, not a folder")
    error = await call_error(client, "state_save", path="plain.txt/inside.pmstate")
    assert "cannot be written" in error
    assert _leftovers(settings) == []
    saved = await call(client, "state_save", path="fine.pmstate")
    assert Path(saved["path"]).name == "fine.pmstate"
    assert _leftovers(settings) == []


def test_pack_and_a_plain_archive_stay_readable(tmp_path: Path) -> None:
    data = pack({"app_version": "x"}, {"settings.json": b"{}"}, None)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert orjson.loads(archive.read("manifest.json"))["parts"]["settings.json"]["size"] == 2
