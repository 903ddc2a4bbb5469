"""Lorebook matching, table-driven: which entries a conversation activates, and why."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from pydantic import ValidationError

from core.lorebook import Lorebook, LoreEntry
from core.personas.decorators import parse_decorators
from core.personas.lore import LoreHit, Said, select_lore
from tests.conftest import call


def _words(text: str) -> int:
    return len(text.split())


def _said(*texts: str) -> list[Said]:
    """Alternating user / assistant messages, oldest first."""
    return [Said("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(texts)]


def _run(entry: dict[str, Any], said: list[Said], **book: Any) -> list[LoreHit]:
    lorebook = Lorebook(entries=[LoreEntry(**{"content": "LORE", **entry})], **book)
    return select_lore(lorebook, said, 10_000, _words).hits


def _sel(logic: str) -> dict[str, Any]:
    return {"keys": ["beasts"], "secondary_keys": ["night", "dark"], "logic": logic}


# (case, entry fields, book fields, messages, expected reason or None when inactive)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str], str | None]] = [
    ("key matches ignoring case", {"keys": ["dragon"]}, {}, ["A DRAGON flew by"], "key"),
    ("no key, no entry", {"keys": ["dragon"]}, {}, ["a quiet day"], None),
    ("case_sensitive respects case", {"keys": ["Glade"], "case_sensitive": True}, {}, ["the glade"], None),
    (
        "case_sensitive still matches exactly",
        {"keys": ["Glade"], "case_sensitive": True},
        {},
        ["Glade"],
        "key",
    ),
    (
        "anywhere in the text by default, as SillyTavern",
        {"keys": ["Slime"]},
        {},
        ["Two slimes appeared"],
        "key",
    ),
    (
        "whole words when the entry says so",
        {"keys": ["art"], "whole_words": True},
        {},
        ["what a party"],
        None,
    ),
    ("substring when whole_words is off", {"keys": ["art"], "whole_words": False}, {}, ["a party"], "key"),
    (
        "a key ending in punctuation keeps its left boundary",
        {"keys": ["Dr."], "whole_words": True},
        {},
        ["Mr. Adr. Smith"],
        None,
    ),
    ("and still matches", {"keys": ["Dr."], "whole_words": True}, {}, ["ask Dr. Smith"], "key"),
    ("Chinese inside a sentence", {"keys": ["教堂"]}, {}, ["我们去教堂看看吧"], "key"),
    (
        "Chinese needs no boundary even whole-word",
        {"keys": ["教堂"], "whole_words": True},
        {},
        ["我们去教堂看看吧"],
        "key",
    ),
    (
        "Japanese inside a sentence",
        {"keys": ["魔王"], "whole_words": True},
        {},
        ["あの魔王城へ行こう"],
        "key",
    ),
    (
        "Korean with its particle",
        {"keys": ["하피"], "whole_words": True},
        {},
        ["하피가 하늘에서 내려왔어"],
        "key",
    ),
    ("Thai without spaces", {"keys": ["มังกร"], "whole_words": True}, {}, ["ฉันเห็นมังกรบินอยู่"], "key"),
    ("a Latin key in Chinese text", {"keys": ["Slime"], "whole_words": True}, {}, ["我看到Slime了"], "key"),
    ("Chinese absent", {"keys": ["教堂"]}, {}, ["我们去学校吧"], None),
    ("multi-word keys", {"keys": ["shadow beasts"]}, {}, ["the shadow beasts came"], "key"),
    ("and_any: one secondary is enough", _sel("and_any"), {}, ["beasts at night"], "key"),
    ("and_any: no secondary, no entry", _sel("and_any"), {}, ["beasts at noon"], None),
    ("and_all: every secondary needed", _sel("and_all"), {}, ["beasts at night"], None),
    ("and_all: all present", _sel("and_all"), {}, ["beasts at night in the dark"], "key"),
    ("not_any: a secondary blocks it", _sel("not_any"), {}, ["beasts in the dark"], None),
    ("not_any: none present", _sel("not_any"), {}, ["beasts at noon"], "key"),
    ("not_all: all present blocks it", _sel("not_all"), {}, ["beasts, night, dark"], None),
    ("not_all: one missing lets it in", _sel("not_all"), {}, ["beasts at night"], "key"),
    ("selective=false ignores secondaries", {**_sel("and_all"), "selective": False}, {}, ["beasts"], "key"),
    ("constant needs no key", {"keys": ["x"], "constant": True}, {}, ["nothing"], "constant"),
    ("disabled never fires", {"keys": ["dragon"], "enabled": False}, {}, ["dragon"], None),
    ("disabled constant never fires", {"constant": True, "enabled": False}, {}, ["dragon"], None),
    ("empty content never fires", {"keys": ["dragon"], "content": ""}, {}, ["dragon"], None),
    ("scan depth 4: five back is too far", {"keys": ["dragon"]}, {}, ["dragon", "a", "b", "c", "d"], None),
    ("scan depth 4: four back is in", {"keys": ["dragon"]}, {}, ["dragon", "a", "b", "c"], "key"),
    (
        "book scan_depth widens it",
        {"keys": ["dragon"]},
        {"scan_depth": 5},
        ["dragon", "a", "b", "c", "d"],
        "key",
    ),
    ("entry scan_depth overrides the book", {"keys": ["dragon"], "scan_depth": 1}, {}, ["dragon", "a"], None),
    ("regex key /.../i", {"keys": ["/drag(on|ons)/i"]}, {}, ["DRAGONS!"], "key"),
    ("use_regex keys", {"keys": ["colou?r"], "use_regex": True}, {}, ["what colour"], "key"),
    ("an invalid regex never matches", {"keys": ["(unclosed"], "use_regex": True}, {}, ["(unclosed"], None),
    ("@@activate forces it", {"keys": ["x"], "content": "@@activate\nLORE"}, {}, ["hi"], "decorator"),
    (
        "@@dont_activate blocks it",
        {"keys": ["dragon"], "content": "@@dont_activate\nLORE"},
        {},
        ["dragon"],
        None,
    ),
    (
        "@@exclude_keys blocks it",
        {"keys": ["dragon"], "content": "@@exclude_keys baby,egg\nL"},
        {},
        ["dragon egg"],
        None,
    ),
    (
        "@@additional_keys required",
        {"keys": ["dragon"], "content": "@@additional_keys fire\nL"},
        {},
        ["dragon"],
        None,
    ),
    (
        "@@additional_keys met",
        {"keys": ["dragon"], "content": "@@additional_keys fire\nL"},
        {},
        ["dragon fire"],
        "key",
    ),
    (
        "@@activate_only_after 2 replies",
        {"keys": ["dragon"], "content": "@@activate_only_after 2\nL"},
        {},
        ["dragon"],
        None,
    ),
    (
        "unknown decorator falls back",
        {"keys": ["x"], "content": "@@risu_magic 1\n@@@activate\nL"},
        {},
        ["hi"],
        "decorator",
    ),
]


@pytest.mark.parametrize(("case", "entry", "book", "messages", "expected"), CASES, ids=[c[0] for c in CASES])
def test_matching(
    case: str, entry: dict[str, Any], book: dict[str, Any], messages: list[str], expected: str | None
) -> None:
    hits = _run(entry, _said(*messages), **book)
    assert (hits[0].reason if hits else None) == expected, case


def test_sticky_keeps_an_entry_for_n_messages_after_its_keys_stop() -> None:
    entry = {"keys": ["dragon"], "sticky": 2, "scan_depth": 1}
    activity = [bool(_run(entry, _said(*["dragon", "a", "b", "c"][:n]))) for n in range(1, 5)]
    assert activity == [True, True, True, False]
    assert _run(entry, _said("dragon", "a"))[0].reason == "sticky"


def test_cooldown_skips_n_messages_after_an_activation() -> None:
    entry = {"keys": ["dragon"], "cooldown": 2, "scan_depth": 1}
    activity = [bool(_run(entry, _said(*["dragon"] * n))) for n in range(1, 6)]
    assert activity == [True, False, False, True, False]


def test_dont_activate_after_match_fires_once() -> None:
    entry = {"keys": ["dragon"], "content": "@@dont_activate_after_match\nLORE", "scan_depth": 1}
    assert [bool(_run(entry, _said(*["dragon"] * n))) for n in range(1, 4)] == [True, False, False]


def test_keep_activate_after_match_stays_on() -> None:
    entry = {"keys": ["dragon"], "content": "@@keep_activate_after_match\nLORE", "scan_depth": 1}
    assert [bool(_run(entry, _said(*["dragon", "a", "b"][:n]))) for n in range(1, 4)] == [True, True, True]


def test_budget_drops_the_lowest_priority_and_orders_by_insertion_order() -> None:
    book = Lorebook(
        entries=[
            LoreEntry(keys=["a"], content="one two three", priority=1, insertion_order=1),
            LoreEntry(keys=["a"], content="four five six", priority=9, insertion_order=3),
            LoreEntry(keys=["a"], content="seven eight nine", priority=5, insertion_order=2),
        ]
    )
    hits = select_lore(book, _said("a"), 6, _words).hits
    assert [hit.index for hit in hits] == [2, 1]  # priority 1 gave way; the rest in insertion order
    book.token_budget = 3
    assert [hit.index for hit in select_lore(book, _said("a"), 6, _words).hits] == [1]


def test_recursive_scanning_lets_content_activate_entries() -> None:
    entries = [
        LoreEntry(keys=["glade"], content="The glade holds the Heartstone."),
        LoreEntry(keys=["heartstone"], content="The Heartstone glows."),
    ]
    flat = select_lore(Lorebook(entries=entries), _said("the glade"), 100, _words).hits
    assert [hit.index for hit in flat] == [0]
    deep = select_lore(
        Lorebook(entries=entries, recursive_scanning=True), _said("the glade"), 100, _words
    ).hits
    assert [(hit.index, hit.reason) for hit in deep] == [(0, "key"), (1, "recursion")]


def test_placement_and_decorators_are_stripped() -> None:
    hits = _run(
        {"keys": ["engine"], "content": "@@depth 0\n@@role assistant\nLoud engines."}, _said("engine")
    )
    assert (hits[0].placement, hits[0].depth, hits[0].role, hits[0].content) == (
        "depth",
        0,
        "assistant",
        "Loud engines.",
    )
    assert _run({"keys": ["a"], "position": "before_char"}, _said("a"))[0].placement == "before_char"
    assert _run({"keys": ["a"], "depth": 3}, _said("a"))[0].placement == "depth"


def test_decorators_first_of_a_name_wins_and_bad_values_are_ignored() -> None:
    decorators, body = parse_decorators("@@depth 2\n@@depth 7\n@@scan_depth many\nText\n@@not_a_decorator")
    assert (decorators.depth, decorators.scan_depth, body) == (2, None, "Text\n@@not_a_decorator")


def test_a_catastrophic_regex_gives_up_quickly() -> None:
    started = time.perf_counter()
    hits = _run({"keys": ["(a+)+$"], "use_regex": True}, _said("a" * 40 + "!"))
    assert hits == []
    assert time.perf_counter() - started < 5  # unguarded, this pattern runs for hours


def _hostile_book(count: int) -> Lorebook:
    """`count` regex keys that backtrack for hours on 'a'*40 + '!' (each distinct, so none is cached)."""
    return Lorebook(
        entries=[LoreEntry(keys=[f"/(?:b{{0,{n}}})(a|aa)+$/"], content=f"Lore {n}") for n in range(count)]
    )


def test_one_selection_has_a_total_time_budget_and_reports_what_it_skipped() -> None:
    started = time.perf_counter()
    selection = select_lore(_hostile_book(200), _said("a" * 40 + "!"), 10_000, _words)
    assert time.perf_counter() - started < 3  # 200 keys x 50 ms each would be 10 s
    assert selection.hits == []
    assert selection.skipped >= 100
    # A real card is untouched: everything searched, nothing skipped.
    plain = select_lore(
        Lorebook(entries=[LoreEntry(keys=["dragon"], content="Dragons")]), _said("a dragon"), 100, _words
    )
    assert [hit.entry.content for hit in plain.hits] == ["Dragons"]
    assert plain.skipped == 0


def test_a_lorebook_holds_a_bounded_number_of_keys() -> None:
    entry = {"keys": [f"k{n}" for n in range(100)], "secondary_keys": [f"s{n}" for n in range(100)]}
    Lorebook.model_validate({"entries": [entry] * 100})  # 20,000 keys: allowed
    with pytest.raises(ValidationError, match="at most 20000"):
        Lorebook.model_validate({"entries": [entry] * 101})


@pytest.mark.anyio
async def test_hostile_lore_never_holds_up_other_calls(client: Client) -> None:
    await call(client, "persona_create", name="Trap", lorebook=_hostile_book(200).model_dump(mode="json"))
    finished: list[str] = []

    async def hostile() -> None:
        result = await client.call_tool("persona_context", {"persona_id": "trap", "message": "a" * 40 + "!"})
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content["lore_skipped"] >= 100
        assert "lorebook key searches were given up" in result.content[0].text  # type: ignore[union-attr]
        finished.append("hostile")

    async def quick() -> None:
        await anyio.sleep(0.05)  # the hostile call is matching by now
        for _ in range(5):
            await call(client, "persona_get", persona_id="kira")
        finished.append("quick")

    async with anyio.create_task_group() as group:
        group.start_soon(hostile)
        group.start_soon(quick)
    assert finished == ["quick", "hostile"]


_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
_JUNK = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_WI_FIELDS = ["uid", "key", "keysecondary", "content", "comment", "order", "position", "depth", "role"]
_WI_FIELDS += ["disable", "selectiveLogic", "caseSensitive", "matchWholeWords", "scanDepth", "sticky"]
_WI_ENTRY = st.dictionaries(st.sampled_from(_WI_FIELDS), _JUNK)


def _validated(document: Any) -> Lorebook | ValidationError:
    try:
        return Lorebook.model_validate(document)
    except ValidationError as exc:
        return exc


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.fixed_dictionaries({"entries": st.dictionaries(st.text(max_size=4), _WI_ENTRY)}),
        st.fixed_dictionaries({"spec": st.just("lorebook_v3"), "data": _JUNK}),
        _JUNK,
    )
)
def test_any_world_info_or_lorebook_file_is_a_book_or_a_clear_refusal(document: Any) -> None:
    outcome = _validated(document)  # nothing but a validation error escapes
    if isinstance(outcome, ValidationError):
        assert outcome.errors()  # and it says what is wrong
    else:
        assert all(isinstance(entry, LoreEntry) for entry in outcome.entries)
