"""build_server(settings): the MCPServer with persona-mcp's tools, over an open PersonaCore."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import anyio
from mcp.server.mcpserver import Context, Icon, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations

from core import __version__
from core.app import PersonaCore
from core.config import Settings
from persona_mcp.errors import describe_failure, unknown_arguments_message
from persona_mcp.extras import register_extras
from persona_mcp.session import AppState
from persona_mcp.tools import conversation, emotional, memory, persona, relationship, state, system

__all__ = ["PersonaServer", "build_server"]

logger = logging.getLogger(__name__)

# Namespace modules, each with NAMESPACE and a TOOLS table. Later namespaces join this tuple.
TOOL_MODULES: tuple[ModuleType, ...] = (persona, memory, relationship, emotional, conversation, system, state)

INSTRUCTIONS = (
    "persona-mcp gives you personas that remember, feel and relate. persona.list shows them, "
    "persona.switch picks the one later calls default to, persona.get returns a persona's full "
    "card including its system_prompt."
)


class PersonaServer(MCPServer[AppState]):
    """MCPServer that turns every anticipated failure into a tool error a client can act on, and
    refuses arguments a tool does not take instead of silently dropping them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accepted: dict[str, frozenset[str]] = {}

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Register a tool and remember which argument names it accepts."""
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        parameters = inspect.signature(fn, eval_str=True).parameters.values()
        self._accepted[name or fn.__name__] = frozenset(
            p.name for p in parameters if p.annotation is not Context and p.kind is not p.VAR_KEYWORD
        )

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool; domain and validation failures become readable ToolErrors."""
        accepted = self._accepted.get(name)
        if accepted is not None:
            unknown = set(arguments) - accepted
            if unknown:
                raise ToolError(unknown_arguments_message(name, unknown, accepted))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            message = describe_failure(name, exc.__cause__) if exc.__cause__ else None
            if message is None:
                raise
            raise ToolError(message) from None


def _lifespan(settings: Settings) -> Callable[[MCPServer[AppState]], Any]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        core = await PersonaCore.open(settings)
        logger.info("persona-mcp %s serving data from %s", __version__, settings.data_dir)
        try:
            async with anyio.create_task_group() as background:
                background.start_soon(core.run_background)
                try:
                    yield AppState(core=core)
                finally:
                    background.cancel_scope.cancel()
        finally:
            await core.close()

    return lifespan


def build_server(settings: Settings) -> PersonaServer:
    """The server with every namespace in `settings.toolsets` registered under names joined by
    `settings.tool_separator`. The core opens when a transport starts the lifespan."""
    server = PersonaServer(
        "persona-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=_lifespan(settings),
        log_level="DEBUG" if settings.log_level == "DEBUG" else "WARNING",
    )
    register_extras(server)
    for module in TOOL_MODULES:
        if module.NAMESPACE not in settings.toolsets:
            continue
        for tool in module.TOOLS:
            if not tool.enabled(settings):
                continue
            annotations: ToolAnnotations = tool.annotations
            server.add_tool(
                tool.fn,
                name=settings.tool_name(module.NAMESPACE, tool.name),
                description=inspect.cleandoc(tool.fn.__doc__ or ""),
                annotations=annotations,
            )
    return server
