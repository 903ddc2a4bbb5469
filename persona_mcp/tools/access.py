"""access_* tools: who the caller is, and (admins) principals, grants and the audit log. Tokens
are made and revoked with `persona-mcp token` on the server's machine, never through a tool (a
token in a tool result would pass through a model's context)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from core.access import AuditEntry, Grant, PrincipalInfo, WhoAmI, require_admin
from persona_mcp.session import core_of
from persona_mcp.tools import DESTRUCTIVE, READ_ONLY, PersonaId, ToolDef, respond

NAMESPACE = "access"

PrincipalName = Annotated[
    str, Field(min_length=1, max_length=140, description="A principal's name, e.g. 'alice' or 'oauth:<sub>'.")
]


class GrantList(BaseModel):
    """A principal's grants after a change."""

    principal: str
    grants: list[Grant]


class PrincipalList(BaseModel):
    """Every principal made with `persona-mcp token add` (revoked ones too)."""

    principals: list[PrincipalInfo]


class AuditLog(BaseModel):
    """Deletions, purges and access changes, newest first."""

    entries: list[AuditEntry]


async def whoami(ctx: Context) -> Annotated[CallToolResult, WhoAmI]:
    """Which principal this connection acts as, whether it is an admin, the personas it owns and
    the grants it holds."""
    return respond(await core_of(ctx).access.whoami())


async def grant(
    ctx: Context,
    principal: PrincipalName,
    persona_id: PersonaId,
    level: Annotated[
        Literal["read", "write", "none"],
        Field(description="read: see and chat; write: also change the persona; none: take access away."),
    ],
) -> Annotated[CallToolResult, GrantList]:
    """Admins: give a principal access to a persona it does not own, or take it away."""
    core = core_of(ctx)
    require_admin("access_grant")  # before the lookup: a non-admin hears this, not "no persona"
    persona = await core.personas.get(persona_id)
    grants = await core.access.set_grant(principal, persona, None if level == "none" else level)
    return respond(GrantList(principal=principal, grants=grants))


async def principals(ctx: Context) -> Annotated[CallToolResult, PrincipalList]:
    """Admins: every principal, its grants and the personas it owns (never a token)."""
    return respond(PrincipalList(principals=await core_of(ctx).access.list_principals()))


async def audit(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=500, description="Most entries to return.")] = 50,
    principal: Annotated[str | None, Field(max_length=140, description="Only this principal's.")] = None,
) -> Annotated[CallToolResult, AuditLog]:
    """Admins: who deleted, purged, granted or revoked what, newest first."""
    return respond(AuditLog(entries=await core_of(ctx).access.audit_log(limit, principal)))


TOOLS = (
    ToolDef("whoami", whoami, READ_ONLY),
    ToolDef("grant", grant, DESTRUCTIVE),
    ToolDef("principals", principals, READ_ONLY),
    ToolDef("audit", audit, READ_ONLY),
)
