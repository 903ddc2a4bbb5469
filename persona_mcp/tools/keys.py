"""keys_* tools: provider keys (BYOK), stored sealed and only ever shown masked."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field, SecretStr

from core.config import SENSITIVE
from core.keys import KeyList, KeyRemoved, KeySet
from persona_mcp.session import core_of
from persona_mcp.tools import DESTRUCTIVE, READ_ONLY, ToolDef, respond

NAMESPACE = "keys"

# Names, providers and URLs are never echoed in errors: a key pasted there is a key all the same.
KeyName = Annotated[
    str,
    SENSITIVE,
    Field(
        min_length=1,
        max_length=64,
        description="The key's name, e.g. 'openai'. The key named 'ollama' is sent to Ollama with each chat.",
    ),
]


async def set_key(
    ctx: Context,
    name: KeyName,
    value: Annotated[
        SecretStr,
        Field(
            min_length=8, max_length=4096, description="The key itself; stored encrypted, never shown again."
        ),
    ],
    provider: Annotated[
        str | None,
        SENSITIVE,
        Field(max_length=64, description="Who issued it: openai, anthropic, ollama, ... (default: name)."),
    ] = None,
    base_url: Annotated[
        str | None,
        SENSITIVE,
        Field(max_length=500, description="The provider's API address, for OpenAI-compatible servers."),
    ] = None,
) -> Annotated[CallToolResult, KeySet]:
    """Store a provider's API key, encrypted under the master key; one of the same name is
    replaced. No tool returns it again, only a masked hint."""
    keys = core_of(ctx).keys
    return respond(await keys.set(name, value.get_secret_value(), provider, base_url))


async def list_keys(ctx: Context) -> Annotated[CallToolResult, KeyList]:
    """The stored provider keys, masked (prefix and last characters), with whether the present
    master key can open each one."""
    return respond(await core_of(ctx).keys.list())


async def remove(ctx: Context, name: KeyName) -> Annotated[CallToolResult, KeyRemoved]:
    """Delete a stored provider key for good."""
    return respond(await core_of(ctx).keys.remove(name))


TOOLS = (
    ToolDef("set", set_key, DESTRUCTIVE),
    ToolDef("list", list_keys, READ_ONLY),
    ToolDef("remove", remove, DESTRUCTIVE),
)
