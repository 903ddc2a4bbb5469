"""`persona-mcp backup` and `persona-mcp restore`: state_save and state_load from the command line,
on the data folder directly (safe while a server runs on it). Any path is allowed here; the tools
are confined to the state folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.app import open_store
from core.clock import Clock
from core.config import Settings
from core.errors import InvalidInput
from core.files import read_limited
from core.state import StateService
from persona_mcp.render import render
from persona_mcp.transfer_cli import run_async

__all__ = ["add_commands", "run_backup", "run_restore"]

_MAX_PASSPHRASE_FILE = 4096

PASSPHRASE_ENV = "PERSONA_MCP_BACKUP_PASSPHRASE"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the backup and restore subcommands."""
    backup = commands.add_parser(
        "backup", help="save everything to one versioned (optionally encrypted) archive"
    )
    backup.add_argument(
        "-o", "--output", type=Path, help="archive to write (default: <state dir>/state-<time>.pmstate)"
    )
    restore = commands.add_parser("restore", help="load an archive made by backup or state_save")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--mode", choices=("merge", "replace"), default="merge")
    for command in (backup, restore):
        command.add_argument(
            "--passphrase-file", type=Path, help=f"file holding the passphrase (or set {PASSPHRASE_ENV})"
        )


def _passphrase(args: argparse.Namespace) -> str | None:
    if args.passphrase_file is not None:
        data = read_limited(args.passphrase_file, _MAX_PASSPHRASE_FILE, "--passphrase-file")
        try:
            return data.decode("utf-8").strip("\r\n")
        except UnicodeDecodeError:
            raise InvalidInput(
                "--passphrase-file", str(args.passphrase_file), "It is not UTF-8 text."
            ) from None
    return os.environ.get(PASSPHRASE_ENV) or None


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    db = await open_store(settings)
    try:
        result = await StateService(db, settings, Clock()).save(args.output, _passphrase(args))
    finally:
        await db.close()
    print(render(result))
    return 0


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    db = await open_store(settings)
    try:
        result = await StateService(db, settings, Clock()).load(args.archive, _passphrase(args), args.mode)
    finally:
        await db.close()
    print(render(result))
    return 0


def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp backup`."""
    return run_async(_backup, settings, args)


def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp restore ARCHIVE`."""
    return run_async(_restore, settings, args)
