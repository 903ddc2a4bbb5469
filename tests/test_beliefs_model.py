"""Beliefs with a model: the contradiction check and reflection through Ollama's structured outputs
(the stand-in speaks its wire format; the "model" behind it is scripted here), the fall back to the
rule and the extractive method when no usable answer comes, persona changes proposed by reflection
and confirmed by the user through elicitation, and no memory ever lost along the way."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import ElicitRequestParams, ElicitResult

from core.config import Settings
from persona_mcp import build_server
from tests.conftest import call
from tests.ollama_standin import OllamaStandIn, run_standin

pytestmark = pytest.mark.anyio

MODEL = "believer"
_PAIR = re.compile(r"Pair (\d+)\. Subject: (.*)\nOLD: (.*)\nNEW: (.*)")
_EPISODE = re.compile(r"^(\d+)\. \((\d{4}-\d\d-\d\d)\)(?: \[about ([^\]]*)\])? (.*)$", re.MULTILINE)
# What the scripted model calls a change of the same attribute: old words -> new words.
ENDS = {"residence": ("lives in", "moved to"), "diet": ("vegetarian", "steak")}


def judge(question: str) -> dict[str, Any]:
    verdicts = []
    for number, _, old, new in _PAIR.findall(question):
        ended = [name for name, (was, now) in ENDS.items() if was in old and now in new]
        verdicts.append(
            {
                "pair": int(number),
                "contradicts": bool(ended),
                "attribute": ended[0] if ended else "",
                "reason": f"the {ended[0]} changed" if ended else "both can be true",
            }
        )
    return {"verdicts": verdicts}


def reflect(question: str) -> dict[str, Any]:
    """A fact per episode that names Caroline (sourced to it and to a number the batch lacks),
    and what Caroline's episodes suggest the persona gained."""
    facts, talked = [], False
    for number, _, _, text in _EPISODE.findall(question):
        if "Caroline" in text:
            talked = True
            body = text.split(": ", 1)[-1]
            facts.append(
                {"content": f"Caroline said: {body}", "subject": "Caroline", "sources": [int(number), 999]}
            )
    facts.append({"content": "A fact resting on nothing in this batch.", "subject": "x", "sources": [999]})
    lore = [{"keys": ["Caroline"], "content": "A friend who counsels people."}] if talked else []
    return {"facts": facts, "interests": ["pottery"] if talked else [], "lore": lore}


def believer(messages: list[dict[str, Any]]) -> str:
    system, question = messages[0]["content"], messages[-1]["content"]
    if "beliefs up to date" in system:
        return json.dumps(judge(question))
    return json.dumps(reflect(question))


@pytest.fixture
def standin() -> Iterator[OllamaStandIn]:
    with run_standin(chat_models={MODEL: believer}) as running:
        yield running


@pytest.fixture
def believing(settings: Settings, standin: OllamaStandIn) -> Settings:
    return settings.model_copy(update={"ollama_host": standin.url, "belief_model": MODEL})


@pytest.fixture
async def client(believing: Settings, mode: str) -> AsyncIterator[Client]:
    async with Client(build_server(believing), raise_exceptions=True, mode=mode) as session:  # type: ignore[arg-type]
        yield session


def structured_requests(standin: OllamaStandIn) -> list[dict[str, Any]]:
    return [body for path, body in standin.requests if path == "/api/chat"]


async def fact(client: Client, content: str, **arguments: Any) -> dict[str, Any]:
    return await call(client, "memory_store", content=content, kind="semantic", subject="Sam", **arguments)


async def test_the_model_decides_contradictions_and_its_verdict_supersedes(
    client: Client, standin: OllamaStandIn
) -> None:
    await call(client, "memory_store", content="Sam said he might move one day.", subject="Sam")
    paris = (await fact(client, "Sam lives in Paris."))["memory"]
    assert standin.requests == []  # an episode, or a first fact, has nothing to check: Ollama is not asked
    veggie = (await fact(client, "Sam is vegetarian."))["memory"]
    cat = await fact(client, "Sam has a cat called Tom.")
    assert cat["possible_conflicts"] == []  # asked, and the model saw no contradiction
    # The rule has no word for diets; the model judges this one too.
    moved = await fact(client, "Sam moved to Berlin and eats steak every day.")
    found = {c["memory_id"]: c for c in moved["possible_conflicts"]}
    assert set(found) == {paris["id"], veggie["id"]}
    assert found[paris["id"]]["attribute"] == "residence"
    assert found[veggie["id"]]["reason"] == "the diet changed"
    assert all(c["method"] == "llm" and c["superseded"] for c in found.values())  # applied by default
    for old in (paris, veggie):
        assert (await call(client, "memory_get", memory_id=old["id"]))["superseded_by"] == moved["memory"][
            "id"
        ]
    found_now = await call(client, "memory_search", query="where does Sam live", n_results=10)
    assert paris["id"] not in [hit["memory"]["id"] for hit in found_now["memories"]]

    sent = structured_requests(standin)
    assert sent, "the model was never asked"
    last = sent[-1]
    assert last["model"] == MODEL
    assert last["stream"] is False
    assert last["options"]["temperature"] == 0
    jsonschema.Draft202012Validator.check_schema(last["format"])
    jsonschema.validate(json.loads(believer(last["messages"])), last["format"])
    # One call for the store, every pair in it: the three facts about Sam.
    assert len(_PAIR.findall(last["messages"][-1]["content"])) == 3


async def test_auto_supersede_llm_off_reports_without_applying(
    believing: Settings, standin: OllamaStandIn
) -> None:
    quiet = believing.model_copy(update={"auto_supersede_llm": False})
    async with Client(build_server(quiet), raise_exceptions=True) as client:
        paris = (await fact(client, "Sam lives in Paris."))["memory"]
        moved = await fact(client, "Sam moved to Berlin.")
        assert [(c["method"], c["superseded"]) for c in moved["possible_conflicts"]] == [("llm", False)]
        assert (await call(client, "memory_get", memory_id=paris["id"]))["valid_to"] is None


@pytest.mark.parametrize("trouble", ["answer out of schema", "model not pulled", "ollama down"])
async def test_without_a_usable_answer_the_rule_decides(
    settings: Settings, standin: OllamaStandIn, trouble: str
) -> None:
    standin.chat_models["babbler"] = lambda messages: "Sure! Here are my thoughts: {verdicts"
    host = "http://127.0.0.1:9" if trouble == "ollama down" else standin.url
    model = {"answer out of schema": "babbler", "model not pulled": "no-such-model"}.get(trouble, MODEL)
    falling = settings.model_copy(update={"ollama_host": host, "belief_model": model})
    async with Client(build_server(falling), raise_exceptions=True) as client:
        paris = (await fact(client, "Sam lives in Paris."))["memory"]
        moved = await fact(client, "Sam moved to Berlin.")
    assert moved["possible_conflicts"] == [
        {
            "memory_id": paris["id"],
            "attribute": "residence",
            "reason": "Sam's residence was paris, now berlin",
            "superseded": False,  # the rule only proposes
            "method": "rule",
        }
    ]


async def test_system_status_says_who_judges_beliefs(settings: Settings, standin: OllamaStandIn) -> None:
    said = {}
    for model, host in ((MODEL, standin.url), ("llama3.2", standin.url), ("off", standin.url)):
        chosen = settings.model_copy(update={"ollama_host": host, "belief_model": model})
        async with Client(build_server(chosen), raise_exceptions=True) as client:
            said[model] = (await call(client, "system_status"))["background_tasks"]["beliefs"]
    assert said[MODEL] == f"contradictions and reflection judged by {MODEL} through Ollama"
    rules = "contradiction rule and extractive reflection"
    assert said["llama3.2"] == f"{rules} until Ollama answers with llama3.2"  # not pulled
    assert said["off"] == f"{rules} (belief model off)"


async def test_belief_model_off_never_asks(settings: Settings, standin: OllamaStandIn) -> None:
    off = settings.model_copy(update={"ollama_host": standin.url, "belief_model": "off"})
    async with Client(build_server(off), raise_exceptions=True) as client:
        await fact(client, "Sam lives in Paris.")
        moved = await fact(client, "Sam moved to Berlin.")
        await episodes(client, 3)
        reflected = await call(client, "memory_reflect")
    assert [c["method"] for c in moved["possible_conflicts"]] == ["rule"]
    assert reflected["method"] == "extractive"
    assert structured_requests(standin) == []


ACTIVITIES = ("went hiking", "painted a mural", "baked rye bread", "visited a museum", "played chess")
ACTIVITIES += ("planted tomatoes", "read a long novel", "fixed an old bike", "sang in a choir")
PLACES = ("Oslo", "Lisbon", "Kyoto", "Denver", "Nairobi")


async def episodes(client: Client, count: int) -> list[str]:
    """`count` (at most 45) different episodes, Caroline and Melanie in turn, oldest first."""
    now = datetime.now(UTC)
    ids = []
    for n in range(count):
        speaker = "Caroline" if n % 2 == 0 else "Melanie"
        content = f"{speaker}: I {ACTIVITIES[n % 9]} in {PLACES[n // 9]} with a friend."
        created = (now - timedelta(hours=count - n)).isoformat()
        made = await call(client, "memory_store", content=content, created_at=created)
        assert made["duplicate_of"] is None
        ids.append(made["memory"]["id"])
    return ids


async def test_reflection_asks_the_model_once_per_batch_and_keeps_sources(
    client: Client, standin: OllamaStandIn
) -> None:
    ids = await episodes(client, 45)
    result = await call(client, "memory_reflect")
    assert result["method"] == "llm"
    assert result["episodes_read"] == 45
    asked = [body for body in structured_requests(standin) if "remember" in body["messages"][0]["content"]]
    assert len(asked) == 2  # 40 episodes, then 5
    caroline = [fact for fact in result["facts"] if fact["subject"] == "Caroline"]
    assert len(caroline) == 23 == result["facts_created"]  # the sourceless fact of each batch is dropped
    first = caroline[0]
    assert first["sources"] == [ids[0]]  # the number the batch lacks is not a source
    assert first["content"] == "Caroline said: I went hiking in Oslo with a friend."
    stored = await call(client, "memory_get", memory_id=first["memory_id"])
    assert {k: stored["metadata"][k] for k in ("sources", "method")} == {"sources": [ids[0]], "method": "llm"}
    assert stored["kind"] == "semantic"
    # The model's suggestions come back as a diff for persona_update, applied by nobody.
    changes = result["persona_changes"]
    assert changes["status"] == "proposed"
    assert changes["changes"]["interests"][-1] == "pottery"
    assert changes["changes"]["lorebook"]["entries"][-1]["keys"] == ["Caroline"]
    assert "pottery" not in (await call(client, "persona_get", persona_id="aria"))["interests"]
    applied = await call(client, "persona_update", persona_id="aria", changes=changes["changes"])
    assert "pottery" in applied["interests"]
    again = await call(client, "memory_reflect")
    assert again["facts_created"] == 0
    assert again["facts_known"] == 23
    assert again["persona_changes"] is None  # nothing new to the persona now


async def test_a_batch_the_model_does_not_answer_is_reflected_on_extractively(
    client: Client, standin: OllamaStandIn
) -> None:
    ids = await episodes(client, 45)
    calls = []

    def stumbling(messages: list[dict[str, Any]]) -> str:
        calls.append(messages)
        return '{"facts": [' if len(calls) == 1 else believer(messages)  # cut off, then well

    standin.chat_models[MODEL] = stumbling
    result = await call(client, "memory_reflect")
    assert result["method"] == "llm+extractive"
    by_model = [fact for fact in result["facts"] if fact["method"] == "llm"]
    assert len(by_model) == 3  # the second batch's Caroline episodes
    assert all(set(fact["sources"]) <= set(ids[40:]) for fact in by_model)
    extractive = [fact for fact in result["facts"] if fact["method"] == "extractive"]
    assert all(set(fact["sources"]) <= set(ids[:40]) for fact in extractive)


def answering(apply: bool | None) -> Any:
    asked: list[str] = []

    async def callback(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if apply is None:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content={"apply": apply})

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


@pytest.mark.parametrize("apply", [True, False, None], ids=["yes", "no", "declined"])
async def test_the_user_is_asked_before_the_persona_changes(
    believing: Settings, mode: str, apply: bool | None
) -> None:
    callback = answering(apply)
    async with Client(
        build_server(believing),
        raise_exceptions=True,
        mode=mode,  # type: ignore[arg-type]
        elicitation_callback=callback,
    ) as client:
        await episodes(client, 4)
        result = await call(client, "memory_reflect")
        persona = await call(client, "persona_get", persona_id="aria")
    assert len(callback.asked) == 1
    assert "interests: + pottery" in callback.asked[0]
    assert "lorebook: + entry 'Caroline'" in callback.asked[0]
    assert result["facts_created"] == 2  # facts never wait for the answer
    assert (
        result["persona_changes"]["status"] == {True: "applied", False: "declined", None: "declined"}[apply]
    )
    assert ("pottery" in persona["interests"]) is bool(apply)
    keys = [entry["keys"] for entry in (persona["lorebook"] or {"entries": []})["entries"]]
    assert (["Caroline"] in keys) is bool(apply)


async def test_without_a_model_reflection_proposes_from_the_persona_s_own_words(settings: Settings) -> None:
    now = datetime.now(UTC)
    said = [
        "Aria: I love pottery, the clay calms me.",
        "Aria: I really love pottery on rainy days.",
        "Aria: Marcus showed me his workshop in Leeds.",
        "Aria: Marcus fixed the kiln again, bless him.",
        "Aria: Marcus and I fired twelve bowls together on Sunday morning.",
        *(f"Aria: I {activity} in the morning." for activity in ACTIVITIES),
    ]
    async with Client(build_server(settings), raise_exceptions=True) as client:  # no model answers here
        for n, content in enumerate(said):
            created = (now - timedelta(hours=len(said) - n)).isoformat()
            await call(client, "memory_store", content=content, created_at=created)
        result = await call(client, "memory_reflect")
        persona = await call(client, "persona_get", persona_id="aria")
    assert result["method"] == "extractive"
    proposal = result["persona_changes"]
    assert proposal["status"] == "proposed"
    assert proposal["changes"]["interests"] == [*persona["interests"], "pottery"]
    entry = proposal["changes"]["lorebook"]["entries"][-1]
    assert entry["keys"] == ["Marcus"]
    assert "twelve bowls" in entry["content"]  # the most specific thing said of him
    assert proposal["summary"][0] == "interests: + pottery"
    assert "pottery" not in persona["interests"]


async def test_extractive_reflection_finds_what_someone_keeps_coming_back_to(settings: Settings) -> None:
    now = datetime.now(UTC)
    said = [
        "Melanie: I finally signed up for a pottery class downtown on Thursdays.",
        "Melanie: The weather turned cold and grey this morning.",
        "Caroline: Your pottery sounds lovely, you should show me.",  # speaks to the listener
        "Melanie: My pottery teacher says my bowls are getting much better.",
        "Caroline: The adoption agency called back about the interview.",
        "Melanie: We watched a documentary about whales last night.",
    ]
    ids = []
    async with Client(build_server(settings), raise_exceptions=True) as client:
        for n, content in enumerate(said):
            created = (now - timedelta(hours=len(said) - n)).isoformat()
            ids.append(
                (await call(client, "memory_store", content=content, created_at=created))["memory"]["id"]
            )
        result = await call(client, "memory_reflect")
    pottery = [fact for fact in result["facts"] if "pottery" in fact["content"]]
    assert len(pottery) == 1
    assert pottery[0]["subject"] == "Melanie"
    assert sorted(pottery[0]["sources"]) == sorted([ids[0], ids[3]])
    # The most specific of the two (more content words, a name, said in the first person).
    assert pottery[0]["content"].endswith("I finally signed up for a pottery class downtown on Thursdays.")
    assert not [fact for fact in result["facts"] if "whales" in fact["content"]]  # one mention: no pattern


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["Caroline", "Melanie", "Sam"]), st.sampled_from(["Paris", "Berlin", "Rome"])
        ),
        min_size=1,
        max_size=12,
    )
)
async def test_no_reflection_loses_or_changes_a_memory(client: Client, lines: list[tuple[str, str]]) -> None:
    before = (await call(client, "memory_stats"))["total"]
    stored: dict[str, str] = {}
    new = 0
    now = datetime.now(UTC)
    for n, (who, city) in enumerate(lines):
        for made in (
            await call(
                client,
                "memory_store",
                content=f"{who}: I went back to {city} on trip {n} and loved the old market of {city}.",
                created_at=(now - timedelta(minutes=len(lines) - n)).isoformat(),
            ),
            await fact(client, f"Sam lives in {city}."),  # facts a reflection may contradict
        ):
            new += made["duplicate_of"] is None
            stored[made["memory"]["id"]] = made["memory"]["content"]
    result = await call(client, "memory_reflect", since=(now - timedelta(days=1)).isoformat())
    assert (await call(client, "memory_stats"))["total"] == before + new + result["facts_created"]
    for memory_id, content in stored.items():
        assert (await call(client, "memory_get", memory_id=memory_id))["content"] == content
