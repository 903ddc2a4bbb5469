"""Property: private memories reach only their own persona; shared and public reach every persona.
Checked for memory_search and memory_search_cross_persona over random populations."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from core.config import load_settings
from core.memory.models import VISIBILITIES
from persona_mcp import build_server
from tests.conftest import call

PERSONAS = ("aria", "kira", "zed")
# Every memory mentions the same word, so a search for it may return any of them.
TOPICS = ("harbour", "orchard", "violin", "glacier", "bakery", "comet", "library", "canyon")

memory = st.tuples(st.sampled_from(PERSONAS), st.sampled_from(VISIBILITIES), st.sampled_from(TOPICS))
population = st.lists(memory, min_size=1, max_size=12)


def _allowed(owner: str, visibility: str, asker: str, include_others: bool) -> bool:
    return owner == asker or (include_others and visibility != "private")


async def _check(memories: list[tuple[str, str, str]], asker: str, query_topic: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server_settings = load_settings({}, data_dir=Path(folder), toolsets=("all",))
        async with Client(build_server(server_settings)) as client:
            await call(client, "persona_create", id="zed", name="Zed")
            items = [
                {
                    "content": f"Memory {i} of {owner}: a visit to the {topic} with the lantern.",
                    "persona_id": owner,
                    "visibility": visibility,
                }
                for i, (owner, visibility, topic) in enumerate(memories)
            ]
            ids = (await call(client, "memory_store_batch", items=items))["ids"]
            owners: dict[str, tuple[str, str, str]] = {}
            for memory_id, item in zip(ids, memories, strict=True):
                owners.setdefault(memory_id, item)  # a near-duplicate merged into the first one
            for tool, arguments, include_others in (
                ("memory_search", {}, False),
                ("memory_search", {"include_shared": True}, True),
                ("memory_search_cross_persona", {}, True),
            ):
                for query in ("lantern", query_topic):
                    result = await call(
                        client, tool, query=query, persona_id=asker, n_results=100, **arguments
                    )
                    returned = {hit["memory"]["id"] for hit in result["memories"]}
                    for memory_id in returned:
                        owner, visibility, _ = owners[memory_id]
                        assert _allowed(owner, visibility, asker, include_others), (tool, owner, visibility)
                    if query == "lantern":  # matches every memory: all allowed ones must come back
                        expected = {
                            m for m, (o, v, _) in owners.items() if _allowed(o, v, asker, include_others)
                        }
                        assert returned == expected


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(memories=population, asker=st.sampled_from(PERSONAS), query_topic=st.sampled_from(TOPICS))
def test_private_memories_never_reach_another_persona(
    memories: list[tuple[str, str, str]], asker: str, query_topic: str
) -> None:
    anyio.run(_check, memories, asker, query_topic)
