"""`persona-mcp token ...`: principals, their tokens and their grants, on the data folder directly
(safe while a server runs on it: a running server sees a new or revoked token on its next request).

    token add NAME [--admin] [--personas ID,...] [--write] [--subject SUB]
    token list | token revoke NAME | token grant NAME ID... [--write] | token ungrant NAME ID...
    token audit [--limit N]

`token add` prints the new token alone on the last line of stdout: it is shown once, and only
its hash is kept."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from core.access import AccessService, Level, PrincipalInfo
from core.app import open_store
from core.clock import Clock
from core.config import Settings
from core.emotions import EmotionService
from core.errors import InvalidInput, NotFound
from core.models import Persona
from core.personas import PersonaLibrary, PersonaService
from core.store import PersonaRepository, Store
from persona_mcp.transfer_cli import run_async

__all__ = ["add_token_commands", "run_token"]


def add_token_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `token` and its subcommands."""
    token = commands.add_parser("token", help="principals (who may use an HTTP server), tokens and grants")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="make a principal and print its token (last line, shown once)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may do everything, as the local owner")
    add.add_argument("--personas", default="", help="comma-separated persona ids to grant it")
    add.add_argument("--write", action="store_true", help="grant --personas read+write (default: read)")
    add.add_argument("--subject", help="an OAuth subject (sub claim) that acts as this principal")
    actions.add_parser("list", help="every principal, its grants and the personas it owns")
    revoke = actions.add_parser("revoke", help="revoke a principal's token at once")
    revoke.add_argument("name")
    for verb, text in (("grant", "give a principal access to personas"), ("ungrant", "take it away")):
        command = actions.add_parser(verb, help=text)
        command.add_argument("name")
        command.add_argument("persona_ids", nargs="+", metavar="PERSONA_ID")
        if verb == "grant":
            command.add_argument("--write", action="store_true", help="read+write (default: read)")
    audit = actions.add_parser("audit", help="recent deletions, purges and access changes")
    audit.add_argument("--limit", type=int, default=50)


def _describe(info: PrincipalInfo) -> str:
    role = "admin" if info.admin else "principal"
    state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
    grants = ", ".join(f"{g.persona_id} ({g.level})" for g in info.grants) or "none"
    line = f"{info.name}: {role}, {state}; grants: {grants}; owns: {', '.join(info.owns) or 'none'}"
    return line + (f"; OAuth subject {info.subject}" if info.subject else "")


async def _personas(db: Store, ids: Sequence[str]) -> list[Persona]:
    repository, found = PersonaRepository(db), []
    for persona_id in ids:
        persona = await repository.get(persona_id)
        if persona is None:
            known = ", ".join(await repository.ids()) or "none"
            raise NotFound("persona_id", persona_id, f"Existing personas: {known}.")
        found.append(persona)
    return found


def _ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if text.strip() and not ids:
        raise InvalidInput("--personas", text, "Give persona ids separated by commas, e.g. aria,kira.")
    return ids


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    db = await open_store(settings)
    try:
        clock = Clock()
        access = AccessService(db, clock, settings.shipped_personas == "everyone")
        if settings.seed_personas:  # a first command on a new folder sees aria and kira as a server would
            emotions = EmotionService(db, clock, 60.0, 60.0, access)
            await PersonaService(
                db, PersonaLibrary(), clock, settings.default_persona, emotions, access
            ).seed()
        action = args.token_command
        if action == "add":
            personas = await _personas(db, _ids(args.personas))
            info, token = await access.add(args.name, args.admin, args.subject)
            for persona in personas:
                await access.set_grant(info.name, persona, "write" if args.write else "read")
            print(_describe(await access.info(info.name) or info))
            print(
                "The token is shown once (only its hash is stored). Send it as: Authorization: Bearer <token>"
            )
            print(token)
        elif action == "list":
            infos = await access.list_principals()
            print(
                "\n".join(_describe(info) for info in infos) or "No principals yet: token add NAME makes one."
            )
        elif action == "revoke":
            print(_describe(await access.revoke(args.name)))
        elif action in ("grant", "ungrant"):
            level: Level | None = None if action == "ungrant" else ("write" if args.write else "read")
            for persona in await _personas(db, args.persona_ids):
                await access.set_grant(args.name, persona, level)
            changed = await access.info(args.name)
            print(_describe(changed) if changed else f"{args.name}: grants changed")
        else:
            for entry in await access.audit_log(max(1, args.limit)):
                detail = f" ({entry.detail})" if entry.detail else ""
                print(
                    f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.principal} {entry.action} "
                    f"{entry.target_kind} {entry.target_id}{detail}"
                )
    finally:
        await db.close()
    return 0


def run_token(settings: Settings, args: argparse.Namespace) -> int:
    """`persona-mcp token ACTION ...`."""
    return run_async(_token, settings, args)
