"""A scripted group scene: two personas (Aria, Kira) and a user (sam) over 20 turns, through a real
MCP client, with the relationship and emotion trajectories it produces.

The personas' words come from a scripted model behind the tests' Ollama stand-in (so the run
needs no Ollama); everything else is the real server: persona_chat for the user's lines,
conversation_speak when a persona answers the other, conversation_next_speaker to choose who
speaks (seeded with the turn number, so every run is the same), and the test clock moving five
minutes per turn (so feelings drift).

    python scripts/scene.py --json scene.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from core.config import load_settings
from persona_mcp import build_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Ollama stand-in
sys.path.insert(0, str(Path(__file__).parent))
from _report import emit

from tests.ollama_standin import run_standin

# What each persona says, in order, whoever it answers.
LINES = {
    "Aria": [
        "Welcome, friend! I am so glad you came; the tavern is lovely tonight.",
        "Kira, your stories are wonderful, I love how you tell them.",
        "A ballad of the old library? I would be delighted to write one!",
        "Oh, that hurt a little, Kira. I only meant to help.",
        "Thank you, that is kind. Let us start again, together.",
        "Sam, you bring out the best in both of us. Thank you!",
        "I am tired, but happy. What a good evening this was.",
        "Goodnight, dear friends.",
    ],
    "Kira": [
        "Hello. I am Kira; I study the history of this town.",
        "The old library was founded in 1602, by a guild of printers.",
        "That is a fair question; the records are clear on it.",
        "Honestly, Aria, that song was wrong about the dates, and it annoyed me.",
        "I am sorry, Aria. That was unkind of me; your songs are lovely.",
        "Sam, thank you for the good questions tonight.",
        "It was a great evening. I enjoyed it more than I expected.",
        "Goodnight. Come by the archive any time.",
    ],
}

# (who, text): "sam" speaks to whoever next_speaker picks; "speak" lets the next persona answer.
SCENE: list[tuple[str, str | None]] = [
    ("sam", "Hello Aria and Kira! I am so happy to meet you both."),
    ("speak", None),
    ("sam", "Kira, tell me about the history of the old library?"),
    ("speak", None),
    ("sam", "Aria, could you make a song about it?"),
    ("speak", None),
    ("speak", None),
    ("speak", None),
    ("sam", "Come on, you two, be kind to each other."),
    ("speak", None),
    ("speak", None),
    ("sam", "That is wonderful, thank you both, I love this."),
    ("speak", None),
    ("sam", "What did you enjoy most tonight?"),
    ("speak", None),
    ("speak", None),
    ("sam", "Thanks for a lovely evening, friends!"),
    ("speak", None),
    ("speak", None),
    ("sam", "Goodnight!"),
]


def scripted_model() -> Any:
    said = {"Aria": 0, "Kira": 0}

    def reply(messages: list[dict[str, Any]]) -> str:
        system = messages[0]["content"]
        name = "Aria" if system.startswith("You are Aria") else "Kira"
        line = LINES[name][min(said[name], len(LINES[name]) - 1)]
        said[name] += 1
        return line

    return reply


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"{tool} failed: {result.content}")
    return result.structured_content


async def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        run_standin({"nomic-embed-text": 64}, chat_models={"llama3.2": scripted_model()}) as ollama,
    ):
        settings = load_settings(
            {},
            data_dir=Path(folder),
            toolsets=("all",),
            test_clock=True,
            decay_enabled=False,
            embedder="ollama",
            ollama_host=ollama.url,
        )
        async with Client(build_server(settings)) as client:
            room = (await call(client, "conversation_start", participants=["aria", "kira"], user_id="sam"))[
                "id"
            ]
            for turn, (who, text) in enumerate(SCENE, start=1):
                choice = await call(
                    client, "conversation_next_speaker", conversation_id=room, message=text, seed=turn
                )
                if who == "sam":
                    reply = await call(
                        client,
                        "persona_chat",
                        message=text,
                        persona_id=choice["persona_id"],
                        conversation_id=room,
                    )
                else:
                    reply = await call(
                        client, "conversation_speak", conversation_id=room, persona_id=choice["persona_id"]
                    )
                row = {
                    "turn": turn,
                    "said_by": "sam" if who == "sam" else None,
                    "speaker": reply["persona_id"],
                    "why": choice["reason"],
                    "answered": reply["relationship"]["party"] if reply["relationship"] else None,
                    "reply": reply["response"],
                }
                for a, b in (("aria", "user:sam"), ("kira", "user:sam"), ("aria", "kira")):
                    bond = await call(client, "relationship_get", persona_a=a, persona_b=b)
                    row[f"{a}~{b}"] = {k: bond[k] for k in ("type", "affinity", "trust", "familiarity")}
                for persona in ("aria", "kira"):
                    state = await call(client, "emotional_get_state", persona_id=persona)
                    row[persona] = {k: state[k] for k in ("label", "valence", "energy", "stress")}
                rows.append(row)
                await call(client, "system_clock_advance", hours=5 / 60)
            compatibility = await call(
                client, "relationship_compatibility", persona_a="aria", persona_b="kira"
            )
    return {"turns": rows, "compatibility_after": compatibility}


def _bond(row: dict[str, Any], key: str) -> str:
    bond = row[key]
    return f"{bond['type'][:12]} {bond['affinity']:+.2f}/{bond['trust']:.2f}"


def _mood(row: dict[str, Any], persona: str) -> str:
    mood = row[persona]
    return f"{mood['label']:<9} v{mood['valence']:+.2f} e{mood['energy']:.2f}"


def table(report: dict[str, Any]) -> str:
    head = (
        f"{'turn':>4}  {'speaker':<7} {'answers':<9} {'why':<13} {'aria~sam':<18} {'kira~sam':<18} "
        f"{'aria~kira':<20} {'aria mood':<24} {'kira mood':<24}"
    )
    lines = [head, "-" * len(head)]
    for row in report["turns"]:
        lines.append(
            f"{row['turn']:>4}  {row['speaker']:<7} {row['answered'] or '-':<9} {row['why']:<13} "
            f"{_bond(row, 'aria~user:sam'):<18} {_bond(row, 'kira~user:sam'):<18} "
            f"{_bond(row, 'aria~kira'):<20} {_mood(row, 'aria'):<24} {_mood(row, 'kira'):<24}"
        )
    after = report["compatibility_after"]
    lines.append(f"\nAria-Kira compatibility after the scene: {after['score']:.2f} {after['factors']}")
    lines.append("bond columns: type affinity/trust; mood: label, valence, energy")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="Write the JSON report here ('-' for stdout).")
    args = parser.parse_args()
    report = anyio.run(run)
    emit(report, table(report), args.json)


if __name__ == "__main__":
    main()
