"""Tool registration. Each namespace module lists its tools in one `TOOLS` table of
(name, function, annotations); the server prefixes the namespace with the configured separator,
so `persona_list` and `persona_list` are one setting apart."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from core.config import Settings
from persona_mcp import render_interop, render_social  # noqa: F401  (register their renderings)
from persona_mcp.render import render

__all__ = [
    "CHAT_PROFILE",
    "DESTRUCTIVE",
    "READ_ONLY",
    "SESSION",
    "WRITE",
    "AllPersonas",
    "OptionalPersonaId",
    "PersonaId",
    "ToolDef",
    "respond",
    "selects",
    "with_model_fields",
]

# The default profile: what a chat host (Claude Desktop, an IDE's assistant) needs to pick or
# make a persona, talk as it or through it, remember, correct, forget (and undo that), see how it
# feels and relates, and check the server (the embedder, a model download, Ollama). A host pays
# for every listed tool in every conversation; the rest are one setting away
# (PERSONA_MCP_TOOLSETS=all, or chat plus namespaces).
CHAT_PROFILE: frozenset[tuple[str, str]] = frozenset(
    {
        ("persona", "list"),
        ("persona", "get"),
        ("persona", "create"),
        ("persona", "templates"),
        ("persona", "switch"),
        ("persona", "status"),
        ("persona", "chat"),
        ("persona", "context"),
        ("memory", "store"),
        ("memory", "search"),
        ("memory", "update"),
        ("memory", "delete"),
        ("memory", "restore"),
        ("relationship", "get"),
        ("emotional", "get_state"),
        ("conversation", "start"),
        ("conversation", "end"),
        ("conversation", "history"),
        ("system", "status"),
    }
)


def selects(toolsets: tuple[str, ...], namespace: str, name: str) -> bool:
    """Whether the `toolsets` setting (profiles and namespaces) registers namespace_name."""
    return (
        "all" in toolsets
        or namespace in toolsets
        or ("chat" in toolsets and (namespace, name) in CHAT_PROFILE)
    )


# Argument types several namespaces share.
PersonaId = Annotated[str, Field(min_length=1, max_length=64, description="Persona id, e.g. 'aria'.")]
OptionalPersonaId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        description="Persona id; default: the active persona.",
    ),
]
AllPersonas = Annotated[
    str | None, Field(min_length=1, max_length=64, description="One persona; default: all of them.")
]

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
    # Registered only when the settings allow it (e.g. system_clock_advance needs test_clock).
    enabled: Callable[[Settings], bool] = lambda _: True
    # Rewrites the published input schema (see schemas.abridge); arguments are checked in full.
    published: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def respond(result: BaseModel) -> CallToolResult:
    """A tool result: the model as structured content plus a short text rendering of it."""
    return CallToolResult(
        content=[TextContent(type="text", text=render(result))],
        structured_content=result.model_dump(mode="json"),
    )


def with_model_fields(
    fn: Callable[..., Any], model: type[BaseModel], notes: Mapping[str, str] | None = None
) -> Callable[..., Any]:
    """Publish each field of `model` as an optional keyword argument of `fn` (which takes
    **fields), so a tool's arguments are described once, on the core model. `notes` adds text to
    some fields' descriptions. The core validates the collected fields against `model`."""
    notes = notes or {}
    signature = inspect.signature(fn, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    taken = {p.name for p in params}
    for name, info in model.model_fields.items():
        if name in taken:
            continue
        optional: Any = info.annotation
        annotated: Any = Annotated  # subscripted with a runtime tuple, which type checkers cannot follow
        description = (info.description or "") + notes.get(name, "")
        annotation = annotated[(optional | None, *info.metadata, Field(description=description))]
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        )
    fn.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return fn
