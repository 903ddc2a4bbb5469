"""`persona-mcp doctor`: check what the server depends on and print a readable report."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from core import __version__
from core.app import PersonaCore
from core.config import Settings
from core.embeddings import load_embedder
from core.errors import PersonaMCPError, Unavailable
from core.files import private_folder
from core.llm import probe_ollama
from core.store import damaged_message

__all__ = ["run_doctor"]

Check = tuple[bool, str]


async def _data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    try:
        private_folder(path)
    except OSError as exc:
        return (
            False,
            f"{path} cannot be created: {exc.strerror}. Set PERSONA_MCP_DATA_DIR to a writable folder.",
        )
    if not os.access(path, os.W_OK):
        return False, f"{path} is not writable. Set PERSONA_MCP_DATA_DIR to a writable folder."
    return True, f"{path} (writable, private)"


async def _database(settings: Settings) -> Check:
    path = settings.database_path
    try:
        core = await PersonaCore.open(settings)
    except PersonaMCPError as exc:
        return False, exc.message
    except (OSError, sqlite3.Error) as exc:
        return False, f"{path} cannot be opened ({exc}). Move it aside, or restore a backup."
    try:
        integrity = await core.db.scalar("PRAGMA quick_check")
        version = await core.db.schema_version()
        count = len(await core.personas.list_personas(include_archived=True))
    except PersonaMCPError as exc:
        return False, exc.message
    except sqlite3.Error as exc:
        return False, damaged_message(path, str(exc))
    finally:
        await core.close()
    if integrity != "ok":
        return False, damaged_message(path, f"integrity check: {integrity}")
    return True, f"{path}: schema v{version}, {count} personas, integrity ok"


async def _embedder(settings: Settings) -> Check:
    try:
        choice = await load_embedder(settings.embedder, settings.embedding_model, settings.ollama_host)
    except Unavailable as exc:
        return False, exc.message
    skipped = "".join(f"; skipped {name}: {reason}" for name, reason in choice.skipped.items())
    dimensions = choice.embedder.dimension
    return True, f"{choice.embedder.model_id} ({dimensions} dimensions, via {choice.provider}){skipped}"


async def _ollama(settings: Settings) -> Check:
    probe = await probe_ollama(settings.ollama_host)
    return probe.reachable, (f"{settings.ollama_host} {probe.detail}" if probe.reachable else probe.detail)


_CHECKS: tuple[tuple[str, Callable[[Settings], Awaitable[Check]], bool], ...] = (
    ("data folder", _data_dir, True),
    ("database", _database, True),
    ("embedder", _embedder, False),
    ("ollama", _ollama, False),
)


async def run_doctor(settings: Settings) -> int:
    """Print one line per check; exit 1 if a required check failed."""
    print(f"persona-mcp {__version__} doctor")
    print(
        f"  config file: {os.environ.get('PERSONA_MCP_CONFIG') or '(none)'}; package: {Path(__file__).parent}"
    )
    failed_required = False
    for name, check, required in _CHECKS:
        ok, detail = await check(settings)
        mark = "ok  " if ok else ("FAIL" if required else "warn")
        failed_required |= required and not ok
        print(f"  [{mark}] {name:<12} {detail}")
    print("Everything required is in place." if not failed_required else "Fix the FAIL lines above.")
    return 1 if failed_required else 0
