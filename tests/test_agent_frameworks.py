"""An agent framework drives the real server: PydanticAI's TestModel (no LLM) calls every tool of
the chat profile through PydanticAI's own MCP client, over stdio, as docs/agents.md shows. Every
call comes back as a result or a readable tool error, never a crash, and what it stored is
there for the next client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from persona_mcp.tools import CHAT_PROFILE
from tests.conftest import call
from tests.processes import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_pydantic_ai_test_model_calls_every_chat_tool(data_dir: Path) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset, StdioTransport
    from pydantic_ai.messages import ToolCallPart, ToolReturnPart
    from pydantic_ai.models.test import TestModel

    env = server_env(data_dir, PERSONA_MCP_TOOLSETS="chat", HF_HUB_OFFLINE="1")
    # The snippet of docs/agents.md, with the test model in place of an LLM.
    toolset = MCPToolset(
        StdioTransport(command=sys.executable, args=["-m", "persona_mcp", "serve"], env=env),
        tool_error_behavior="failed",  # a tool error goes back to the model as the result
    )
    agent = Agent(TestModel(), toolsets=[toolset])
    result = await agent.run("Remember that Sam takes their coffee black, then look it up.")

    parts = [part for message in result.all_messages() for part in message.parts]
    called = {part.tool_name for part in parts if isinstance(part, ToolCallPart)}
    assert called == {f"{namespace}_{name}" for namespace, name in CHAT_PROFILE}
    returned = {part.tool_name: part.content for part in parts if isinstance(part, ToolReturnPart)}
    assert set(returned) == called
    for name, content in returned.items():
        text = str(content)
        assert "Traceback" not in text, name
        assert "Error executing tool" not in text, name
    # The test model's own arguments are nonsense ids: the answers say what exists.
    assert "Existing personas: aria, kira" in str(returned["persona_get"])
    assert returned["persona_list"]["total_count"] == 2  # type: ignore[index]
    stored = returned["memory_store"]["memory"]  # type: ignore[index]

    params = StdioServerParameters(command=sys.executable, args=["-m", "persona_mcp"], env=env)
    async with Client(params) as client:  # what the agent stored is there for the next client
        found = await call(client, "memory_search", query=stored["content"], persona_id="aria")
        assert stored["id"] in [hit["memory"]["id"] for hit in found["memories"]]
