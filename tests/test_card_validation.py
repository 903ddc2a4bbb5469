"""Bad persona files are refused with a clear error and store nothing; fuzzed files never raise
anything but that clear error."""

from __future__ import annotations

import base64
import copy
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from core.config import Settings
from core.errors import PersonaMCPError
from core.interop.bundle import read_memories, read_state
from core.interop.documents import parse
from core.interop.png import blank_png, with_text_chunks
from core.interop.safe_load import MAX_CONTENT_BYTES, load_json
from core.personas.service import validated_spec
from tests.conftest import call, call_error
from tests.store_rows import value

pytestmark = pytest.mark.anyio

DATA = Path(__file__).parent / "data"
V2 = json.loads((DATA / "cards" / "sillytavern_v2.json").read_text())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _png_with(chunks: dict[str, str]) -> bytes:
    return with_text_chunks(blank_png("fuzz"), chunks)


CARD_PNG = _png_with({"chara": _b64(json.dumps(V2).encode())})


def _yaml(**fields: Any) -> str:
    return json.dumps({"name": "Test Person", **fields})


def _tampered_crc() -> bytes:
    png = bytearray(CARD_PNG)
    png[png.index(b"tEXt") + 10] ^= 0xFF  # a byte of the card's text, under the chunk's CRC
    return bytes(png)


def _oversized_chunk() -> bytes:
    head = blank_png("x")[:-12]  # up to IEND
    return head + struct.pack(">I", 30 * 2**20) + b"tEXt" + b"chara\0"


def _state(**state: Any) -> str:
    return json.dumps({"name": "Stateful", "state": state})


_BOND = {"party": "user:sam", "type": "friend", "trust": 0.5, "familiarity": 0.1, "interaction_count": 1}
_LOREBOOK_CARD = {
    "spec": "chara_card_v2",
    "data": {"name": "Z", "character_book": {"entries": [{"keys": {}}]}},
}
_WIDE = {"name": "x", "extensions": {"a": [0] * 600_000}}
_BILLION_LAUGHS = "a: &a ['lol','lol','lol']\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nname: *c\n"

# (case, content, extra arguments, words the error must contain)
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("empty", "   ", {}, "empty"),
    ("not a png", _b64(b"GIF89a" + b"\0" * 40), {"format": "png"}, "not a PNG"),
    ("truncated png", _b64(CARD_PNG[: len(CARD_PNG) // 2]), {}, "truncated"),
    ("png chunk too large", _b64(_oversized_chunk()), {}, "larger than"),
    ("png crc damaged", _b64(_tampered_crc()), {}, "CRC"),
    ("png without a card", _b64(blank_png("plain")), {}, "no character card"),
    ("bad base64 in the card chunk", _b64(_png_with({"chara": "!!not base64!!"})), {}, "base64"),
    ("card chunk is not json", _b64(_png_with({"ccv3": _b64(b"{nope")})), {}, "not valid JSON"),
    ("bad base64 content", "iVBORw0KGgo!!!", {}, "base64"),
    ("json nested too deep", "[" * 200 + "]" * 200, {}, "nests deeper"),
    ("json with too many values", json.dumps(_WIDE), {}, "more than"),
    ("yaml alias bomb", _BILLION_LAUGHS, {}, "anchors"),
    ("not an object", "[1, 2, 3]", {}, "one object"),
    ("a lorebook, not a persona", json.dumps({"spec": "lorebook_v3", "data": {}}), {}, "lorebook"),
    ("unknown field (typo)", _yaml(personalty="x"), {}, "not a known field"),
    ("trait out of range", _yaml(traits={"openness": 1.5}), {}, "traits.openness"),
    ("empty name", _yaml(name="   "), {}, "name"),
    ("oversized field", _yaml(description="x" * 20_000), {}, "description"),
    ("duplicated aliases", _yaml(aliases=["Tess", "tess"]), {}, "twice"),
    ("alias repeats the name", _yaml(aliases=["Test Person"]), {}, "aliases"),
    ("card without a name", json.dumps({"spec": "chara_card_v2", "data": {"description": "x"}}), {}, "name"),
    (
        "lorebook keys are an object",
        json.dumps(_LOREBOOK_CARD),
        {},
        "entries[0].keys",
    ),
    ("format disagrees", json.dumps(V2), {"format": "card_v3"}, "card_v2"),
    ("state from a newer version", _state(version=99), {}, "state.version"),
    (
        "memory bundle cut short",
        _state(memories={"count": 2, "jsonl": json.dumps({"content": "one"})}),
        {},
        "cut short",
    ),
    ("memory line not json", _state(memories={"count": 1, "jsonl": "{oops"}), {}, "line 1"),
    ("relationship out of range", _state(relationships=[{**_BOND, "affinity": 3}]), {}, "affinity"),
]  # fmt: skip


def _persona_rows(settings: Settings) -> int:
    return int(value(settings, "SELECT count(*) FROM personas"))


@pytest.mark.parametrize(("case", "content", "extra", "words"), BAD, ids=[case[0] for case in BAD])
async def test_bad_files_are_refused_clearly_and_store_nothing(
    client: Client, settings: Settings, case: str, content: str, extra: dict[str, Any], words: str
) -> None:
    before = _persona_rows(settings)
    message = await call_error(client, "persona_import", content=content, **extra)
    assert words in message, (case, message)
    assert "Traceback" not in message
    assert _persona_rows(settings) == before


async def test_bad_export_arguments_are_refused(client: Client) -> None:
    assert "image" in await call_error(client, "persona_export", persona_id="aria", format="png", image="@@@")
    not_png = _b64(b"just text, not an image")
    assert "not a PNG" in await call_error(
        client, "persona_export", persona_id="aria", format="png", image=not_png
    )
    assert "nobody" in await call_error(client, "persona_export", persona_id="nobody", format="yaml")


def test_content_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(PersonaMCPError, match="larger than"):
        load_json(b" " * (MAX_CONTENT_BYTES + 1), "content")


# Fuzzing: every step an import takes before it writes anything.
def _validate(content: str) -> None:
    parsed = parse(content)
    validated_spec(parsed.fields, "content")
    if parsed.state is not None:
        state = read_state(parsed.state, "content")
        if state.memories is not None:
            read_memories(state.memories, "content")


def _error_of(content: str) -> str | None:
    try:
        _validate(content)
    except PersonaMCPError as exc:
        return exc.message
    return None


def _only_clear_errors(content: str) -> None:
    message = _error_of(content)
    if message is not None:
        assert message.strip()
        assert "Traceback" not in message


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@_FUZZ
@given(data=st.data())
def test_fuzz_mutated_cards_fail_only_with_clear_errors(data: st.DataObject) -> None:
    paths = _paths(V2)
    card = V2
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        card = _replace(card, path, data.draw(_JSON))
        paths = _paths(card)
    _only_clear_errors(json.dumps(card))


@settings(max_examples=1000, deadline=None)
@given(document=_JSON)
def test_fuzz_random_json_and_yaml_fail_only_with_clear_errors(document: Any) -> None:
    _only_clear_errors(json.dumps(document))
    _only_clear_errors(json.dumps({"spec": "chara_card_v3", "data": document}))


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzz_random_text_fails_only_with_clear_errors(text: str) -> None:
    _only_clear_errors(text)


@settings(max_examples=800, deadline=None)
@given(data=st.data())
def test_fuzz_damaged_pngs_fail_only_with_clear_errors(data: st.DataObject) -> None:
    png = bytearray(CARD_PNG)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(png) - 1))
        if action == "flip":
            png[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del png[at:]
            if not png:
                png = bytearray(b"\x89")
        else:
            png[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    # Fixing the CRCs lets the damage reach the chunk and card parsers too.
    if data.draw(st.booleans()):
        png = bytearray(_recrc(bytes(png)))
    _only_clear_errors(_b64(bytes(png)))


def _recrc(png: bytes) -> bytes:
    out, offset = bytearray(png[:8]), 8
    while offset + 12 <= len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        end = offset + 12 + length
        if end > len(png):
            break
        body = png[offset + 4 : end - 4]
        out += png[offset : offset + 4] + body + struct.pack(">I", zlib.crc32(body))
        offset = end
    return bytes(out + png[offset:])


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 6)
    scalars = [
        None,
        True,
        rng.randint(-(2**70), 2**70),
        rng.random() * 1e6,
        "",
        "x" * rng.randrange(40_000),
        "🦊",
    ]
    if kind < 6:
        return rng.choice(scalars)
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["a", "keys", "name", "", "@@"]): _random_json(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


async def test_fuzz_through_the_server_stores_nothing_on_error(client: Client, settings: Settings) -> None:
    """150 mutated cards through a real client session (seeded, so a failure reproduces): each is
    stored, or refused as a tool error naming the problem with nothing stored."""
    rng = random.Random(7)
    paths = _paths(V2)
    outcomes = {"stored": 0, "refused": 0}
    for _ in range(150):
        card = _replace(V2, rng.choice(paths), _random_json(rng))
        if isinstance(card, dict) and isinstance(card.get("data"), dict):
            card["data"]["name"] = rng.choice(["Seraphina", "", None, 5, "Aria"])
        before = _persona_rows(settings)
        result = await client.call_tool(
            "persona_import", {"content": json.dumps(card), "persona_id": "fuzzed"}
        )
        if result.is_error:
            outcomes["refused"] += 1
            assert _persona_rows(settings) == before
            assert result.content[0].text.startswith("persona_import:")  # type: ignore[union-attr]
        else:
            outcomes["stored"] += 1
            await call(client, "persona_delete", persona_id="fuzzed", purge=True)
    assert min(outcomes.values()) > 10, outcomes  # both paths were exercised
