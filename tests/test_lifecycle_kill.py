"""A process killed while pruning leaves the old state or the new one, never half of each."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from core.app import PersonaCore
from core.clock import Clock
from core.config import Settings, load_settings
from core.memory import MemoryDraft

pytestmark = pytest.mark.slow

MEMORIES = 20_000
PRUNER = """
import sys
from pathlib import Path

import anyio

from core.app import PersonaCore
from core.config import load_settings


async def main() -> None:
    settings = load_settings(
        {}, data_dir=Path(sys.argv[1]), seed_personas=False, prune_min_keep=0, prune_max_fraction=1.0
    )
    core = await PersonaCore.open(settings)
    print("go", flush=True)
    result = await core.lifecycle.prune("bulk")
    print("done", len(result.pruned), flush=True)
    await core.close()


anyio.run(main)
"""


def _settings(folder: Path) -> Settings:
    return load_settings(
        {}, data_dir=folder, seed_personas=False, embedder="ollama", ollama_host="http://127.0.0.1:9"
    )


async def build_weak_memories(folder: Path) -> None:
    """A persona with MEMORIES weak, unimportant memories (no vectors: nothing but SQLite matters here)."""
    clock = Clock()
    core = await PersonaCore.open(_settings(folder), clock)
    try:
        await core.personas.create({"name": "Bulk"}, persona_id="bulk")
        await core.memories.semantic.slot.load("ollama", None, "http://127.0.0.1:9")  # no embedder
        for start in range(0, MEMORIES, 2_000):
            drafts = [
                MemoryDraft(content=f"Note {i}: an ordinary day", persona_id="bulk", importance=0.1)
                for i in range(start, start + 2_000)
            ]
            await core.memories.store_batch(drafts)
        clock.advance(timedelta(days=90))
        await core.lifecycle.decay()
    finally:
        await core.close()


def _archived(folder: Path) -> tuple[int, str]:
    with sqlite3.connect(folder / "persona.db") as db:
        archived = db.execute("SELECT count(*) FROM memories WHERE archived_at IS NOT NULL").fetchone()[0]
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return int(archived), str(integrity)


def test_a_kill_during_pruning_leaves_the_old_or_the_new_state(tmp_path: Path) -> None:
    template = tmp_path / "template"
    anyio.run(build_weak_memories, template)
    script = tmp_path / "prune.py"
    script.write_text(PRUNER)
    root = Path(__file__).resolve().parents[1]

    def run(folder: Path, kill_after: float | None) -> tuple[str, float]:
        """Start a pruner; kill it `kill_after` seconds after it starts pruning (or let it finish).
        Returns its output and the seconds from the start of pruning to its end."""
        process = subprocess.Popen(
            [sys.executable, str(script), str(folder)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "go"
        started = time.monotonic()
        if kill_after is not None:
            time.sleep(kill_after)
            process.kill()
        output = process.stdout.read()
        process.wait(timeout=60)
        return output, time.monotonic() - started

    full = tmp_path / "full"
    shutil.copytree(template, full)
    output, duration = run(full, None)
    assert output.startswith(f"done {MEMORIES}")
    assert _archived(full) == (MEMORIES, "ok")

    outcomes = []
    for step in range(6):  # kills spread over the time a whole prune takes
        folder = tmp_path / f"kill{step}"
        shutil.copytree(template, folder)
        run(folder, duration * step / 5)
        archived, integrity = _archived(folder)
        assert integrity == "ok"
        assert archived in (0, MEMORIES), f"half a prune survived a kill: {archived} archived"
        outcomes.append(archived)
    assert 0 in outcomes  # at least one kill landed before the commit
    print(f"prune of {MEMORIES}: {duration:.2f}s; archived after kills: {outcomes}")
