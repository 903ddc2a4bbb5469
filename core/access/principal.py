"""Who is calling: the principal every core operation acts for.

The front end names the principal of a request once (`acting_as`); the core reads it wherever it
checks access or records who wrote something (`acting`). Code that names no principal (the CLI,
scripts, background maintenance, tests that use the core directly) acts as the local owner, who
is an admin: the same single-user behaviour the project had before principals existed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from core.errors import Forbidden

__all__ = ["OWNER", "OWNER_NAME", "Principal", "PrincipalKind", "acting", "acting_as", "require_admin"]

logger = logging.getLogger(__name__)

OWNER_NAME = "owner"
PrincipalKind = Literal["local", "token", "oauth"]


@dataclass(frozen=True)
class Principal:
    """A caller: its name (also its default user id in chats and relationships), whether it is an
    admin, and how it proved who it is."""

    name: str
    admin: bool = False
    kind: PrincipalKind = "token"
    # Whether the shipped personas (no owner) are open to it for reading and chat: the server's
    # PERSONA_MCP_SHIPPED_PERSONAS setting, fixed when the principal is named for a request.
    sees_shipped: bool = True

    @property
    def is_owner(self) -> bool:
        """The local owner: stdio, the CLI, the single PERSONA_MCP_TOKEN, HTTP with no tokens."""
        return self.name == OWNER_NAME


OWNER = Principal(OWNER_NAME, admin=True, kind="local")

_acting: ContextVar[Principal] = ContextVar("persona_mcp_principal", default=OWNER)


def acting() -> Principal:
    """The principal the current operation acts for."""
    return _acting.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Run the enclosed code (and the tasks it starts) as `principal`."""
    token = _acting.set(principal)
    try:
        yield principal
    finally:
        _acting.reset(token)


def require_admin(doing: str) -> None:
    """Raise Forbidden unless the acting principal is an admin (keys, state, maintenance)."""
    who = acting()
    if not who.admin:
        logger.info("denied: %s is not an admin (%s)", who.name, doing)
        raise Forbidden(f"Permission denied: {doing} is for admins; principal {who.name!r} is not one.")
