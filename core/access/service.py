"""AccessService: principals and their tokens, persona grants, the audit log, and the checks the
other services make (see policy.py for the rule)."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from core.access.policy import Level, level_of, rank
from core.access.principal import OWNER_NAME, Principal, acting, require_admin
from core.access.repository import AccessRepository
from core.clock import Clock, iso, parse_iso
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.models import Persona
from core.store.port import Store

__all__ = [
    "TOKEN_PREFIX",
    "AccessService",
    "AuditEntry",
    "Grant",
    "PrincipalInfo",
    "WhoAmI",
    "hash_token",
]

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "pmcp_"
OAUTH_PREFIX = "oauth:"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token is 256 random bits, so no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Grant(BaseModel):
    """Access a principal holds to a persona it does not own."""

    persona_id: str
    principal: str
    level: Level = Field(description="read: see and chat; write: also change the persona.")
    granted_at: datetime
    granted_by: str


class PrincipalInfo(BaseModel):
    """A principal, as `token list` shows it (never its token)."""

    name: str
    admin: bool
    subject: str | None = Field(None, description="OAuth subject mapped to it, if any.")
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    grants: list[Grant] = Field(default_factory=list)
    owns: list[str] = Field(default_factory=list, description="Ids of the personas it made.")


class WhoAmI(BaseModel):
    """The caller as the server sees it."""

    principal: str
    admin: bool
    kind: str = Field(description="local (stdio, the CLI, the single PERSONA_MCP_TOKEN), token or oauth.")
    owns: list[str]
    grants: list[Grant]
    shipped_personas: bool = Field(description="Whether the shipped personas are open to it.")


class AuditEntry(BaseModel):
    """One deletion, purge or access change, and who made it."""

    at: datetime
    principal: str
    action: str
    target_kind: str
    target_id: str
    detail: str | None = None


def _grant(row: object) -> Grant:
    return Grant.model_validate({**dict(row), "granted_at": parse_iso(row["granted_at"])})  # type: ignore[call-overload, index]


class AccessService:
    """Principals, grants and the checks; every method acts for `acting()` unless told otherwise."""

    def __init__(self, db: Store, clock: Clock, shipped_for_all: bool = True) -> None:
        self._repo = AccessRepository(db)
        self._clock = clock
        self.shipped_for_all = shipped_for_all

    # -- principals and tokens ----------------------------------------------------------------

    @staticmethod
    def check_name(name: str, argument: str = "name") -> str:
        name = name.strip()
        if not re.match(NAME_PATTERN, name):
            raise InvalidInput(
                argument,
                name,
                "Name a principal with 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                "letter or digit, e.g. 'alice'.",
            )
        if name == OWNER_NAME:
            raise InvalidInput(
                argument, name, f"'{OWNER_NAME}' is the local owner (stdio); choose another name."
            )
        return name

    async def add(
        self, name: str, admin: bool = False, subject: str | None = None
    ) -> tuple[PrincipalInfo, str]:
        """A new principal and its token (returned once; only its hash is kept). A revoked name
        may be added again: it gets a new token and keeps what it owned."""
        require_admin("adding a principal")
        name = self.check_name(name)
        existing = await self._repo.principal(name)
        if existing is not None and existing["revoked_at"] is None:
            raise Conflict(
                f"Principal {name!r} already exists. Revoke it first (token revoke {name}) to issue a new "
                "token, or choose another name."
            )
        if subject is not None:
            holder = await self._repo.by_subject(subject)
            if holder is not None:
                raise Conflict(
                    f"OAuth subject {subject!r} is already mapped to principal {holder['name']!r}."
                )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {"name": name, "admin": int(admin), "token_hash": hash_token(token), "subject": subject}
        await self._repo.put_principal(row, iso(self._clock.now()), acting().name)
        info = await self.info(name)
        assert info is not None
        return info, token

    async def info(self, name: str) -> PrincipalInfo | None:
        row = await self._repo.principal(name)
        if row is None:
            return None
        return PrincipalInfo(
            name=row["name"],
            admin=bool(row["admin"]),
            subject=row["subject"],
            created_at=parse_iso(row["created_at"]),
            created_by=row["created_by"],
            revoked_at=parse_iso(row["revoked_at"]) if row["revoked_at"] else None,
            grants=[_grant(g) for g in await self._repo.grants(principal=name)],
            owns=await self._repo.owned(name),
        )

    async def list_principals(self) -> list[PrincipalInfo]:
        """Every principal made with a token, revoked ones too."""
        require_admin("listing principals")
        infos = [await self.info(row["name"]) for row in await self._repo.principals()]
        return [info for info in infos if info is not None]

    async def revoke(self, name: str) -> PrincipalInfo:
        """Revoke the principal's token at once (its data stays; `add` gives it a new token)."""
        require_admin("revoking a principal")
        if not await self._repo.revoke(name, iso(self._clock.now()), acting().name):
            row = await self._repo.principal(name)
            if row is None:
                known = ", ".join(r["name"] for r in await self._repo.principals()) or "none yet"
                raise NotFound("name", name, f"Principals: {known}.")
        info = await self.info(name)
        assert info is not None
        return info

    async def any_token(self) -> bool:
        return await self._repo.any_token()

    async def authenticate(self, token: str) -> Principal | None:
        """The principal holding this token, or None (unknown or revoked)."""
        row = await self._repo.by_token(hash_token(token))
        if row is None:
            return None
        return Principal(
            row["name"], admin=bool(row["admin"]), kind="token", sees_shipped=self.shipped_for_all
        )

    async def for_subject(self, subject: str) -> Principal:
        """The principal an OAuth subject acts as: the one mapped to it with `token add --subject`,
        else its own non-admin principal named `oauth:<subject>`."""
        row = await self._repo.by_subject(subject)
        if row is not None:
            return Principal(
                row["name"], admin=bool(row["admin"]), kind="oauth", sees_shipped=self.shipped_for_all
            )
        return Principal(OAUTH_PREFIX + subject, kind="oauth", sees_shipped=self.shipped_for_all)

    # -- grants -----------------------------------------------------------------------------

    async def set_grant(self, principal: str, persona: Persona, level: Level | None) -> list[Grant]:
        """Grant `level` on `persona` to `principal` (None takes the grant away); its grants after."""
        require_admin("granting access")
        if not principal.startswith(OAUTH_PREFIX):
            self.check_name(principal, "principal")
            if await self._repo.principal(principal) is None:
                known = ", ".join(r["name"] for r in await self._repo.principals()) or "none yet"
                raise NotFound(
                    "principal", principal, f"Add it with `persona-mcp token add`. Principals: {known}."
                )
        await self._repo.put_grant(persona.id, principal, level, iso(self._clock.now()), acting().name)
        return [_grant(row) for row in await self._repo.grants(principal=principal)]

    async def grants(self, principal: str | None = None, persona_id: str | None = None) -> list[Grant]:
        require_admin("listing grants")
        return [_grant(row) for row in await self._repo.grants(principal, persona_id)]

    async def whoami(self) -> WhoAmI:
        who = acting()
        return WhoAmI(
            principal=who.name,
            admin=who.admin,
            kind=who.kind,
            owns=await self._repo.owned(who.name),
            grants=[_grant(row) for row in await self._repo.grants(principal=who.name)],
            shipped_personas=who.admin or who.sees_shipped,
        )

    async def audit_log(self, limit: int = 50, principal: str | None = None) -> list[AuditEntry]:
        require_admin("reading the audit log")
        rows = await self._repo.audit_log(limit, principal)
        return [AuditEntry.model_validate({**dict(row), "at": parse_iso(row["at"])}) for row in rows]

    # -- checks -----------------------------------------------------------------------------

    async def level(self, persona: Persona, who: Principal | None = None) -> Level | None:
        """What `who` (default: the acting principal) may do with `persona`; None: not see it."""
        who = who or acting()
        mine = who.admin or persona.owner == who.name  # no grant to read: it may do everything
        grant = None if mine else await self._repo.grant(persona.id, who.name)
        return level_of(who, persona.owner, grant)

    async def visible(self, persona: Persona) -> bool:
        return await self.level(persona) is not None

    async def visible_among(self, personas: Sequence[Persona]) -> list[Persona]:
        """Those of `personas` the acting principal may see, with its grants read once."""
        who = acting()
        if who.admin:
            return list(personas)
        grants = {row["persona_id"]: row["level"] for row in await self._repo.grants(principal=who.name)}
        return [p for p in personas if level_of(who, p.owner, grants.get(p.id)) is not None]

    async def require(self, persona: Persona, need: Level, doing: str) -> None:
        """Raise Forbidden unless the acting principal holds `need` on a persona it can see
        (callers have already answered NotFound for one it cannot)."""
        have = await self.level(persona)
        if rank(have) < rank(need):
            who = acting()
            logger.info("denied: %s may not %s (persona %s, has %s)", who.name, doing, persona.id, have)
            needed = {"write": "write access", "own": "to own it"}.get(need, "access")
            raise Forbidden(
                f"Permission denied: {doing} on persona {persona.id!r} needs {needed}; principal "
                f"{who.name!r} has {have or 'none'}. An admin can grant it (persona-mcp grant)."
            )

    async def require_change(self, persona: Persona, created_by: str, doing: str) -> None:
        """Raise Forbidden unless the acting principal may change a memory of `persona` that
        `created_by` stored: one it stored itself, or any of a persona it may write."""
        if created_by != acting().name:
            await self.require(persona, "write", doing)

    @staticmethod
    def user_id(given: str | None, argument: str = "user_id") -> str | None:
        """The user a chat or conversation is with: the caller itself unless an admin names
        someone else. The local owner's default stays the unnamed user (`user:default`), as
        before principals existed."""
        who = acting()
        if given is None or given == who.name:
            return None if who.is_owner else who.name
        if not who.admin:
            logger.info("denied: %s may not speak as user %r", who.name, given)
            raise InvalidInput(
                argument, given, f"You may speak only as yourself: leave it out, or pass {who.name!r}."
            )
        return given

    def denied(self, what: str, value: str) -> None:
        """Log an access that was answered as if `value` did not exist."""
        logger.info("denied: %s may not see %s %s", acting().name, what, value)
