"""state_* tools: save the whole state to an archive, load one back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field, SecretStr

from core.errors import InvalidInput
from core.state import LoadResult, SaveResult
from persona_mcp.session import core_of
from persona_mcp.tools import DESTRUCTIVE, WRITE, ToolDef, respond

NAMESPACE = "state"

Passphrase = Annotated[
    SecretStr | None,
    Field(
        min_length=8,
        max_length=1024,
        description="Encrypt with this (AES-256-GCM, key by scrypt); never stored or logged.",
    ),
]


def _inside(ctx: Context, path: str, argument: str) -> Path:
    """A path the tool may use: a file inside the state folder (PERSONA_MCP_STATE_DIR), never the
    folder itself or a folder in it. A client cannot make the server read or write files anywhere
    else."""
    folder = core_of(ctx).settings.backup_dir.resolve()
    fix = f"Archives are files in {folder} (PERSONA_MCP_STATE_DIR): give a file name such as 'mine.pmstate'."
    if not path.strip() or any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidInput(argument, path, fix)
    target = (folder / path).resolve()
    if target == folder or not target.is_relative_to(folder) or target.is_dir():
        raise InvalidInput(argument, path, fix)
    return target


async def save(
    ctx: Context,
    path: Annotated[
        str | None,
        Field(max_length=500, description="File name in the state folder; default: state-<time>.pmstate."),
    ] = None,
    passphrase: Passphrase = None,
) -> Annotated[CallToolResult, SaveResult]:
    """Save everything to one versioned archive: a consistent snapshot taken while serving, a
    sha256 per part, encrypted when given a passphrase."""
    secret = passphrase.get_secret_value() if passphrase else None
    target = None if path is None else _inside(ctx, path, "path")
    return respond(await core_of(ctx).state.save(target, secret))


async def load(
    ctx: Context,
    path: Annotated[str, Field(min_length=1, max_length=500, description="Archive in the state folder.")],
    passphrase: Passphrase = None,
    mode: Annotated[
        Literal["merge", "replace"],
        Field(
            description="merge: keep the newer of each row, add what is missing; replace: become the archive."
        ),
    ] = "merge",
) -> Annotated[CallToolResult, LoadResult]:
    """Load a state_save archive: all is checked first (passphrase, checksums, versions,
    integrity), then merged or replaced in one transaction."""
    target = _inside(ctx, path, "path")
    secret = passphrase.get_secret_value() if passphrase else None
    return respond(await core_of(ctx).state.load(target, secret, mode))


TOOLS = (
    ToolDef("save", save, WRITE),
    ToolDef("load", load, DESTRUCTIVE),
)
