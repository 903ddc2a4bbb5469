"""build_server(settings): the MCPServer with persona-mcp's tools, over an open PersonaCore."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import anyio
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, Icon, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedResourceError
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, GetPromptResult, InputRequiredResult, ToolAnnotations
from pydantic import AnyUrl
from starlette.requests import Request

from core import __version__
from core.access import OWNER, acting_as
from core.app import PersonaCore
from core.config import Settings, is_secret
from core.errors import find_domain_error
from persona_mcp.auth import principal_middleware
from persona_mcp.errors import describe_failure, unknown_arguments_message
from persona_mcp.extras import register_extras
from persona_mcp.host import SERVER_ICONS, HostFeatures
from persona_mcp.ratelimit import RateLimiter
from persona_mcp.schemas import compact_input_schema, compact_output_schema
from persona_mcp.session import AppState
from persona_mcp.tools import (
    access,
    beliefs,
    conversation,
    emotional,
    history,
    keys,
    lorebook,
    memory,
    persona,
    relationship,
    selects,
    state,
    system,
)
from persona_mcp.ui import CONSOLE_TOOLS, CONSOLE_URI, console_app

__all__ = ["PersonaServer", "ToolSpelling", "build_server"]

logger = logging.getLogger(__name__)

# Namespace modules, each with NAMESPACE and a TOOLS table. Later namespaces join this tuple.
TOOL_MODULES: tuple[ModuleType, ...] = (
    persona,
    lorebook,
    memory,
    beliefs,
    history,
    relationship,
    emotional,
    conversation,
    system,
    state,
    keys,
    access,
)

INSTRUCTIONS = (
    "persona-mcp gives you personas that remember, feel and relate. persona_list shows them and "
    "persona_get returns a persona's full card, including its system_prompt. A call that names no "
    "persona uses the active persona: the one persona_switch chose for this session, else the "
    "server's default."
)


class ToolSpelling:
    """Our texts (descriptions, instructions, error messages) name tools in the default spelling,
    `persona_list`. The dotted spelling registers `persona.list`, and every text the server
    sends then names tools that way too, so a model never calls a name that does not exist."""

    def __init__(self, separator: str, names: Iterable[tuple[str, str]]) -> None:
        self._separator = separator
        spelled = sorted((f"{namespace}_{name}" for namespace, name in names), key=len, reverse=True)
        self._pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, spelled)) + r")\b")

    def __call__(self, text: str) -> str:
        if self._separator == "_":
            return text
        return self._pattern.sub(lambda match: match.group(1).replace("_", self._separator, 1), text)

    def schema(self, value: Any) -> Any:
        """A JSON schema with every description respelled."""
        if isinstance(value, dict):
            return {
                key: self(item) if key == "description" and isinstance(item, str) else self.schema(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.schema(item) for item in value]
        return value


class PersonaServer(MCPServer[AppState]):
    """MCPServer that turns every anticipated failure into a tool error a client can act on, and
    refuses arguments a tool does not take instead of silently dropping them."""

    def __init__(
        self,
        *args: Any,
        limiter: RateLimiter | None = None,
        spelling: ToolSpelling | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._accepted: dict[str, frozenset[str]] = {}
        self._secret: dict[str, frozenset[str]] = {}
        self._limiter = limiter
        self.spelling = spelling or ToolSpelling("_", ())
        self.core: PersonaCore | None = None  # open while a transport runs the lifespan

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
        published: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Register a tool and remember which argument names it accepts. Its input schema is
        published compact (schemas.compact_input_schema), then through `published` if given."""
        description = self.spelling(description) if description is not None else None
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        tool = self._tool_manager.get_tool(name or fn.__name__)
        if tool is not None:
            schema = compact_input_schema(tool.parameters)
            tool.parameters = self.spelling.schema(published(schema) if published else schema)
            tool.fn_metadata.output_schema = self.spelling.schema(
                compact_output_schema(tool.fn_metadata.output_schema)
            )
        parameters = inspect.signature(fn, eval_str=True).parameters.values()
        self._accepted[name or fn.__name__] = frozenset(
            p.name for p in parameters if p.annotation is not Context and p.kind is not p.VAR_KEYWORD
        )
        self._secret[name or fn.__name__] = frozenset(p.name for p in parameters if is_secret(p.annotation))

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run a tool; domain and validation failures become readable ToolErrors."""
        self._check_rate(context)
        accepted = self._accepted.get(name)
        if accepted is not None:
            unknown = set(arguments) - accepted
            if unknown:
                raise ToolError(unknown_arguments_message(name, unknown, accepted))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            message = describe_failure(name, cause, self._secret.get(name, ())) if cause else None
            if message is None:
                raise
            raise ToolError(self.spelling(message)) from None

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[AppState, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """A resource; one naming a persona that does not exist is the client's mistake (-32602,
        a plain message), not an internal error with a traceback in the log."""
        try:
            return await super().read_resource(uri, context)
        except UnexpectedResourceError as exc:
            if (error := self._invalid_params(f"Resource {uri}", exc)) is None:
                raise
            raise error from None

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[AppState, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        """A prompt; an unknown name or a bad argument is the client's mistake (-32602, a plain
        message), not an internal error with a traceback in the log."""
        prompt: Prompt | None = self._prompt_manager.get_prompt(name)
        if prompt is None:
            known = ", ".join(p.name for p in self._prompt_manager.list_prompts()) or "none"
            raise MCPError(INVALID_PARAMS, f"Unknown prompt {name!r}. Prompts: {known}.")
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            if (error := self._invalid_params(f"Prompt {name}", exc)) is None:
                raise
            raise error from None

    def _invalid_params(self, what: str, exc: Exception) -> MCPError | None:
        """The domain error behind a prompt's or resource's failure, as -32602 with its message;
        None for any other failure (a bug, re-raised as it was)."""
        cause = find_domain_error(exc)
        return None if cause is None else MCPError(INVALID_PARAMS, self.spelling(f"{what}: {cause.message}"))

    def _check_rate(self, context: Context[AppState, Any] | None) -> None:
        """Over HTTP, refuse a call beyond the client address's rate limit, before it runs."""
        if self._limiter is None or context is None:
            return
        try:
            request = context.request_context.request
        except ValueError:  # no request behind this call: in-process use
            return
        if not isinstance(request, Request) or request.client is None:
            return
        address = request.client.host
        wait = self._limiter.retry_after(address)
        if wait is not None:
            raise ToolError(
                f"Rate limit: {address} may make {self._limiter.per_minute} tool calls a minute "
                f"(bursts of {self._limiter.burst}); retry in {wait:.1f} s. The server's operator sets "
                "PERSONA_MCP_RATE_LIMIT_PER_MINUTE and PERSONA_MCP_RATE_LIMIT_BURST."
            )


def _lifespan(settings: Settings, host: HostFeatures) -> Callable[[MCPServer[AppState]], Any]:
    @asynccontextmanager
    async def lifespan(server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        core = await PersonaCore.open(settings)
        if isinstance(server, PersonaServer):
            server.core = core
        logger.info("persona-mcp %s serving data from %s", __version__, settings.data_dir)
        try:
            async with host.forwarding_logs(), anyio.create_task_group() as background:
                with acting_as(OWNER):  # the server's own upkeep, whoever's request started it
                    background.start_soon(core.run_background)
                    background.start_soon(host.watch, core.personas.fingerprint)
                try:
                    yield AppState(core=core)
                finally:
                    background.cancel_scope.cancel()
        finally:
            await core.close()

    return lifespan


def build_server(settings: Settings) -> PersonaServer:
    """The server with the tools `settings.toolsets` selects, registered under names joined by
    `settings.tool_separator`. The core opens when a transport starts the lifespan."""
    spelling = ToolSpelling(
        settings.tool_separator,
        ((module.NAMESPACE, tool.name) for module in TOOL_MODULES for tool in module.TOOLS),
    )
    bus = InMemorySubscriptionBus()
    host = HostFeatures(bus)
    server = PersonaServer(
        "persona-mcp",
        title="persona-mcp",
        description="Personas that remember, feel and relate.",
        icons=SERVER_ICONS,
        version=__version__,
        instructions=spelling(INSTRUCTIONS),
        subscriptions=bus,
        lifespan=_lifespan(settings, host),
        log_level="DEBUG" if settings.log_level == "DEBUG" else "WARNING",
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        spelling=spelling,
        extensions=[console_app()],
    )
    register_extras(server)
    server._lowlevel_server.middleware.append(principal_middleware)
    host.install(server._lowlevel_server)
    for module in TOOL_MODULES:
        for tool in module.TOOLS:
            if not selects(settings.toolsets, module.NAMESPACE, tool.name) or not tool.enabled(settings):
                continue
            annotations: ToolAnnotations = tool.annotations
            shown = (module.NAMESPACE, tool.name) in CONSOLE_TOOLS  # a host with MCP Apps shows the console
            server.add_tool(
                tool.fn,
                name=settings.tool_name(module.NAMESPACE, tool.name),
                description=inspect.cleandoc(tool.fn.__doc__ or ""),
                annotations=annotations,
                meta={"ui": {"resourceUri": CONSOLE_URI}} if shown else None,
                published=tool.published,
            )
    return server
