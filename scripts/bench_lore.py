"""Lorebook matching cost: how long select_lore takes for one context, next to a naive baseline.

The book has N entries (default 100): one in ten a regular expression, one in five sticky or
cooling down (those are replayed over the conversation), the rest plain keys. The conversation
has M messages (default 200). Baseline, in the same run: a plain `key in text` scan of the same
keys over the same recent messages, with no logic, timing or budget.

Usage: python scripts/bench_lore.py [--entries 100] [--messages 200] [--runs 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.lorebook import Lorebook, LoreEntry
from core.personas.lore import DEFAULT_SCAN_DEPTH, Said, select_lore
from scripts._report import emit, pairs_table

WORDS = ["harbour", "storm", "lantern", "cellar", "archive", "dragon"]
WORDS += ["orchard", "forge", "chapel", "market", "tide", "ember"]


def _book(entries: int, rng: random.Random) -> Lorebook:
    items = []
    for index in range(entries):
        key = f"{rng.choice(WORDS)}{index}"
        extra: dict[str, object] = {}
        if index % 10 == 0:
            extra = {"keys": [f"/{key}s?/i"], "use_regex": True}
        elif index % 5 == 0:
            extra = {"sticky": 3, "cooldown": 2}
        items.append(LoreEntry(**{"keys": [key], "content": f"Lore about {key}.", **extra}))  # type: ignore[arg-type]
    return Lorebook(entries=items)


def _conversation(book: Lorebook, messages: int, rng: random.Random) -> list[Said]:
    said = []
    for index in range(messages):
        words = [rng.choice(WORDS) for _ in range(25)]
        if rng.random() < 0.3:  # some messages mention an entry's key
            words.append(rng.choice(book.entries).keys[0].strip("/is?"))
        said.append(Said("user" if index % 2 == 0 else "assistant", " ".join(words)))
    return said


def _baseline(book: Lorebook, said: list[Said]) -> int:
    text = "\n".join(item.text for item in said[-DEFAULT_SCAN_DEPTH:]).lower()
    return sum(1 for entry in book.entries if any(key.lower() in text for key in entry.keys))


def _median_ms(action: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", help="write the JSON report here ('-' for stdout)")
    args = parser.parse_args()
    rng = random.Random(1)
    book = _book(args.entries, rng)
    said = _conversation(book, args.messages, rng)
    words = lambda text: len(text.split())  # noqa: E731
    hits = select_lore(book, said, 10_000, words).hits
    lore_ms = _median_ms(lambda: select_lore(book, said, 10_000, words), args.runs)
    base_ms = _median_ms(lambda: _baseline(book, said), args.runs)
    report = {
        "entries": args.entries,
        "messages": args.messages,
        "runs": args.runs,
        "active_entries": len(hits),
        "select_lore_ms_p50": round(lore_ms, 3),
        "baseline_substring_ms_p50": round(base_ms, 3),
        "ratio_to_baseline": round(lore_ms / base_ms, 1) if base_ms else None,
    }
    table = pairs_table(
        [
            ("book / conversation", f"{args.entries} entries, {args.messages} messages"),
            ("active entries", str(len(hits))),
            ("select_lore p50", f"{lore_ms:.2f} ms"),
            ("baseline (substring scan) p50", f"{base_ms:.3f} ms"),
            ("ratio", f"{lore_ms / base_ms:.1f}x" if base_ms else "-"),
        ]
    )
    emit(report, table, args.json)


if __name__ == "__main__":
    main()
