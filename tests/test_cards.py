"""persona_import / persona_export: character cards, PNG cards and our own files, through a real
MCP client. Round trips lose nothing; the lorebook reaches the chat context."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client

from core.interop.cards import CARD_FIELDS, OWN_FIELDS
from core.interop.png import blank_png, text_chunks, with_text_chunks
from core.models import PersonaSpec
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio

DATA = Path(__file__).parent / "data"


def _card(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def lost(original: Any, exported: Any, path: str = "$") -> list[str]:
    """Everything in `original` that `exported` does not hold with the same value (null and
    absent are the same thing in a card)."""
    if isinstance(original, dict):
        if not isinstance(exported, dict):
            return [f"{path} is no longer an object"]
        problems = []
        for key, value in original.items():
            if value is None and exported.get(key) is None:
                continue
            if key not in exported:
                problems.append(f"{path}.{key} is missing")
            else:
                problems += lost(value, exported[key], f"{path}.{key}")
        return problems
    if isinstance(original, list):
        if not isinstance(exported, list) or len(original) != len(exported):
            return [f"{path}: {original!r} became {exported!r}"]
        return [
            p
            for i, (a, b) in enumerate(zip(original, exported, strict=True))
            for p in lost(a, b, f"{path}[{i}]")
        ]
    return [] if original == exported else [f"{path}: {original!r} became {exported!r}"]


async def _export(client: Client, persona_id: str, fmt: str, **options: Any) -> str:
    result = await call(client, "persona_export", persona_id=persona_id, format=fmt, **options)
    return str(result["content"])


def test_every_persona_field_has_a_place_in_a_card() -> None:
    assert set(CARD_FIELDS) | set(OWN_FIELDS) == set(PersonaSpec.model_fields)
    assert not set(CARD_FIELDS) & set(OWN_FIELDS)


async def test_sillytavern_v2_card_round_trips_with_nothing_lost(client: Client) -> None:
    original = _card("cards/sillytavern_v2.json")
    imported = await call(client, "persona_import", content=json.dumps(original))
    assert imported["format"] == "card_v2"
    persona = imported["persona"]
    assert persona["id"] == "seraphina"
    assert persona["first_message"].startswith("*You wake with a start.*")
    assert persona["talkativeness"] == 0.6  # SillyTavern's extensions.talkativeness
    entries = persona["lorebook"]["entries"]
    assert (entries[0]["sticky"], entries[0]["position"]) == (2, "before_char")
    assert (entries[1]["logic"], entries[1]["depth"], entries[1]["role"], entries[1]["cooldown"]) == (
        "and_all",
        2,
        "user",
        3,
    )
    assert any("some_future_field" in w for w in imported["warnings"])
    exported = json.loads(await _export(client, "seraphina", "card_v2"))
    assert lost(original, exported) == []
    assert exported["data"]["extensions"]["persona_mcp"]["persona"]["talkativeness"] == 0.6


async def test_v3_card_round_trips_with_nothing_lost(client: Client) -> None:
    original = _card("cards/risu_v3_decorators.json")
    imported = await call(client, "persona_import", content=json.dumps(original))
    persona = imported["persona"]
    assert (persona["nickname"], persona["creation_date"]) == ("Captain", 1718000000)
    assert persona["assets"][1]["name"] == "angry"
    exported = json.loads(await _export(client, persona["id"], "card_v3"))
    # modification_date is the export's own time, as the V3 spec asks.
    assert lost(original, exported) == [
        "$.data.modification_date: 1718500000 became " + repr(exported["data"]["modification_date"])
    ]
    assert exported["data"]["creation_date"] == 1718000000


async def test_our_persona_survives_a_v2_card_and_a_png_card(client: Client) -> None:
    aria = await call(client, "persona_get", persona_id="aria")
    for fmt in ("card_v2", "card_v3", "png", "yaml", "json"):
        content = await _export(client, "aria", fmt)
        copy = (
            await call(
                client,
                "persona_import",
                content=content,
                persona_id=f"aria-{fmt.replace('_', '-')}",
                name=f"Aria {fmt}",
            )
        )["persona"]
        for field in PersonaSpec.model_fields:
            if field not in ("name", "extensions", "creation_date"):
                assert copy[field] == aria[field], (fmt, field)
        # A V3 card carries the date the persona was made (the spec asks for it); a V2 card has
        # none, which reads back as 0 (unknown, as V3 says) rather than the day of the import.
        made = int(datetime.fromisoformat(aria["created_at"]).timestamp())
        dates = {"card_v2": 0, "card_v3": made, "png": made, "yaml": None, "json": None}
        assert copy["creation_date"] == dates[fmt], fmt


async def test_png_export_is_a_valid_png_carrying_both_cards(client: Client) -> None:
    png = base64.b64decode(await _export(client, "kira", "png"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = text_chunks(png)
    v3 = json.loads(base64.b64decode(chunks["ccv3"]))
    v2 = json.loads(base64.b64decode(chunks["chara"]))
    assert (v3["spec"], v2["spec"]) == ("chara_card_v3", "chara_card_v2")
    assert v2["data"]["creator_notes"].startswith("This character card is Character Card V3")
    # The image itself decodes: IHDR says 64x64 RGB, and IDAT inflates to exactly that many rows.
    width, height = struct.unpack(">II", png[16:24])
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
    v2_only = base64.b64decode(await _export(client, "kira", "png", card_spec="v2"))
    assert set(text_chunks(v2_only)) == {"chara"}


async def test_png_export_into_a_given_image_keeps_its_pixels_and_chunks(client: Client) -> None:
    picture = with_text_chunks(blank_png("a portrait"), {"Comment": "made by hand"})
    png = base64.b64decode(await _export(client, "aria", "png", image=base64.b64encode(picture).decode()))
    chunks = text_chunks(png)
    assert chunks["Comment"] == "made by hand"
    assert picture[: picture.index(b"IEND")].split(b"tEXt")[0] in png  # IHDR and IDAT untouched
    again = base64.b64decode(await _export(client, "aria", "png", image=base64.b64encode(png).decode()))
    assert sorted(text_chunks(again)) == ["Comment", "ccv3", "chara"]  # replaced, not duplicated


async def test_a_card_inside_someone_elses_png_imports(client: Client) -> None:
    card = _card("cards/risu_v3_decorators.json")
    png = with_text_chunks(blank_png("x"), {"ccv3": base64.b64encode(json.dumps(card).encode()).decode()})
    imported = await call(
        client, "persona_import", content="data:image/png;base64," + base64.b64encode(png).decode()
    )
    assert (imported["format"], imported["persona"]["name"]) == ("card_v3 (png)", "Captain Mira Vale")


def readme_example() -> str:
    """The complete YAML example of the personas page's "Authoring personas in YAML" section."""
    page = (Path(__file__).parent.parent / "docs" / "personas.md").read_text()
    section = page[page.index("## Authoring personas in YAML") :]
    body = section[section.index("```yaml\n") + 8 :]
    return body[: body.index("\n```")]


async def test_the_documented_yaml_example_imports_and_exports_readably(client: Client) -> None:
    text = readme_example()
    imported = await call(client, "persona_import", content=text)
    persona = imported["persona"]
    assert (persona["id"], persona["traits"]["openness"]) == ("mara-holt", 0.8)
    assert imported["warnings"] == []
    exported = yaml.safe_load(await _export(client, "mara-holt", "yaml"))
    assert exported["id"] == "mara-holt"
    assert "talkativeness" not in exported or exported["talkativeness"] != 0.5  # defaults are left out
    assert exported["lorebook"]["entries"][0]["keys"] == persona["lorebook"]["entries"][0]["keys"]


async def test_v1_card_imports(client: Client) -> None:
    v1 = {
        "char_name": "Old Tom",
        "char_persona": "A ferryman.",
        "char_greeting": "Fare, please.",
        "world_scenario": "A river.",
    }
    imported = await call(client, "persona_import", content=json.dumps(v1))
    persona = imported["persona"]
    assert (imported["format"], persona["description"], persona["first_message"]) == (
        "card_v1",
        "A ferryman.",
        "Fare, please.",
    )


async def test_import_of_an_existing_persona_needs_merge(client: Client) -> None:
    content = await _export(client, "kira", "card_v2")
    error = await call_error(client, "persona_import", content=content)
    assert "merge=true" in error
    changed = json.loads(content)
    changed["data"]["description"] = "Kira, now also a cartographer."
    merged = await call(client, "persona_import", content=json.dumps(changed), merge=True)
    assert (merged["action"], merged["persona"]["description"]) == (
        "merged",
        "Kira, now also a cartographer.",
    )
    assert merged["persona"]["version"] == 2


async def test_lorebook_entries_reach_the_context_and_chat(client: Client) -> None:
    await call(client, "persona_import", content=json.dumps(_card("cards/sillytavern_v2.json")))
    context = await call(
        client, "persona_context", persona_id="seraphina", message="I dreamt of the clearing"
    )
    used = {lore["name"]: lore for lore in context["lore_used"]}
    assert set(used) == {"The glade", "Always-on lore"}
    assert (used["The glade"]["reason"], used["The glade"]["matched"]) == ("key", "clearing")
    system = context["system_prompt"]
    # before_char goes before the description, after_char after the persona's sections.
    assert (
        system.index("hidden by an enchantment")
        < system.index("Who you are")
        < system.index("Heartstone glows")
    )
    assert "{{user}}" not in system
    assert "{{char}}" not in system
    beasts = await call(
        client, "persona_context", persona_id="seraphina", message="Shadow beasts! It is night and so dark."
    )
    depth = [lore for lore in beasts["lore_used"] if lore["name"] == "Shadow beasts"]
    assert [lore["placement"] for lore in depth] == ["depth"]
    assert beasts["messages"][-3] == {
        "role": "user",
        "content": "Shadow beasts hunt at night and fear the light of the Heartstone.",
    }


async def test_merging_into_an_archived_persona_brings_it_back(client: Client) -> None:
    content = await _export(client, "kira", "yaml")
    await call(client, "persona_delete", persona_id="kira")
    merged = await call(client, "persona_import", content=content, merge=True)
    assert (merged["action"], merged["persona"]["archived_at"]) == ("merged", None)


def _entry(key: str, content: str, **fields: Any) -> dict[str, Any]:
    return {"keys": [key], "content": content, "enabled": True, "insertion_order": 100, **fields}


async def test_keys_match_as_each_editor_s_authors_expect(client: Client) -> None:
    """SillyTavern's null match_whole_words (its default: anywhere), RisuAI's
    risu_fullWordMatching and chub's whole_words_only, and CJK keys inside sentences."""
    entries = [
        _entry("Slime", "ST-DEFAULT", extensions={"match_whole_words": None}),
        _entry("art", "ST-WHOLE", extensions={"match_whole_words": True}),
        _entry("dragon", "RISU-PARTIAL", extensions={"risu_fullWordMatching": False}),
        _entry("wolf", "RISU-WHOLE", extensions={"risu_fullWordMatching": True}),
        _entry("elf", "CHUB-PARTIAL", whole_words_only=False),
        _entry("教堂", "CJK-CHURCH", extensions={"match_whole_words": True}),
        _entry("하피", "KO-HARPY"),
    ]
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {"name": "Wanderer", "description": "A wanderer.", "character_book": {"entries": entries}},
    }
    imported = await call(client, "persona_import", content=json.dumps(card))
    book = imported["persona"]["lorebook"]["entries"]
    assert [entry["whole_words"] for entry in book] == [None, True, False, True, False, True, None]
    message = (
        "Two slimes, a party, dragonflies, werewolves, a selfie. 我们去教堂看看吧. 하피가 하늘에서 내려왔어"
    )
    context = await call(client, "persona_context", persona_id="wanderer", message=message)
    system = context["system_prompt"]
    assert "ST-DEFAULT" in system  # Slime in slimes: SillyTavern's default is anywhere
    assert "ST-WHOLE" not in system  # art in party: the author asked for whole words
    assert "RISU-PARTIAL" in system
    assert "RISU-WHOLE" not in system  # wolf in werewolves: whole words asked for
    assert "CHUB-PARTIAL" in system
    assert "CJK-CHURCH" in system  # whole words, but Chinese has no spaces to bound them
    assert "KO-HARPY" in system  # 하피 + the particle 가
    exported = json.loads(await _export(client, "wanderer", "card_v2"))
    back = exported["data"]["character_book"]["entries"]
    assert back[2]["extensions"]["risu_fullWordMatching"] is False  # the author's own field, kept
    assert back[1]["extensions"]["match_whole_words"] is True
    again = await call(
        client,
        "persona_import",
        content=json.dumps(exported),
        persona_id="wanderer-again",
        name="Wanderer Again",
    )
    assert [entry["whole_words"] for entry in again["persona"]["lorebook"]["entries"]] == [
        entry["whole_words"] for entry in book
    ]


async def test_the_v2_copy_in_a_png_has_no_v3_decorators_and_mirrors_the_v1_fields(client: Client) -> None:
    decorated = "@@depth 0\n@@@SYSTEM\nThe moon is made of glass here."
    entries = [{"keys": ["moon"], "content": decorated, "enabled": True, "insertion_order": 100}]
    lore = {"entries": entries}
    await call(
        client,
        "persona_create",
        name="Lunaria",
        description="A moon priestess.",
        first_message="Hush.",
        lorebook=lore,
    )
    chunks = text_chunks(base64.b64decode(await _export(client, "lunaria", "png")))
    v3 = json.loads(base64.b64decode(chunks["ccv3"]))
    v2 = json.loads(base64.b64decode(chunks["chara"]))
    assert v3["data"]["character_book"]["entries"][0]["content"] == decorated  # V3 readers get them
    assert v2["data"]["character_book"]["entries"][0]["content"] == "The moon is made of glass here."
    # V1-only readers find the card's fields where V1 put them.
    assert (v2["name"], v2["description"], v2["first_mes"]) == ("Lunaria", "A moon priestess.", "Hush.")


async def test_what_a_card_wrote_comes_back_as_it_was(client: Client) -> None:
    """Values the persona keeps in a normalised form: tags that differ only in case, a key that
    is empty, chub's empty position, a V3 card with no creation date (0: unknown)."""
    entries = [
        {"keys": [""], "content": "Never keyed.", "enabled": True, "insertion_order": 100, "constant": True},
        {"keys": ["tavern"], "content": "Warm.", "enabled": True, "insertion_order": 100, "position": ""},
    ]
    card = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Quill",
            "description": "A scribe.",
            "tags": ["AnyPOV", "AnyPoV", "Fantasy"],
            "creation_date": 0,
            "character_book": {"entries": entries},
        },
    }
    imported = await call(client, "persona_import", content=json.dumps(card))
    assert imported["persona"]["tags"] == ["AnyPOV", "Fantasy"]
    assert any("'AnyPoV' is 'AnyPOV' but for case" in warning for warning in imported["warnings"])
    assert not any("position" in warning for warning in imported["warnings"])  # "" is just unset
    exported = json.loads(await _export(client, "quill", "card_v3"))
    assert exported["data"]["tags"] == ["AnyPOV", "AnyPoV", "Fantasy"]
    assert exported["data"]["creation_date"] == 0
    back = exported["data"]["character_book"]["entries"]
    assert back[0]["keys"] == [""]
    assert back[1]["position"] == ""
    assert lost(card["data"], exported["data"]) == []
    # Once the persona changes the value, the change wins.
    await call(client, "persona_update", persona_id="quill", changes={"tags": ["Scribe"]})
    assert json.loads(await _export(client, "quill", "card_v3"))["data"]["tags"] == ["Scribe"]


async def test_a_world_info_file_attaches_as_it_is(client: Client) -> None:
    world = (DATA / "world_info_sillytavern.json").read_text()
    refused = await call_error(client, "persona_import", content=world)
    assert "This is a lorebook (SillyTavern World Info), not a persona" in refused
    assert "persona_update" in refused
    updated = await call(client, "persona_update", persona_id="kira", changes={"lorebook": json.loads(world)})
    book = updated["lorebook"]
    assert book["name"] == "Silverwood lore"
    forest, festival, chapel = book["entries"]
    assert (forest["keys"], forest["position"], forest["comment"]) == (
        ["Silverwood", "the forest"],
        "before_char",
        "The Silverwood",
    )
    assert forest["extensions"]["world_info"]["probability"] == 100  # what has no typed field is kept
    assert (festival["depth"], festival["role"], festival["secondary_keys"]) == (
        2,
        "user",
        ["night", "winter"],
    )
    assert festival["insertion_order"] == 50
    assert chapel["enabled"] is False
    context = await call(
        client,
        "persona_context",
        persona_id="kira",
        message="Tell me about the Silverwood at the lantern festival tonight, at night.",
    )
    used = {lore["name"] for lore in context["lore_used"]}
    assert {"The Silverwood", "Festival"} <= used
    assert "Chapel" not in used  # disabled in the file
    v3 = {
        "spec": "lorebook_v3",
        "data": {
            "name": "Wrapped",
            "entries": [{"keys": ["moon"], "content": "Glass moon.", "enabled": True, "insertion_order": 10}],
        },
    }
    wrapped = await call(client, "persona_update", persona_id="kira", changes={"lorebook": v3})
    assert wrapped["lorebook"]["name"] == "Wrapped"
    assert wrapped["lorebook"]["entries"][0]["keys"] == ["moon"]
    refused_v3 = await call_error(client, "persona_import", content=json.dumps(v3))
    assert "This is a lorebook (lorebook_v3), not a persona" in refused_v3
