"""state_save / state_load: one archive of everything, taken while the server runs, restored by
merge or replace; every bad archive is refused with nothing changed."""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from mcp import Client

from core.config import Settings, load_settings
from core.state.archive import pack
from core.store import Database
from persona_mcp import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio

PASSPHRASE = "correct horse battery"
_BOOKKEEPING = {"indexed_at"}


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Background decay off: it would touch memories between a save and the comparison."""
    return load_settings({}, data_dir=data_dir, decay_enabled=False, toolsets=("all",))


def _fingerprint(settings: Settings) -> dict[str, Any]:
    """What a user would notice changing: every row of the main tables."""
    tables = ("personas", "memories", "relationships", "emotional_states", "conversations", "messages")
    rows = {}
    with closing(sqlite3.connect(settings.database_path)) as db:
        for table in tables:
            # Bookkeeping, not the user's data: whether the vector index has caught up.
            info = db.execute(f"PRAGMA table_info({table})")
            columns = [row[1] for row in info if row[1] not in _BOOKKEEPING]
            rows[table] = db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1").fetchall()
    return rows


async def _a_life(client: Client) -> str:
    """Memories (one archived), a relationship, a mood and a conversation with messages."""
    stored = await call(
        client,
        "memory_store_batch",
        items=[
            {"content": "Sam's sister Ada plays the cello in an orchestra.", "persona_id": "aria"},
            {"content": "Sam is afraid of deep water since childhood.", "persona_id": "aria"},
            {"content": "Kira keeps a card index of every archive she visited.", "persona_id": "kira"},
        ],
    )
    await call(client, "memory_delete", memory_id=stored["ids"][2])
    await call(
        client,
        "relationship_update",
        persona_a="aria",
        persona_b="user:sam",
        interaction={"kind": "support", "quality": 0.8},
    )
    await call(client, "emotional_update_state", persona_id="aria", valence=0.7, reason="a sunny day")
    conversation = await call(client, "conversation_start", persona_id="aria", user_id="sam")
    return str(conversation["id"])


async def test_replace_brings_back_exactly_what_was_saved(client: Client, settings: Settings) -> None:
    await _a_life(client)
    saved = await call(client, "state_save", path="before.pmstate")
    assert saved["counts"]["memories"] == 3
    assert saved["counts"]["archived_memories"] == 1
    assert saved["sha256"] == hashlib.sha256(_archive_bytes(settings, "before.pmstate")).hexdigest()
    before = _fingerprint(settings)
    await call(client, "persona_update", persona_id="kira", changes={"description": "Changed afterwards."})
    await call(client, "memory_store", content="Something learnt after the save.", persona_id="aria")
    await call(client, "persona_create", name="Latecomer")
    loaded = await call(client, "state_load", path="before.pmstate", mode="replace")
    assert loaded["vectors"].startswith("rebuilt")
    assert _fingerprint(settings) == before
    found = await call(client, "memory_search", query="who plays the cello?", persona_id="aria")
    assert found["memories"][0]["memory"]["content"].startswith("Sam's sister Ada")
    assert all("after the save" not in hit["memory"]["content"] for hit in found["memories"])


async def test_merge_keeps_the_newer_row_and_adds_what_is_missing(client: Client, settings: Settings) -> None:
    await _a_life(client)
    await call(client, "state_save", path="merge.pmstate")
    await call(
        client, "persona_update", persona_id="kira", changes={"description": "Newer than the archive."}
    )
    memories = await call(client, "memory_search", query="deep water", persona_id="aria")
    await call(client, "memory_delete", memory_id=memories["memories"][0]["memory"]["id"], hard=True)
    loaded = await call(client, "state_load", path="merge.pmstate")
    assert (await call(client, "persona_get", persona_id="kira"))["description"] == "Newer than the archive."
    back = await call(client, "memory_search", query="deep water", persona_id="aria")
    assert back["memories"][0]["memory"]["content"] == "Sam is afraid of deep water since childhood."
    assert loaded["written"]["memories"] == 1
    again = await call(client, "state_load", path="merge.pmstate")
    assert again["written"] == {}  # merging the same archive twice adds nothing
    assert again["counts"] == loaded["counts"]


async def test_an_archive_moves_everything_to_another_data_folder(client: Client, tmp_path: Path) -> None:
    conversation = await _a_life(client)
    saved = await call(client, "state_save", path="move.pmstate", passphrase=PASSPHRASE)
    elsewhere = load_settings({}, data_dir=str(tmp_path / "elsewhere"), toolsets=("all",))
    elsewhere.backup_dir.mkdir(parents=True)
    shutil.copy(saved["path"], elsewhere.backup_dir / "move.pmstate")
    async with Client(build_server(elsewhere)) as there:
        loaded = await call(there, "state_load", path="move.pmstate", passphrase=PASSPHRASE, mode="replace")
        assert loaded["encrypted"] is True
        assert loaded["counts"] == saved["counts"]
        bond = await call(there, "relationship_get", persona_a="aria", persona_b="user:sam")
        assert bond["met"] is True
        assert (await call(there, "conversation_status", conversation_id=conversation))["status"] == "open"
        assert (await call(there, "emotional_get_state", persona_id="aria"))["valence"] > 0.5


async def test_a_save_while_memories_are_being_written_is_consistent(client: Client) -> None:
    results: dict[str, Any] = {}

    async def write() -> None:
        for round_ in range(5):
            items = [
                {"content": f"Round {round_} fact {i}: the lighthouse has {i} steps."} for i in range(20)
            ]
            await call(client, "memory_store_batch", items=items)

    async def save() -> None:
        await anyio.sleep(0.05)
        results["saved"] = await call(client, "state_save", path="busy.pmstate")

    async with anyio.create_task_group() as group:
        group.start_soon(write)
        group.start_soon(save)
    saved = results["saved"]["counts"]["memories"]
    assert saved % 20 == 0  # whole batches only: the snapshot never sees half a transaction
    loaded = await call(client, "state_load", path="busy.pmstate", mode="replace")
    assert loaded["counts"]["memories"] == saved


def _archive_bytes(settings: Settings, name: str) -> bytes:
    return (settings.backup_dir / name).read_bytes()


def _write(settings: Settings, name: str, data: bytes) -> None:
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    (settings.backup_dir / name).write_bytes(data)


def _rezip(plain: bytes, change: Any) -> bytes:
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        parts = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    change(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _newer_manifest(parts: dict[str, bytes]) -> None:
    manifest = orjson.loads(parts["manifest.json"])
    parts["manifest.json"] = orjson.dumps({**manifest, "format_version": 99})


def _edited_database(parts: dict[str, bytes]) -> None:
    parts["persona.db"] = parts["persona.db"][:-1] + b"\x01"


async def test_bad_archives_are_refused_and_change_nothing(client: Client, settings: Settings) -> None:
    await _a_life(client)
    await call(client, "state_save", path="locked.pmstate", passphrase=PASSPHRASE)
    await call(client, "state_save", path="plain.pmstate")
    locked, plain = _archive_bytes(settings, "locked.pmstate"), _archive_bytes(settings, "plain.pmstate")
    flipped = bytearray(locked)
    flipped[-40] ^= 1
    header = bytearray(locked)
    header[locked.index(b'"n":') + 4] ^= 1
    cases = {
        "wrong passphrase": (locked, "not the passphrase", "passphrase is wrong"),
        "no passphrase": (locked, None, "encrypted"),
        "tampered body": (bytes(flipped), PASSPHRASE, "changed or cut short"),
        "tampered header": (bytes(header), PASSPHRASE, "header was changed"),
        "truncated encrypted": (locked[: len(locked) // 2], PASSPHRASE, "changed or cut short"),
        "truncated plain": (plain[: len(plain) // 2], None, "damaged or cut short"),
        "not an archive": (b"hello, I am a text file", None, "damaged or cut short"),
        "newer format": (_rezip(plain, _newer_manifest), None, "newer persona-mcp"),
        "edited part": (_rezip(plain, _edited_database), None, "sha256"),
    }
    await call(client, "persona_update", persona_id="kira", changes={"description": "After the saves."})
    before = _fingerprint(settings)
    for case, (data, passphrase, words) in cases.items():
        _write(settings, "bad.pmstate", data)
        arguments = {"path": "bad.pmstate", "mode": "replace"}
        if passphrase is not None:
            arguments["passphrase"] = passphrase
        message = await call_error(client, "state_load", **arguments)
        assert words in message, (case, message)
        assert _fingerprint(settings) == before, case
    assert "Invalid path" in await call_error(client, "state_load", path="../persona.db")
    assert "Invalid path" in await call_error(client, "state_save", path="/tmp/elsewhere.pmstate")
    assert "cannot be read" in await call_error(client, "state_load", path="missing.pmstate")
    assert "passphrase" in await call_error(client, "state_save", passphrase="short")


async def test_an_archive_from_an_older_schema_is_migrated_on_load(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    migrations = Path(__file__).parent.parent / "core" / "store" / "migrations"
    old = tmp_path / "old-migrations"
    old.mkdir()
    for script in sorted(migrations.glob("000[1-3]_*.sql")):
        shutil.copy(script, old)
    old_db = tmp_path / "old.db"
    await (await Database.open(old_db, migrations_dir=old)).close()
    with closing(sqlite3.connect(old_db)) as db, db:
        db.execute(
            "INSERT INTO personas (id, name, description, spec, version, created_at, updated_at) VALUES "
            "('wren', 'Wren', 'From an old backup.', ?, 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
            (orjson.dumps({"name": "Wren", "description": "From an old backup."}),),
        )
    data = pack({"app_version": "0.0.9", "schema_version": 3}, {"persona.db": old_db.read_bytes()}, None)
    _write(settings, "old.pmstate", data)
    await call(client, "state_load", path="old.pmstate")
    assert (await call(client, "persona_get", persona_id="wren"))["description"] == "From an old backup."


async def test_the_passphrase_never_reaches_the_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await call(client, "state_save", path="quiet.pmstate", passphrase=PASSPHRASE)
        await call_error(client, "state_load", path="quiet.pmstate", passphrase="a wrong one")
    assert PASSPHRASE not in caplog.text
    assert "a wrong one" not in caplog.text
