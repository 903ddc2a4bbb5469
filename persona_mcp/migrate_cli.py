"""`persona-mcp migrate --to TARGET`: move the whole store between engines.

    persona-mcp migrate --to postgresql://user:password@host:5432/name   # the data folder -> PostgreSQL
    PERSONA_MCP_DATABASE_URL=postgresql://... persona-mcp migrate --to ./folder   # and back

The source is the store the settings name (PERSONA_MCP_DATABASE_URL when set, else the data
folder); the target must be empty. Every table is compared (rows and checksums) before it says
done."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import Settings
from core.errors import InvalidInput
from persona_mcp.transfer_cli import run_async

if TYPE_CHECKING:
    from core.store.postgres.transfer import MigrationReport

__all__ = ["add_migrate_command", "run_migrate"]


def add_migrate_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `migrate`."""
    migrate = commands.add_parser(
        "migrate",
        help="copy everything from the data folder into PostgreSQL, or from PostgreSQL into a new folder",
    )
    migrate.add_argument(
        "--to",
        required=True,
        metavar="TARGET",
        help="a postgresql:// URL (from the data folder), or a new folder (from PERSONA_MCP_DATABASE_URL)",
    )


def _is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from core.store.postgres.transfer import postgres_to_sqlite, sqlite_to_postgres

    target: str = args.to
    source_url = settings.database_url.get_secret_value() if settings.database_url else None
    if _is_url(target):
        if source_url is not None:
            raise InvalidInput(
                "--to",
                "postgresql://...",
                "The source is already PostgreSQL (PERSONA_MCP_DATABASE_URL): unset it to migrate the "
                "data folder, or give a folder to copy PostgreSQL into.",
            )
        report = await sqlite_to_postgres(settings.database_path, target, settings.fts_config)
    else:
        if source_url is None:
            raise InvalidInput(
                "--to",
                target,
                "Give a postgresql:// URL to copy the data folder into, or set PERSONA_MCP_DATABASE_URL "
                "to copy that PostgreSQL database into this folder.",
            )
        report = await postgres_to_sqlite(source_url, Path(target))
    print(_render(report))
    return 0


def _render(report: MigrationReport) -> str:
    lines = [f"copied {report.source} -> {report.target}", "", "| table | rows | checksum (both sides) |"]
    lines.append("|---|---|---|")
    lines += [f"| {table} | {rows} | {report.checksums[table]} |" for table, rows in report.rows.items()]
    total = sum(report.rows.values())
    lines += ["", f"{total} rows in {len(report.rows)} tables, every table the same on both sides."]
    if report.target.endswith("persona.db"):
        lines.append("The new folder's vector index is built when a server first starts on it.")
    return "\n".join(lines)


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp migrate --to TARGET`."""
    if not _is_url(args.to):
        args.to = str(Path(args.to).expanduser())
    return run_async(_migrate, settings, args)
