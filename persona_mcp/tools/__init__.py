"""Tool registration. Each namespace module lists its tools in one `TOOLS` table of
(name, function, annotations); the server prefixes the namespace with the configured separator,
so `persona.list` and `persona_list` are one setting apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from persona_mcp.render import render

__all__ = ["DESTRUCTIVE", "READ_ONLY", "SESSION", "WRITE", "ToolDef", "respond"]

# Annotations are promises to clients: keep them true.
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Adds data; calling twice adds (or conflicts) twice.
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Overwrites or removes existing data.
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)
# Changes only this session's state, and the same call twice leaves the same state.
SESSION = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


@dataclass(frozen=True)
class ToolDef:
    """One tool of a namespace: its short name, the function and its annotations."""

    name: str
    fn: Callable[..., Any]
    annotations: ToolAnnotations


def respond(result: BaseModel) -> CallToolResult:
    """A tool result: the model as structured content plus a short text rendering of it."""
    return CallToolResult(
        content=[TextContent(type="text", text=render(result))],
        structured_content=result.model_dump(mode="json"),
    )
