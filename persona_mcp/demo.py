"""`persona-mcp demo`: start the real server over stdio, call its tools from an MCP client, and
print each call and its answer. Uses a temporary data folder unless told to keep the real one."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from core.config import Settings
from persona_mcp.tools import CHAT_PROFILE

__all__ = ["run_demo"]

# The personas the steps make, and the file in the data folder that records those a `--keep` run
# made: a later run replaces them, and refuses to touch a persona of the same id it did not make.
MADE = ("sora", "wren", "ariki")
MARKER = "demo-personas.json"

# (tool, arguments, what the step shows)
_STEPS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("persona", "list", {}, "the shipped personas"),
    ("persona", "get", {"persona_id": "kira"}, "one persona's card"),
    ("persona", "templates", {}, "templates to start from"),
    (
        "persona",
        "create",
        {"template": "zen-engineer", "name": "Sora", "interests": ["gardens", "go"]},
        "a new persona from a template, with overrides",
    ),
    (
        "persona",
        "update",
        {"persona_id": "sora", "changes": {"traits": {"extraversion": 0.6}}},
        "a partial update (the version goes up)",
    ),
    ("persona", "switch", {"persona_id": "sora"}, "switch this session to Sora"),
    ("persona", "status", {}, "status of the active persona"),
    (
        "memory",
        "store_batch",
        {
            "items": [
                {"content": "The user's cat Miso knocks cups off the desk every morning."},
                {"content": "The user is learning to play the cello.", "kind": "semantic"},
                {"content": "Rain makes Sora think of the temple garden.", "visibility": "shared"},
            ]
        },
        "remember three things for Sora",
    ),
    ("memory", "store", {"content": "the user's cat miso knocks cups off the desk every morning."}, "dedup"),
    ("memory", "search", {"query": "what pet does the user have?", "n_results": 2}, "search by meaning"),
    ("memory", "search_cross_persona", {"query": "garden", "persona_id": "aria"}, "what others shared"),
    (
        "relationship",
        "update",
        {"persona_a": "sora", "persona_b": "kira", "interaction": {"kind": "help", "quality": 0.8}},
        "Kira helps Sora: they become acquaintances",
    ),
    (
        "relationship",
        "compatibility",
        {"persona_a": "aria", "persona_b": "kira"},
        "how well two personas fit",
    ),
    ("emotional", "update_state", {"deltas": {"valence": 0.3}, "reason": "good news"}, "Sora cheers up"),
    ("memory", "decay_stats", {}, "memories fade with time: background decay, its curve and runs"),
    ("memory", "prune_recommendations", {"persona_id": "sora"}, "what pruning would archive (nothing yet)"),
    (
        "persona",
        "import",
        {
            "content": '{"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Wren", '
            '"description": "A lighthouse keeper.", "first_mes": "Mind the stairs.", "tags": "sea, mystery", '
            '"character_book": {"entries": [{"keys": ["storm"], "content": "Storms come from the north.", '
            '"insertion_order": 1, "enabled": true, "extensions": {}}]}, "extensions": {}}}'
        },
        "import a SillyTavern character card (V2) with a lorebook; warnings say what was coerced",
    ),
    (
        "persona",
        "blend",
        {"persona_ids": ["aria", "kira"], "weights": [2, 1], "name": "Ariki"},
        "blend two personas, two parts Aria to one part Kira",
    ),
    ("persona", "get", {"persona_id": "nobody"}, "a mistake: the error names the argument and the fix"),
    ("persona", "delete", {"persona_id": "sora"}, "archive (reversible)"),
)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


async def _clear_earlier_run(client: Client, data_dir: Path) -> str | None:
    """Purge what an earlier `--keep` run made; the reason to stop instead, when a persona the
    steps would make exists and is not the demo's."""
    marker = data_dir / MARKER
    earlier = set(json.loads(marker.read_text())) if marker.is_file() else set()
    existing = [
        pid for pid in MADE if not (await client.call_tool("persona_get", {"persona_id": pid})).is_error
    ]
    foreign = [pid for pid in existing if pid not in earlier]
    if foreign:
        return (
            f"{data_dir} already has persona(s) {', '.join(foreign)} that the demo did not make, and the "
            "demo would make its own with those ids. Nothing was changed; run `persona-mcp demo` "
            "without --keep, or with --data-dir pointing at another folder."
        )
    for pid in existing:
        await client.call_tool("persona_delete", {"persona_id": pid, "purge": True})
    if existing:
        print(f"Removed what an earlier `demo --keep` left: {', '.join(existing)}.")
    return None


async def run_demo(settings: Settings, keep: bool) -> int:
    """Run the scripted session; returns 0 when every step behaved as expected."""
    with tempfile.TemporaryDirectory(prefix="persona-mcp-demo-") as scratch:
        data_dir = settings.data_dir if keep else Path(scratch)
        env = {
            **os.environ,
            "PERSONA_MCP_DATA_DIR": str(data_dir),
            "PERSONA_MCP_LOG_LEVEL": "WARNING",
            "PERSONA_MCP_TOOLSETS": "all",  # the tour visits every namespace
        }
        params = StdioServerParameters(command=sys.executable, args=["-m", "persona_mcp", "serve"], env=env)
        print(f"Starting persona-mcp over stdio (data: {data_dir}) ...")
        started = time.perf_counter()
        async with Client(params, mode="legacy") as client:
            tools = await client.list_tools()
            print(
                f"Connected in {time.perf_counter() - started:.2f}s; with PERSONA_MCP_TOOLSETS=all "
                f"the server offers {len(tools.tools)} tools (a host with no settings sees the chat "
                f"profile, the {len(CHAT_PROFILE)} a chat needs):"
            )
            print(_indent(", ".join(tool.name for tool in tools.tools)))
            if keep and (refusal := await _clear_earlier_run(client, data_dir)) is not None:
                print(f"\npersona-mcp demo --keep: {refusal}", file=sys.stderr)
                return 1
            failures = 0
            for namespace, name, arguments, purpose in _STEPS:
                tool = f"{namespace}_{name}"
                result = await client.call_tool(tool, arguments)
                expected_error = arguments.get("persona_id") == "nobody"
                ok = result.is_error == expected_error
                failures += not ok
                text = "\n".join(block.text for block in result.content if block.type == "text")
                print(f"\n> {tool}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})  # {purpose}")
                print(_indent(("[tool error] " if result.is_error else "") + text))
        print(f"\nDemo finished: {len(_STEPS) - failures}/{len(_STEPS)} steps behaved as expected.")
        if keep:
            (data_dir / MARKER).write_text(json.dumps(list(MADE)))
            print(
                f"It left {', '.join(MADE)} (sora archived) and their memories in {data_dir}; running "
                "`persona-mcp demo --keep` again replaces them."
            )
        else:
            print("It used a temporary data folder; run `persona-mcp demo --keep` to use your real one.")
        print("Add persona-mcp to Claude Desktop with the JSON snippet in the README.")
        return 0 if failures == 0 else 1
