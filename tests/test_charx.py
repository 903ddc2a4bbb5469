"""CharX archives and PNG cards keep what they carry besides the card: a CharX's assets,
module.risum and x_meta files, a PNG's other chunks (RisuAI's among them), byte for byte, through
a real MCP client and the CLI; hostile archives are refused before anything is stored."""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from core.errors import InvalidInput
from core.interop.charx import read_charx
from core.interop.png import blank_png, with_text_chunks
from persona_mcp.cli import main as cli_main
from tests.conftest import call, call_error
from tests.test_cards import lost

pytestmark = pytest.mark.anyio
DATA = Path(__file__).parent / "data"


def _card() -> dict[str, Any]:
    card: dict[str, Any] = json.loads((DATA / "cards" / "risu_v3_decorators.json").read_text())
    card["data"]["assets"] = [
        {"type": "icon", "uri": "embeded://assets/icon/image/1.png", "name": "main", "ext": "png"},
        {
            "type": "x-risu-asset",
            "uri": "embeded://assets/other/image/2.webp",
            "name": "smile",
            "ext": "webp",
        },
    ]
    return card


MEMBERS = {
    "module.risum": bytes(range(256)) * 40,  # opaque to us, RisuAI's own
    "x_meta/1.json": b'{"type":"PNG"}',
    "assets/icon/image/1.png": blank_png("Mira"),
    "x_meta/2.json": b'{"type":"WEBP"}',
    "assets/other/image/2.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(200),
}


def _zip(members: dict[str, bytes], card: Any = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if card is not None:
            archive.writestr("card.json", json.dumps(card, ensure_ascii=False))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


async def test_a_charx_round_trips_with_its_assets_byte_for_byte(client: Client) -> None:
    card = _card()
    content = base64.b64encode(_zip(MEMBERS, card)).decode()
    imported = await call(client, "persona_import", content=content)
    assert imported["format"] == "card_v3 (charx)"
    assert imported["persona"]["name"] == "Captain Mira Vale"
    assert imported["warnings"] == []
    exported = await call(client, "persona_export", persona_id=imported["persona"]["id"], format="charx")
    assert exported["encoding"] == "base64"
    back = _members(base64.b64decode(exported["content"]))
    assert {name: back[name] for name in MEMBERS} == MEMBERS
    assert set(back) == {*MEMBERS, "card.json"}
    written = json.loads(back["card.json"])["data"]
    assert written.pop("modification_date") >= card["data"].pop("modification_date")  # now: it changed hands
    assert lost(card["data"], written) == []


async def test_a_persona_made_here_exports_as_a_charx_with_a_main_icon(client: Client) -> None:
    exported = await call(client, "persona_export", persona_id="aria", format="charx")
    back = _members(base64.b64decode(exported["content"]))
    card = json.loads(back["card.json"])
    assert card["spec"] == "chara_card_v3"
    icons = [a for a in card["data"]["assets"] if a["type"] == "icon"]
    assert icons[0]["uri"] == "embeded://assets/icon/image/main.png"
    assert back["assets/icon/image/main.png"].startswith(b"\x89PNG")
    again = await call(
        client, "persona_import", content=exported["content"], persona_id="aria-2", name="Aria 2"
    )
    assert (
        again["persona"]["description"]
        == (await call(client, "persona_get", persona_id="aria"))["description"]
    )


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, offset = [], 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        out.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return out


def _raw_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


async def test_a_png_cards_other_chunks_come_back_byte_for_byte(client: Client) -> None:
    card = _card()
    card["data"]["name"] = "Chunky"
    plain = blank_png("Chunky")
    # RisuAI writes its assets as chunks beside the card; a tool may add zTXt or iTXt too.
    extra = (
        _raw_chunk(b"tEXt", b"chara-ext-asset_:0\x00" + base64.b64encode(b"asset bytes"))
        + _raw_chunk(b"tEXt", b"risuai\x00" + base64.b64encode(b'{"module":"x"}'))
        + _raw_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"drawn by hand"))
    )
    iend = plain.rindex(b"IEND") - 4
    png = with_text_chunks(
        plain[:iend] + extra + plain[iend:], {"ccv3": base64.b64encode(json.dumps(card).encode()).decode()}
    )
    imported = await call(client, "persona_import", content=base64.b64encode(png).decode())
    exported = await call(client, "persona_export", persona_id=imported["persona"]["id"], format="png")
    back = _chunks(base64.b64decode(exported["content"]))
    kept = [chunk for chunk in _chunks(png) if not chunk[1].startswith((b"ccv3\x00", b"chara\x00"))]
    assert [chunk for chunk in back if not chunk[1].startswith((b"ccv3\x00", b"chara\x00"))] == kept
    assert {chunk[1].split(b"\x00")[0] for chunk in back if chunk[0] == b"tEXt"} >= {
        b"ccv3",
        b"chara",
        b"risuai",
    }


async def test_hostile_charx_files_are_refused_and_store_nothing(client: Client) -> None:
    before = len((await call(client, "persona_list"))["personas"])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(_card()))
        archive.writestr("assets/big.bin", bytes(40 * 1024 * 1024))
    cases = {
        "zip bomb": (bomb.getvalue(), "zip bomb"),
        "climbs out": (_zip({"../evil.sh": b"rm -rf /"}, _card()), "unsafe"),
        "absolute": (_zip({"/etc/passwd": b"x"}, _card()), "unsafe"),
        "no card": (_zip(MEMBERS), "no card.json"),
        "not json": (_zip({"card.json": b"\xff\xfe not json"}), "not UTF-8"),
        "truncated": (_zip(MEMBERS, _card())[:200], "not a readable CharX"),
        "too many": (_zip({f"assets/{n}.bin": b"" for n in range(10_001)}, _card()), "at most 10,000"),
    }
    for name, (archive_bytes, expected) in cases.items():
        message = await call_error(client, "persona_import", content=base64.b64encode(archive_bytes).decode())
        assert expected in message, name
    assert len((await call(client, "persona_list"))["personas"]) == before


def test_the_cli_imports_and_exports_charx_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    source = tmp_path / "mira.charx"
    source.write_bytes(_zip(MEMBERS, _card()))
    assert cli_main(["--data-dir", data, "import", str(source)]) == 0
    assert "from card_v3 (charx)" in capsys.readouterr().out
    target = tmp_path / "out.charx"
    assert (
        cli_main(["--data-dir", data, "export", "captain-mira-vale", "--format", "charx", "-o", str(target)])
        == 0
    )
    back = _members(target.read_bytes())
    assert {name: back[name] for name in MEMBERS} == MEMBERS
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100))
    assert cli_main(["--data-dir", data, "import", str(jpeg)]) == 2
    assert "neither UTF-8 text" in capsys.readouterr().err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, 4000),
    flip=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
    garbage=st.binary(max_size=64),
)
def test_any_damaged_charx_is_read_or_refused_clearly(
    cut: int, flip: list[tuple[int, int]], garbage: bytes
) -> None:
    data = bytearray(_zip(MEMBERS, _card()))
    for where, value in flip:
        if where < len(data):
            data[where] = value
    damaged = bytes(data[: cut or None]) + garbage
    refusal: InvalidInput | None = None
    try:
        card, members = read_charx(damaged)
    except InvalidInput as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.argument == "content"
        return
    assert isinstance(members, dict)
    assert card is not None
