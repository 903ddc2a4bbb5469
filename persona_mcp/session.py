"""Per-session state (the active persona) for tools, whatever the transport.

A handshake-era connection (stdio, legacy streamable HTTP with Mcp-Session-Id, in-memory
'legacy' clients) keeps a Connection object across requests, and its `state` holds the session's
values. Under the 2026-07-28 protocol every request arrives on a fresh single-exchange connection,
so there is no session to hang state on; there each principal (core/access: a token's holder, an
OAuth subject, the local owner) has its own scope, kept in the database (PersonaService.active_of),
so two principals never see each other's switch and every worker on one store sees the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from core.access import acting
from core.app import PersonaCore

__all__ = [
    "AppState",
    "Scope",
    "active_persona",
    "app_state",
    "core_of",
    "session_values",
    "set_active_persona",
]

Scope = Literal["connection", "principal"]
ACTIVE_PERSONA = "active_persona"


@dataclass
class AppState:
    """What the server's lifespan yields: the open core."""

    core: PersonaCore


def app_state(ctx: Context) -> AppState:
    """The lifespan object of the running server."""
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):
        raise RuntimeError("persona-mcp tools need the server built by persona_mcp.build_server")
    return state


def core_of(ctx: Context) -> PersonaCore:
    """The open PersonaCore."""
    return app_state(ctx).core


def session_values(ctx: Context) -> dict[str, Any] | None:
    """The mutable mapping of this request's handshake-era session; None for a sessionless
    request (its principal's values live in the database)."""
    # The SDK exposes a request's Connection only privately; it is the one object that lives as
    # long as a handshake-era session, so read it here and nowhere else.
    connection = getattr(ctx.request_context.session, "_connection", None)
    if connection is not None and connection.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        state: dict[str, Any] = connection.state
        return state
    return None


async def active_persona(ctx: Context) -> str | None:
    """The persona id this session (or, sessionless, this principal) switched to, if any."""
    values = session_values(ctx)
    if values is None:
        return await core_of(ctx).personas.active_of(acting().name)
    active = values.get(ACTIVE_PERSONA)
    return active if isinstance(active, str) else None


async def set_active_persona(ctx: Context, persona_id: str) -> Scope:
    """Make `persona_id` this session's active persona; returns the scope it applies to."""
    values = session_values(ctx)
    if values is None:
        await core_of(ctx).personas.set_active(acting().name, persona_id)
        return "principal"
    values[ACTIVE_PERSONA] = persona_id
    return "connection"
