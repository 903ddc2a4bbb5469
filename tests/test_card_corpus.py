"""A corpus of cards written to mimic each community format (tests/data/cards: a TavernAI V1 card,
a SillyTavern V2 card with its extensions, a chub card with chub's fields, a RisuAI V3 card with
decorators, a Chinese card with a Chinese and Korean book), each imported and exported through a
real MCP client, as JSON and through a PNG: no value the card had is lost."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from core.interop.png import text_chunks
from tests.conftest import call
from tests.test_cards import lost

pytestmark = pytest.mark.anyio
CORPUS = {
    path.stem: path.read_text() for path in sorted((Path(__file__).parent / "data" / "cards").glob("*.json"))
}


def _spec(card: dict[str, Any]) -> str:
    return {"chara_card_v3": "v3", "chara_card_v2": "v2"}.get(str(card.get("spec")), "v1")


def _without_time(card: dict[str, Any]) -> dict[str, Any]:
    """A card without modification_date, which an export sets to its own time (as V3 asks)."""
    data = {key: value for key, value in card.get("data", {}).items() if key != "modification_date"}
    return {**card, "data": data} if "data" in card else card


def test_the_corpus_has_every_community_format() -> None:
    assert set(CORPUS) >= {
        "v1_tavernai",
        "sillytavern_v2",
        "chub_v2",
        "risu_v3_decorators",
        "cjk_v2",
    }


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_a_community_card_round_trips_with_every_value(client: Client, name: str) -> None:
    text = CORPUS[name]
    original = json.loads(text)
    spec = _spec(original)
    imported = await call(client, "persona_import", content=text)
    persona_id = imported["persona"]["id"]
    assert imported["format"] == f"card_{spec}"
    if spec == "v1":
        # V1 readers find a V1 card's fields, and the rest it had, at the top of the PNG's V2 copy.
        png = await call(client, "persona_export", persona_id=persona_id, format="png", card_spec="v2")
        chara = json.loads(base64.b64decode(text_chunks(base64.b64decode(png["content"]))["chara"]))
        mirrored = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
        assert lost({key: original[key] for key in mirrored}, chara) == []
        # TavernAI's own bookkeeping (metadata, chat, create_date, avatar) rides inside data.
        assert lost({key: v for key, v in original.items() if key not in mirrored}, chara["data"]) == []
        exported = json.loads(
            (await call(client, "persona_export", persona_id=persona_id, format="card_v2"))["content"]
        )
        assert (
            lost(
                {k: original[k] for k in ("name", "description", "personality", "scenario")}, exported["data"]
            )
            == []
        )
        return
    fmt = f"card_{spec}"
    exported = json.loads(
        (await call(client, "persona_export", persona_id=persona_id, format=fmt))["content"]
    )
    assert lost(_without_time(original), _without_time(exported)) == []
    # Through a PNG card, the persona gone, and back in from the PNG: still nothing lost.
    png = await call(client, "persona_export", persona_id=persona_id, format="png", card_spec=spec)
    await call(client, "persona_delete", persona_id=persona_id, purge=True)
    again = await call(client, "persona_import", content=png["content"])
    copy = json.loads(
        (await call(client, "persona_export", persona_id=again["persona"]["id"], format=fmt))["content"]
    )
    assert lost(_without_time(original), _without_time(copy)) == []
