"""scripts/eval_locomo.py on a small LoCoMo-format file: both storage protocols, the per-category
and per-conversation breakdown, and leave-one-conversation-out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _sample(name: str, facts: list[tuple[str, str]]) -> dict[str, Any]:
    turns = [
        {"speaker": speaker, "dia_id": f"D1:{i + 1}", "text": text} for i, (speaker, text) in enumerate(facts)
    ]
    return {
        "sample_id": name,
        "conversation": {"session_1": turns, "session_1_date_time": "1:56 pm on 8 May, 2023"},
        "qa": [
            {"question": "Which instrument does Mel play?", "evidence": ["D1:1"], "category": 4},
            {
                "question": "What did Joe bake and where did Mel travel?",
                "evidence": ["D1:2; D1:3"],
                "category": 1,
            },
            {"question": "An adversarial one", "evidence": ["D1:1"], "category": 5},  # not asked
        ],
    }


@pytest.mark.parametrize("protocol", ["sessions", "plain"])
def test_the_evaluation_reports_each_conversation_and_a_held_out_choice(
    tmp_path: Path, protocol: str
) -> None:
    data = tmp_path / "tiny.json"
    first = [
        ("Mel", "I play the cello every evening."),
        ("Joe", "I baked sourdough."),
        ("Mel", "I went to Lisbon."),
    ]
    second = [
        ("Mel", "The cello was my grandmother's."),
        ("Joe", "Rye bread baked today."),
        ("Mel", "Lisbon trip!"),
    ]
    data.write_bytes(orjson.dumps([_sample("a", first), _sample("b", second)]))
    result = subprocess.run(
        [
            sys.executable,
            "scripts/eval_locomo.py",
            "--data",
            str(data),
            "--protocol",
            protocol,
            "--folds",
            "--configs",
            "bm25",
            "dense",
            "--weights",
            "mix=semantic=0.5,lexical=0.5",
            "--json",
            "-",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = orjson.loads(result.stdout)
    assert report["protocol"] == protocol
    assert set(report["configs"]) == {"bm25", "dense", "mix"}
    bm25 = report["configs"]["bm25"]
    assert bm25["questions"] == 4  # category 5 is left out
    assert bm25["recall"]["@20"] == 1.0  # three memories each: everything is in the top 20
    assert set(bm25["by_sample"]) == {"a", "b"}
    assert bm25["by_category"]["single-hop"]["questions"] == 2
    assert bm25["by_category"]["multi-hop"]["questions"] == 2
    folds = report["folds"]["folds"]
    assert set(folds) == {"a", "b"}
    for sample, fold in folds.items():
        other = "b" if sample == "a" else "a"
        chosen = fold["chosen"]
        best = max(report["configs"][c]["by_sample"][other]["recall"]["@10"] for c in report["configs"])
        assert (
            report["configs"][chosen]["by_sample"][other]["recall"]["@10"] == best
        )  # chosen on the other one
        assert fold["held_out"] == report["configs"][chosen]["by_sample"][sample]["recall"]["@10"]
    assert "Leave one conversation out" in result.stderr


def test_without_the_data_it_says_where_to_get_it(tmp_path: Path) -> None:
    """Outside the team's folder layout: the script names what it looked for and where LoCoMo
    is published, instead of a traceback."""
    for arguments, env in (
        (["--data", str(tmp_path / "missing.json")], {}),
        ([], {"LOCOMO_DATA": str(tmp_path / "missing.json")}),
    ):
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "eval_locomo.py"), *arguments],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **env},
        )
        assert result.returncode == 1
        assert "missing.json: no such file" in result.stderr
        assert "https://github.com/snap-research/locomo" in result.stderr
        assert "Traceback" not in result.stderr
