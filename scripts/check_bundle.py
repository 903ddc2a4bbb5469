"""Serve an unpacked persona-mcp.mcpb the way a host does, and call it: the manifest's mcp_config
with `${__dirname}` and each `${user_config.*}` filled in (defaults, a scratch data folder), then
tools over stdio through the official SDK's client. Run by scripts/bundle.sh --check.

    python scripts/check_bundle.py UNPACKED_BUNDLE_DIR
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def host_config(bundle: Path, data_dir: Path) -> tuple[str, list[str], dict[str, str]]:
    """The command, arguments and environment a host builds from the manifest."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    values = {key: str(spec.get("default", "")) for key, spec in manifest.get("user_config", {}).items()}
    values["data_dir"] = str(data_dir)

    def fill(text: str) -> str:
        text = text.replace("${__dirname}", str(bundle))
        return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: values[m.group(1)], text)

    config = manifest["server"]["mcp_config"]
    env = {key: fill(value) for key, value in config.get("env", {}).items()}
    return fill(config["command"]), [fill(arg) for arg in config.get("args", [])], env


async def check(bundle: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bundle-data-") as folder:
        command, args, env = host_config(bundle, Path(folder))
        params = StdioServerParameters(command=command, args=args, env={**os.environ, **env})
        started = time.perf_counter()
        async with Client(params, mode="legacy", read_timeout_seconds=600) as client:
            ready = round(time.perf_counter() - started, 1)
            tools = [tool.name for tool in (await client.list_tools()).tools]
            stored = await client.call_tool("memory_store", {"content": "Sam takes their coffee black."})
            found = await client.call_tool("memory_search", {"query": "coffee"})
            if stored.is_error or found.is_error or found.structured_content is None:
                raise SystemExit(f"the bundle's tools failed: {stored.content} {found.content}")
            hits = [hit["memory"]["content"] for hit in found.structured_content["memories"]]
            info = client.server_info
        return {
            "command": " ".join([command, *args]),
            "first_start_s": ready,  # includes uv installing the dependencies
            "server": info.name if info else None,
            "tools": len(tools),
            "found": hits,
            "data_written": sorted(os.listdir(folder)),
        }


def main() -> int:
    report = anyio.run(check, Path(sys.argv[1]).resolve())
    print(json.dumps(report, indent=2))
    ok = report["tools"] >= 10 and report["found"] == ["Sam takes their coffee black."]
    return 0 if ok and "persona.db" in report["data_written"] else 1


if __name__ == "__main__":
    sys.exit(main())
