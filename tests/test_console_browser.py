"""The console in a real browser: Chromium driven by Playwright against a real `persona-mcp
console` process (its web door), and the MCP App door inside a page that plays the host's side of
the MCP Apps bridge, forwarding the app's calls to the same server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_pages import CHROMIUM, Console, Rpc, chromium, console_process
from tests.ollama_standin import echo_reply, run_standin
from tests.processes import http_server

if not Path(CHROMIUM).exists():
    if os.environ.get("PERSONA_MCP_REQUIRE_BROWSER"):
        raise RuntimeError(f"No Chromium at {CHROMIUM}: apt-get install chromium")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    with (
        run_standin(chat_models={"llama3.2": echo_reply}) as ollama,
        console_process(folder, OLLAMA_HOST=ollama.url) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def rpc(console: Console) -> Iterator[Rpc]:
    token = console.token or console.redeem()
    client = Rpc(f"{console.base}/mcp", token)
    yield client
    client.close()


@pytest.fixture
def page(browser: Any, console: Console, rpc: Rpc) -> Iterator[Any]:
    """A signed-in tab (the token placed as the login link would place it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.add_init_script(f"sessionStorage.setItem('persona-console-token', {json.dumps(console.token)})")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.base = console.base
    yield tab
    context.close()
    assert errors == []


def open_view(page: Any, route: str) -> None:
    page.goto(f"{page.base}/ui/{route}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#main:not([aria-busy])")


def test_the_login_link_signs_in_once(browser: Any, tmp_path: Path) -> None:
    with console_process(tmp_path / "data") as fresh:
        context = browser.new_context()
        first = context.new_page()
        first.goto(fresh.link)
        first.wait_for_selector("#persona-list li")
        assert "Aria" in first.inner_text("#persona-list")
        assert "login=" not in first.url  # the code leaves the address bar
        again = browser.new_context().new_page()
        again.goto(fresh.link)
        again.wait_for_selector("#sign-in")
        assert "used already" in again.inner_text("#main")
        context.close()


def test_create_a_persona_store_a_memory_find_it_and_pin_it(page: Any, rpc: Rpc) -> None:
    open_view(page, "#/personas/new")
    page.get_by_label("Name").fill("Juniper Vale")
    page.get_by_label("Description").fill("A beekeeper who lives above the old library.")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/ui/#/personas/juniper-vale")
    page.wait_for_selector("h2:text('Juniper Vale')")
    page.get_by_role("link", name="Memories").first.click()
    page.wait_for_selector("form.store")
    page.get_by_label("New memory").fill("Juniper keeps three hives of bees on the library roof.")
    page.get_by_role("button", name="Store").click()
    page.wait_for_selector("text=Memory stored.")
    page.get_by_role("searchbox").fill("where are the bees kept")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/memories?q=where+are+the+bees+kept")
    page.wait_for_selector("#main:not([aria-busy])")  # the results of the search, not the page before
    found = page.locator("#memory-results li.memory").first
    found.wait_for()
    assert "three hives of bees" in found.inner_text()
    assert found.locator(".bars .bar").count() >= 4  # the score components, one bar each
    found.get_by_role("button", name="Pin").click()
    page.wait_for_selector("#memory-results li.memory .tag:text('pinned')")
    memory_id = page.locator("#memory-results li.memory").first.get_attribute("data-id")
    assert rpc.call("memory_get", memory_id=memory_id)["pinned"] is True


def test_an_out_of_range_trait_is_shown_beside_its_field(page: Any, rpc: Rpc) -> None:
    before = rpc.call("persona_get", persona_id="kira")
    open_view(page, "#/personas/kira")
    page.get_by_label("openness").fill("1.5")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#field-traits-openness-error")
    error.wait_for()
    page.wait_for_function("document.querySelector('#field-traits-openness-error').textContent.length > 0")
    assert "less than or equal to 1" in error.inner_text()
    assert page.get_by_label("openness").get_attribute("aria-invalid") == "true"
    after = rpc.call("persona_get", persona_id="kira")
    assert after["version"] == before["version"]  # nothing changed
    page.get_by_label("openness").fill("0.9")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_selector("text=Saved Kira")
    assert rpc.call("persona_get", persona_id="kira")["traits"]["openness"] == 0.9


def test_the_mood_chart_draws_the_history(page: Any, rpc: Rpc) -> None:
    for valence, reason in ((0.8, "a kind letter"), (-0.4, "bad news"), (0.3, "tea with a friend")):
        rpc.call("emotional_update_state", persona_id="aria", valence=valence, reason=reason)
    open_view(page, "#/personas/aria/mood")
    chart = page.locator("#mood-chart")
    chart.wait_for()
    points = chart.locator("polyline.valence").get_attribute("points")
    assert len(points.split()) >= 3
    assert "bad news" in page.inner_text("table.data")


def test_relationships_draw_as_a_graph(page: Any, rpc: Rpc) -> None:
    rpc.call(
        "relationship_update",
        persona_a="aria",
        persona_b="kira",
        interaction={"kind": "collaboration", "quality": 0.8, "summary": "wrote a song together"},
    )
    open_view(page, "#/personas/aria/relationships")
    graph = page.locator("#relationship-graph")
    graph.wait_for()
    assert graph.locator("circle").count() >= 2
    assert "kira" in (graph.text_content() or "")


def test_a_transcript_shows_who_witnessed_each_turn(page: Any, rpc: Rpc) -> None:
    chat = rpc.call("persona_chat", message="Tell me about the Silverwood.", persona_id="aria")
    open_view(page, f"#/conversations/{chat['conversation_id']}")
    transcript = page.locator("#transcript")
    transcript.wait_for()
    text = transcript.inner_text()
    assert "Tell me about the Silverwood." in text
    assert "witnessed by aria" in text


def test_archive_restore_and_delete_for_good_behind_a_confirmation(page: Any, rpc: Rpc) -> None:
    stored = rpc.call("memory_store", content="Aria once lost her lute in a river.", persona_id="aria")
    memory_id = stored["memory"]["id"]
    open_view(page, "#/personas/aria/memories?q=lute+river")
    row = page.locator(f"li.memory[data-id='{memory_id}']")
    row.get_by_role("button", name="Archive").click()
    page.wait_for_selector(f"li.memory.archived[data-id='{memory_id}']")
    assert rpc.call("memory_get", memory_id=memory_id)["archived_at"] is not None
    row.get_by_role("button", name="Restore").click()
    page.wait_for_selector(f"li.memory:not(.archived)[data-id='{memory_id}']")
    row.get_by_role("button", name="Delete…").click()
    dialog = page.locator("dialog#confirm-delete")
    dialog.get_by_role("button", name="Keep it").click()
    assert rpc.call("memory_get", memory_id=memory_id)["content"].startswith("Aria once lost")
    row.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Delete for good").click()
    page.wait_for_selector("text=Memory deleted for good.")
    page.locator(f"li.memory[data-id='{memory_id}']").wait_for(state="detached")


def test_import_by_drag_and_drop_and_export(page: Any) -> None:
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Bramble Hollow",
            "description": "A hedge witch.",
            "personality": "wry",
            "first_mes": "Hm?",
        },
    }
    open_view(page, "#/personas")
    page.evaluate(
        """(text) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "bramble.json", { type: "application/json" }));
            const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true });
            document.querySelector("#import-drop").dispatchEvent(drop);
        }""",
        json.dumps(card),
    )
    page.wait_for_url("**/#/personas/bramble-hollow")
    page.wait_for_selector("h2:text('Bramble Hollow')")
    with page.expect_download() as download:
        page.get_by_role("button", name="Card V2 (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["data"]["name"] == "Bramble Hollow"
    with page.expect_download() as png:
        page.get_by_role("button", name="PNG card").click()
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_maintenance_shows_stats_and_a_dry_run_changes_nothing(page: Any, rpc: Rpc) -> None:
    before = rpc.call("memory_stats")["total"]
    open_view(page, "#/maintenance")
    assert "Decay" in page.inner_text("#main")
    page.get_by_role("button", name="Dry-run a prune of every persona").click()
    page.wait_for_selector("#prune-result table")
    assert rpc.call("memory_stats")["total"] == before


def test_what_memories_say_is_shown_as_text_never_run(page: Any, rpc: Rpc) -> None:
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> Zanzibar'
    rpc.call("memory_store", content=attack, persona_id="aria")
    open_view(page, "#/personas/aria/memories?q=Zanzibar")
    page.wait_for_selector("li.memory")
    assert attack in page.inner_text("#memory-results")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#memory-results img, #memory-results script").count() == 0


@pytest.mark.parametrize("route", ["#/personas", "#/personas/aria/memories?q=song", "#/personas/aria"])
def test_a_phone_screen_needs_no_sideways_scrolling(browser: Any, console: Console, route: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_init_script(f"sessionStorage.setItem('persona-console-token', {json.dumps(console.token)})")
    phone = context.new_page()
    phone.base = console.base
    open_view(phone, route)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_every_control_is_labelled_and_reachable_by_keyboard(page: Any) -> None:
    for route in ("#/personas", "#/personas/aria", "#/personas/aria/memories?q=song", "#/maintenance"):
        open_view(page, route)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
                .filter((el) => !(el.labels?.length || el.ariaLabel || el.textContent.trim()))
                .map((el) => el.outerHTML)"""
        )
        assert unlabelled == [], route
    open_view(page, "#/personas")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert {"Personas", "Conversations", "Maintenance", "New persona"} <= set(reached)


HOST_PAGE = (Path(__file__).parent / "app_host.html").read_text()


def test_the_mcp_app_shows_a_tool_result_and_calls_back_through_the_host(
    browser: Any, console: Console, rpc: Rpc
) -> None:
    stored = rpc.call("memory_store", content="Aria tunes her lute with a silver key.", persona_id="aria")
    arguments = {"query": "silver key lute", "persona_id": "aria"}
    html = HOST_PAGE % {
        "token": json.dumps(console.token),
        "tool": json.dumps("memory_search"),
        "args": json.dumps(arguments),
    }
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    host = context.new_page()
    errors: list[str] = []
    host.on("pageerror", lambda error: errors.append(str(error)))
    host.route("**/host-test", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    host.goto(f"{console.base}/host-test")
    host.wait_for_function("window.hostReady === true")
    app = host.frame_locator("iframe")
    row = app.locator(f"li.memory[data-id='{stored['memory']['id']}']")
    row.wait_for()
    assert "silver key" in row.inner_text()
    assert row.locator(".bars .bar").count() >= 4  # the host's result, shown with its components
    log = host.evaluate("window.hostLog")
    assert log[:2] == ["ui/initialize", "ui/notifications/initialized"]
    row.get_by_role("button", name="Pin").click()
    app.locator(f"li.memory[data-id='{stored['memory']['id']}'] .tag:text('pinned')").wait_for()
    assert "tools/call" in host.evaluate("window.hostLog")
    assert rpc.call("memory_get", memory_id=stored["memory"]["id"])["pinned"] is True
    assert errors == []
    context.close()


def test_png_cards_import_too(page: Any, rpc: Rpc) -> None:
    rpc.call("persona_create", name="Thistle Down", description="A dandelion spirit.")
    exported = rpc.call("persona_export", persona_id="thistle-down", format="png")
    picture = base64.b64decode(exported["content"])
    rpc.call("persona_delete", persona_id="thistle-down", purge=True)
    open_view(page, "#/personas")
    page.set_input_files(
        "#import-file", files=[{"name": "thistle.png", "mimeType": "image/png", "buffer": picture}]
    )
    page.wait_for_selector("text=Imported Thistle Down")
    page.wait_for_url("**/#/personas/thistle-down")


def test_edit_a_memory_and_filter_by_kind(page: Any, rpc: Rpc) -> None:
    told = rpc.call("memory_store", content="Kira keeps paper lanterns in the archive.", persona_id="kira")
    rpc.call(
        "memory_store", content="Lanterns are lit at the winter festival.", persona_id="kira", kind="semantic"
    )
    open_view(page, "#/personas/kira/memories?q=lanterns")
    assert page.locator("#memory-results li.memory").count() == 2
    page.locator("form.filters select[name=kind]").select_option("semantic")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/memories?q=lanterns&kind=semantic")
    page.wait_for_selector("#main:not([aria-busy])")
    assert page.locator("#memory-results li.memory").count() == 1
    assert "winter festival" in page.inner_text("#memory-results")
    open_view(page, "#/personas/kira/memories?q=lanterns&kind=episodic")
    row = page.locator(f"li.memory[data-id='{told['memory']['id']}']")
    row.get_by_role("button", name="Edit").click()
    row.get_by_label("Memory text").fill("Kira keeps paper lanterns and a brass telescope in the archive.")
    row.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Memory saved.")
    assert "brass telescope" in rpc.call("memory_get", memory_id=told["memory"]["id"])["content"]


def test_another_principal_signs_in_with_its_token_and_sees_only_its_share(
    browser: Any, console: Console, rpc: Rpc
) -> None:
    rpc.call("persona_create", name="Owner Only", description="Made by the console's owner.")
    made = subprocess.run(
        [sys.executable, "-m", "persona_mcp", "--data-dir", console.data_dir, "token", "add", "carol"],
        capture_output=True,
        text=True,
        check=True,
    )
    carol = made.stdout.strip().splitlines()[-1]
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{console.base}/ui/#/personas")
    tab.wait_for_selector("#sign-in")  # this server wants a token: the page asks for one
    tab.get_by_label("Token").fill(carol)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_selector("#persona-list li")
    listed = tab.inner_text("#persona-list")
    assert "Aria" in listed  # shipped personas are open to every principal
    assert "Owner Only" not in listed  # another principal's persona is not
    tab.goto(f"{console.base}/ui/#/personas/owner-only")
    tab.wait_for_selector("text=Could not show this page")
    assert "No persona_id 'owner-only' exists" in tab.inner_text("#main")
    context.close()


def test_serve_http_offers_the_console_and_says_which_tools_a_profile_lacks(
    browser: Any, tmp_path: Path
) -> None:
    with http_server(tmp_path / "data", PERSONA_MCP_TOOLSETS="chat") as server:  # no token: loopback
        tab = browser.new_context().new_page()
        tab.base = f"http://127.0.0.1:{server.port}"
        open_view(tab, "#/personas")
        assert "Aria" in tab.inner_text("#persona-list")
        open_view(tab, "#/maintenance")
        assert "This server does not offer memory_" in tab.inner_text("#main")  # decay or prune stats
        assert "PERSONA_MCP_TOOLSETS=all" in tab.inner_text("#main")
        tab.context.close()
