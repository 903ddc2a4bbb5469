"""`persona-mcp import FILE` and `persona-mcp export ID`: the same import and export as the
persona_import / persona_export tools, on the data folder directly (safe beside a running server:
SQLite serialises the writers)."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from core.app import PersonaCore
from core.config import Settings
from core.errors import InvalidInput, PersonaMCPError
from core.files import read_limited
from core.interop.documents import EXPORT_FORMATS, IMPORT_FORMATS, parse
from core.interop.histories import HISTORY_FORMATS, detect_history, read_history
from core.interop.safe_load import MAX_CONTENT_BYTES, load_json
from core.world_info import lorebook_shape
from persona_mcp.render import render

__all__ = ["add_commands", "run_async", "run_export", "run_import"]

_EXTENSIONS = {
    "card_v2": "json",
    "card_v3": "json",
    "json": "json",
    "yaml": "yaml",
    "png": "png",
    "charx": "charx",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the import and export subcommands."""
    imp = commands.add_parser(
        "import",
        help="import a persona file (character card JSON, PNG or CharX; YAML; JSON) or a lorebook "
        "(SillyTavern World Info, lorebook_v3)",
    )
    imp.add_argument("file", type=Path, help="the file to import")
    imp.add_argument(
        "--attach",
        action="append",
        metavar="PERSONA",
        help="a lorebook: attach it to this persona (repeat for several)",
    )
    imp.add_argument(
        "--format", choices=(*IMPORT_FORMATS, *HISTORY_FORMATS), default="auto", help="default: detect it"
    )
    imp.add_argument(
        "--persona",
        metavar="PERSONA",
        help="history (a SillyTavern chat, a ChatGPT or Claude export, memory.jsonl): the persona it goes to",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="history: report what would be created, change nothing"
    )
    imp.add_argument("--id", dest="persona_id", help="store it under this id")
    imp.add_argument("--name", help="store it under this name")
    imp.add_argument("--merge", action="store_true", help="merge into an existing persona of that id or name")
    exp = commands.add_parser(
        "export", help="export a persona as a character card (JSON, PNG or CharX), YAML or JSON"
    )
    exp.add_argument("persona_id", help="the persona to export")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="yaml")
    exp.add_argument("--state", action="store_true", help="include feelings, relationships and memories")
    exp.add_argument("--card-spec", choices=("v2", "v3"), default="v3", help="the card inside a PNG")
    exp.add_argument("--image", type=Path, help="for png: the PNG to put the card in")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: stdout; <id>.png for png)")


def _content(path: Path) -> str:
    data = read_limited(path, MAX_CONTENT_BYTES, "FILE")
    if data.startswith((b"\x89PNG", b"PK\x03\x04")):  # a PNG card, a CharX (zip)
        return base64.b64encode(data).decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            "FILE", str(path), "It is neither UTF-8 text (a JSON or YAML card) nor a PNG or CharX card."
        ) from None


async def _import_lorebook(settings: Settings, args: argparse.Namespace, book: dict[str, Any]) -> int:
    work = lambda core: core.lorebook_files.import_file(book, args.name, None, args.attach)  # noqa: E731
    print(render(await _on_core(settings, work, background=False)))
    return 0


def _lorebook_file(content: str) -> dict[str, Any] | None:
    """The file's document, read once, when it is a lorebook file (None: something else)."""
    if not content.lstrip().startswith("{"):
        return None
    try:
        document = load_json(content, "FILE")
    except InvalidInput:
        return None
    return document if lorebook_shape(document) else None


async def _import_history(settings: Settings, args: argparse.Namespace, content: str) -> int:
    if not args.persona:
        raise InvalidInput("--persona", None, "name the persona this history goes to, e.g. --persona aria.")
    fmt = args.format if args.format in HISTORY_FORMATS else None
    history = read_history(content, fmt)  # a bad file fails here, before the database opens
    work = lambda core: core.histories.apply(history, args.persona, args.dry_run)  # noqa: E731
    print(render(await _on_core(settings, work)))
    return 0


async def _on_core(
    settings: Settings, work: Callable[[PersonaCore], Awaitable[BaseModel]], background: bool = True
) -> BaseModel:
    """Open the data folder, do `work` (with the background loading the embedder that storing
    memories needs), close it; a refused input is raised as itself, not in an ExceptionGroup."""
    core = await PersonaCore.open(settings)
    outcome: list[BaseModel | PersonaMCPError] = []
    try:
        async with anyio.create_task_group() as group:
            if background:
                group.start_soon(core.run_background)
            try:
                outcome.append(await work(core))
            except PersonaMCPError as exc:
                outcome.append(exc)
            finally:
                group.cancel_scope.cancel()
    finally:
        await core.close()
    result = outcome[0]
    if isinstance(result, PersonaMCPError):
        raise result
    return result


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    content = _content(args.file)
    if args.format in HISTORY_FORMATS or (args.format == "auto" and detect_history(content)):
        return await _import_history(settings, args, content)
    if args.dry_run or args.persona:
        raise InvalidInput(
            "--dry-run" if args.dry_run else "--persona",
            str(args.file),
            "only history files (a SillyTavern chat, a ChatGPT or Claude export, memory.jsonl) take it.",
        )
    book = _lorebook_file(content) if args.format == "auto" else None
    if book is not None:
        return await _import_lorebook(settings, args, book)
    if args.attach:
        raise InvalidInput("--attach", args.attach, "only a lorebook file is attached to personas.")
    parsed = parse(content, args.format)  # a bad file fails here, before the database opens
    result = await _on_core(
        settings,
        lambda core: core.transfer.import_parsed(parsed, args.persona_id, args.merge, args.name),
        background=parsed.state is not None,  # only a file with memories needs the embedder
    )
    print(render(result))
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    image = (
        None
        if args.image is None
        else base64.b64encode(read_limited(args.image, MAX_CONTENT_BYTES, "--image")).decode("ascii")
    )
    core = await PersonaCore.open(settings)
    try:
        result = await core.transfer.export_persona(
            args.persona_id, args.format, args.state, args.card_spec, image
        )
    finally:
        await core.close()
    output: Path | None = args.output
    if result.encoding == "base64":
        output = output or Path(f"{result.persona_id}.{_EXTENSIONS[args.format]}")
        output.write_bytes(base64.b64decode(result.content))
    elif output is not None:
        output.write_text(result.content, encoding="utf-8")
    else:
        sys.stdout.write(result.content if result.content.endswith("\n") else result.content + "\n")
    if output is not None:
        print(
            f"wrote {result.persona_id} as {result.format} to {output} ({result.size:,} bytes)",
            file=sys.stderr,
        )
    return 0


def run_async(action: object, settings: Settings, args: argparse.Namespace) -> int:
    """Run a command's coroutine; a refused input or an unreadable file is a message and exit 2."""
    try:
        return int(anyio.run(action, settings, args))  # type: ignore[arg-type]
    except PersonaMCPError as exc:
        print(f"persona-mcp: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"persona-mcp: {exc}", file=sys.stderr)
        return 2


def run_import(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp import FILE`."""
    return run_async(_import, settings, args)


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp export ID`."""
    return run_async(_export, settings, args)
