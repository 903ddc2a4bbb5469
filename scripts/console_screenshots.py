"""Screenshots of every console view for the docs, and what each view weighs and how long it takes
to show. A real `persona-mcp console` process (in a temporary data folder, with a little seeded
history and the Ollama stand-in for one conversation) and Chromium through Playwright
(`apt-get install chromium`).

For each view, in a fresh tab: the page's own files (HTML, CSS, JS) in KB, the data it fetched
from /mcp in KB, and the time to first render (navigation start to the view shown, the median
of `--runs` loads). Screenshots go to docs/images/console/ (1280x800, and two at 390x844).

Usage: python scripts/console_screenshots.py [--runs 5] [--out docs/images/console] [--json report.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import emit

from tests.console_pages import Console, Rpc, chromium, console_process
from tests.ollama_standin import echo_reply, run_standin

VIEWS = {
    "personas": "#/personas",
    "persona": "#/personas/juniper-vale",
    "memories": "#/personas/juniper-vale/memories?q=bees",
    "relationships": "#/personas/juniper-vale/relationships",
    "mood": "#/personas/juniper-vale/mood",
    "conversation": "#/conversations/{conversation}",
    "maintenance": "#/maintenance",
}
PHONE = ("personas", "memories")


def seed(rpc: Rpc) -> dict[str, str]:
    rpc.call(
        "persona_create",
        name="Juniper Vale",
        description="A beekeeper who lives above the old library and knows every bee by its hum.",
        interests=["bees", "old books", "weather"],
        tags=["cozy", "mentor"],
    )
    for content in (
        "Juniper keeps three hives of bees on the library roof.",
        "The bees swarmed in May and settled in the chestnut tree by the gate.",
        "Juniper's favourite honey is heather honey from the moor.",
        "Aria sang to the bees and they calmed at once.",
    ):
        rpc.call("memory_store", content=content, persona_id="juniper-vale")
    for valence, energy, reason in (
        (0.6, 0.7, "a calm morning"),
        (-0.3, 0.4, "a hive was robbed"),
        (0.5, 0.6, "honey harvest"),
    ):
        rpc.call(
            "emotional_update_state", persona_id="juniper-vale", valence=valence, energy=energy, reason=reason
        )
    for other, quality in (("aria", 0.8), ("kira", 0.3)):
        rpc.call(
            "relationship_update",
            persona_a="juniper-vale",
            persona_b=other,
            interaction={"kind": "collaboration", "quality": quality, "summary": "worked on the hives"},
        )
    chat = rpc.call("persona_chat", message="How are the bees today?", persona_id="juniper-vale")
    return {"conversation": chat["conversation_id"]}


def measure(
    browser: Any, console: Console, route: str, size: tuple[int, int], shot: Path | None
) -> dict[str, float]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.add_init_script(f"sessionStorage.setItem('persona-console-token', {json.dumps(console.token)})")
    page = context.new_page()
    files = data = 0

    def count(response: Any) -> None:
        nonlocal files, data
        try:
            size = len(response.body())
        except Exception:  # a response the page navigated away from (the login redirect)
            return
        if "/ui/" in response.url:
            files += size
        elif response.url.endswith("/mcp"):
            data += size

    page.on("response", count)
    page.goto(f"{console.base}/ui/{route}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#main:not([aria-busy])")
    shown = page.evaluate("performance.now()")
    if shot is not None:
        page.screenshot(path=str(shot), full_page=False)
    context.close()
    return {"files_kb": files / 1024, "data_kb": data / 1024, "first_render_ms": shown}


def run(runs: int, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"runs": runs, "views": {}}
    with (
        tempfile.TemporaryDirectory(prefix="console-shots-") as folder,
        run_standin(chat_models={"llama3.2": echo_reply}) as ollama,
        console_process(Path(folder), OLLAMA_HOST=ollama.url) as console,
        chromium() as browser,
    ):
        rpc = Rpc(f"{console.base}/mcp", console.redeem())
        ids = seed(rpc)
        for name, template in VIEWS.items():
            route = template.format(**ids)
            loads = [
                measure(browser, console, route, (1280, 800), out / f"{name}.png" if i == 0 else None)
                for i in range(runs)
            ]
            report["views"][name] = {
                "route": template,
                "files_kb": round(loads[0]["files_kb"], 1),
                "data_kb": round(loads[0]["data_kb"], 1),
                "first_render_ms": round(statistics.median(load["first_render_ms"] for load in loads), 1),
            }
            if name in PHONE:
                measure(browser, console, route, (390, 844), out / f"{name}-phone.png")
        rpc.close()
    return report


def table(report: dict[str, Any]) -> str:
    lines = ["| view | page files (KB) | data (KB) | first render (ms, median) |", "|---|---|---|---|"]
    for name, view in report["views"].items():
        lines.append(f"| {name} | {view['files_kb']} | {view['data_kb']} | {view['first_render_ms']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default="docs/images/console")
    parser.add_argument("--json")
    args = parser.parse_args()
    report = run(args.runs, Path(args.out))
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
