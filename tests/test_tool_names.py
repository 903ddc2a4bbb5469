"""Tool names every host accepts: Claude Desktop loads no tool from a server with one name outside
`^[a-zA-Z0-9_-]{1,64}$`, and the Anthropic and OpenAI APIs refuse dots in function names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp import Client

from core.config import Settings
from persona_mcp import build_server
from persona_mcp.server import TOOL_MODULES
from tests.conftest import call_error

pytestmark = pytest.mark.anyio

HOST_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# The MCP specification's own rule for tool names (dots allowed), for the dotted spelling.
SPEC_PATTERN = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
ROOT = Path(__file__).resolve().parent.parent
EVERY_TOOL = [(module.NAMESPACE, tool.name) for module in TOOL_MODULES for tool in module.TOOLS]
DOTTED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(f"{ns}.{name}") for ns, name in EVERY_TOOL) + r")\b")


async def _tools(settings: Settings) -> dict[str, object]:
    async with Client(build_server(settings)) as client:
        return {tool.name: tool for tool in (await client.list_tools()).tools}


async def test_default_names_match_what_claude_desktop_and_the_llm_apis_accept(data_dir: Path) -> None:
    tools = await _tools(Settings(data_dir=data_dir, test_clock=True, toolsets=("all",)))
    assert len(tools) == len(EVERY_TOOL)
    assert "persona_list" in tools
    assert "memory_search" in tools
    bad = [name for name in tools if not HOST_PATTERN.match(name)]
    assert bad == []


async def test_dotted_spelling_is_one_setting_away_and_its_texts_use_it(data_dir: Path) -> None:
    default = await _tools(Settings(data_dir=data_dir, test_clock=True, toolsets=("all",)))
    dotted = await _tools(Settings(data_dir=data_dir, test_clock=True, tool_separator=".", toolsets=("all",)))
    assert sorted(dotted) == sorted(name.replace("_", ".", 1) for name in default)
    assert all(SPEC_PATTERN.match(name) for name in dotted)
    assert all(HOST_PATTERN.match(name.replace(".", "_")) for name in dotted)
    # Descriptions and argument docs name tools as they are registered, never the other spelling.
    underscored = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in default) + r")\b")
    for name, tool in dotted.items():
        text = tool.model_dump_json()  # type: ignore[attr-defined]
        assert not underscored.search(text), (name, underscored.search(text))
    assert "persona_update" in default["persona_delete"].model_dump_json()  # type: ignore[attr-defined]
    assert "persona.update" in dotted["persona.delete"].model_dump_json()  # type: ignore[attr-defined]


async def test_errors_name_tools_in_the_registered_spelling(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, tool_separator=".", toolsets=("all",))
    async with Client(build_server(settings)) as client:
        message = await call_error(client, "memory.get", memory_id="no-such-memory")
        assert "memory.store" in message
        assert "memory_store" not in message
    async with Client(build_server(Settings(data_dir=data_dir, toolsets=("all",)))) as client:
        assert "memory_store" in await call_error(client, "memory_get", memory_id="no-such-memory")


def test_readme_docs_and_demo_use_the_default_spelling() -> None:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "persona_mcp" / "demo.py"]
    files += sorted((ROOT / "persona_mcp").glob("*.py")) + sorted((ROOT / "personas").rglob("*.yaml"))
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "TOOL_SEPARATOR" in line or "dotted spelling" in line:
                continue  # where the other spelling is explained
            found += [f"{path.name}:{number}: {match}" for match in DOTTED.findall(line)]
    assert found == []
