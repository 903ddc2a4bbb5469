"""What access control costs a search: memory_search's own time (the server's `elapsed_ms`) for a
principal that is no admin, against the same queries as the admin, in one process over one index.

Two cases at each size:
  granted   a persona its owner filled, searched by a principal holding a read grant: it sees every
            memory the owner sees (the owner's are the persona's knowledge), so the two searches rank
            the same candidates and differ only by the access rule's SQL condition.
  shared    a shared persona where the principal wrote one memory in a hundred and others wrote the
            rest: its search has to pass over what it may not see.
The ratio (principal / admin, medians of interleaved runs) is the figure; absolute times move with
the machine.

Usage: python scripts/bench_access.py [--sizes 1000 10000] [--json results.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _corpus import facts, queries
from _report import emit

from core.access import OWNER, Principal, acting_as
from core.app import PersonaCore
from core.config import load_settings
from core.memory import MemoryDraft, SearchOptions

READER = Principal("reader")
OTHERS = [Principal(f"user-{n}") for n in range(9)]
SEARCHES = 40
BATCH = 500


async def _fill(core: PersonaCore, persona: str, size: int, writers: list[Principal], seed: int) -> None:
    have = (await core.memories.stats(persona)).total
    step = 0
    while have < size:
        texts = facts(min(BATCH, size - have), seed=seed * 7919 + have)
        who = writers[step % len(writers)]
        with acting_as(who):
            await core.memories.store_batch([MemoryDraft(content=t, persona_id=persona) for t in texts])
        with acting_as(OWNER):
            have = (await core.memories.stats(persona)).total
        step += 1


async def _timed(core: PersonaCore, persona: str, who: Principal, text: str) -> float:
    with acting_as(who):
        found = await core.memories.search(text, persona, SearchOptions(n_results=10))
    return found.elapsed_ms


async def _compare(core: PersonaCore, persona: str, texts: list[str]) -> dict[str, Any]:
    admin, reader = [], []
    for text in texts:  # interleaved, so a noisy moment costs both sides alike
        admin.append(await _timed(core, persona, OWNER, text))
        reader.append(await _timed(core, persona, READER, text))
    a, r = statistics.median(admin), statistics.median(reader)
    return {"admin_p50_ms": round(a, 2), "principal_p50_ms": round(r, 2), "ratio": round(r / a, 2)}


async def run(sizes: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-access-") as folder:
        settings = load_settings({}, data_dir=Path(folder), decay_enabled=False)
        core = await PersonaCore.open(settings)
        try:
            async with anyio.create_task_group() as background:
                background.start_soon(core.run_background)
                with anyio.fail_after(120):
                    while not core.memories.semantic.slot.loaded:  # noqa: ASYNC110
                        await anyio.sleep(0.1)  # the model loads on a worker thread
                result = await _measure(core, sizes)
                background.cancel_scope.cancel()
        finally:
            await core.close()
    return result


async def _measure(core: PersonaCore, sizes: list[int]) -> dict[str, Any]:
    await core.access.add(READER.name)
    owned = await core.personas.create({"name": "Granted"})
    await core.access.set_grant(READER.name, owned, "read")
    # The shipped persona aria is open to everyone: many principals write to it, "reader" 1 in 100.
    writers = [READER, *OTHERS * 11][:100]
    rows: dict[str, Any] = {}
    texts = queries(SEARCHES)
    for size in sorted(sizes):
        print(f"access: {size:,} memories", file=sys.stderr, flush=True)
        started = time.perf_counter()
        await _fill(core, owned.id, size, [OWNER], seed=1)
        await _fill(core, "aria", size, writers, seed=2)
        await core.memories.semantic.sync()
        rows[str(size)] = {
            "granted": await _compare(core, owned.id, texts),
            "shared": await _compare(core, "aria", texts),
            "fill_seconds": round(time.perf_counter() - started, 1),
        }
    return {"sizes": rows}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| memories | case | admin p50 | principal p50 | x admin |",
        "|---|---|---|---|---|",
    ]
    for size, row in result["sizes"].items():
        for case in ("granted", "shared"):
            cell = row[case]
            lines.append(
                f"| {int(size):,} | {case} | {cell['admin_p50_ms']:.1f} ms "
                f"| {cell['principal_p50_ms']:.1f} ms | {cell['ratio']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = anyio.run(run, args.sizes)
    emit(result, table(result), str(args.json) if args.json else None)


if __name__ == "__main__":
    main()
