"""Principals over real HTTP: `persona-mcp token` on the command line, two tokens against one
running `persona-mcp` process in both protocol modes, revocation on the running server, and OAuth
resource-server mode against a stand-in issuer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import call, call_error
from tests.oauth_standin import Issuer, run_issuer
from tests.processes import (
    INITIALIZE,
    JSON_HEADERS,
    ServerProcess,
    free_port,
    http_client,
    http_server,
    server_env,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

_INIT = INITIALIZE
_JSON = JSON_HEADERS


def token_cli(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`persona-mcp token ...` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "persona_mcp", "token", *arguments],
        env=server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add_token(data_dir: Path, name: str, *flags: str) -> str:
    done = token_cli(data_dir, "add", name, *flags)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    token = lines[-1]
    assert token.startswith("pmcp_")
    assert " " not in token
    assert len(token) > 40
    assert all(token not in line for line in lines[:-1])
    return token


async def post(url: str, json: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(url, json=json, headers=headers)


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.get(url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(data_dir: Path) -> dict[str, str]:
    made = {"alice": add_token(data_dir, "alice"), "bob": add_token(data_dir, "bob", "--personas", "kira")}
    made["root"] = add_token(data_dir, "root", "--admin")
    return made


@pytest.fixture
def server(data_dir: Path, tokens: dict[str, str]) -> Iterator[ServerProcess]:
    with http_server(data_dir) as running:
        yield running


def test_the_token_cli_shows_a_token_once_and_never_again(data_dir: Path, tokens: dict[str, str]) -> None:
    listed = token_cli(data_dir, "list")
    assert listed.returncode == 0
    assert "alice: principal, active" in listed.stdout
    assert "root: admin, active" in listed.stdout
    assert "bob: principal, active; grants: kira (read)" in listed.stdout
    assert not any(token in listed.stdout for token in tokens.values())
    assert tokens["alice"] not in (data_dir / "persona.db").read_bytes().decode("latin-1")  # only a hash
    again = token_cli(data_dir, "add", "alice")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert again.stdout == ""
    bad = token_cli(data_dir, "add", "owner")
    assert bad.returncode == 2
    assert "local owner" in bad.stderr
    missing = token_cli(data_dir, "grant", "alice", "nobody")
    assert missing.returncode == 2
    assert "No persona_id 'nobody' exists" in missing.stderr


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_two_tokens_are_two_people_on_one_server(
    server: ServerProcess, tokens: dict[str, str], mode: str
) -> None:
    async with (
        http_client(server.url, bearer(tokens["alice"]), mode=mode) as alice,
        http_client(server.url, bearer(tokens["bob"]), mode=mode) as bob,
    ):
        assert (await call(alice, "access_whoami"))["principal"] == "alice"
        assert (await call(bob, "access_whoami"))["principal"] == "bob"
        switched = await call(alice, "persona_switch", persona_id="kira")
        assert switched["scope"] == ("connection" if mode == "legacy" else "principal")
        # Bob's active persona is still the default, whatever alice switched to.
        assert (await call(bob, "persona_status"))["persona"]["id"] == "aria"
        assert (await call(alice, "persona_status"))["persona"]["id"] == "kira"
        await call(bob, "persona_switch", persona_id="aria")
        assert (await call(alice, "persona_status"))["persona"]["id"] == "kira"

        made = await call(alice, "persona_create", name=f"Private {mode}")
        assert made["owner"] == "alice"
        assert f"No persona_id '{made['id']}'" in await call_error(bob, "persona_get", persona_id=made["id"])
        stored = await call(alice, "memory_store", content="My locker code is 4417.", persona_id="aria")
        assert "No memory_id" in await call_error(bob, "memory_get", memory_id=stored["memory"]["id"])
        hits = await call(bob, "memory_search", query="locker code", persona_id="aria")
        assert hits["memories"] == []
        assert "Permission denied" in await call_error(bob, "keys_list")
        assert "Permission denied" in await call_error(
            bob, "persona_update", persona_id="kira", changes={"tags": ["x"]}
        )


async def test_requests_without_a_valid_token_get_401_once_any_token_exists(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    for headers in ({}, bearer("pmcp_not-a-token"), {"Authorization": tokens["alice"]}):
        response = await post(server.url, json=_INIT, headers={**_JSON, **headers})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (
        await post(server.url, json=_INIT, headers={**_JSON, **bearer(tokens["alice"])})
    ).status_code == 200


async def test_tokens_added_and_revoked_on_a_running_server_take_effect_at_once(data_dir: Path) -> None:
    with http_server(data_dir) as server:
        open_door = await post(server.url, json=_INIT, headers=_JSON)
        assert open_door.status_code == 200  # loopback, no tokens yet: the local owner
        carol = add_token(data_dir, "carol")
        assert (await post(server.url, json=_INIT, headers=_JSON)).status_code == 401
        async with http_client(server.url, bearer(carol), mode="legacy") as session:
            assert (await call(session, "access_whoami"))["principal"] == "carol"
            revoked = token_cli(data_dir, "revoke", "carol")
            assert revoked.returncode == 0
            assert "carol: principal, revoked" in revoked.stdout
            with pytest.raises(MCPError, match="error response"):  # the 401
                await session.call_tool("access_whoami", {})
        refused = await post(server.url, json=_INIT, headers={**_JSON, **bearer(carol)})
        assert refused.status_code == 401
        assert "invalid_token" in refused.headers["www-authenticate"]
        # Adding the name again issues a new token; the old one stays dead.
        renewed = add_token(data_dir, "carol")
        assert (await post(server.url, json=_INIT, headers={**_JSON, **bearer(renewed)})).status_code == 200
        assert (await post(server.url, json=_INIT, headers={**_JSON, **bearer(carol)})).status_code == 401


async def test_the_single_persona_mcp_token_is_still_the_owner(data_dir: Path) -> None:
    with http_server(data_dir, PERSONA_MCP_TOKEN="the-old-shared-token-123") as server:
        async with http_client(server.url, bearer("the-old-shared-token-123")) as owner:
            whoami = await call(owner, "access_whoami")
            assert whoami["principal"] == "owner"
            assert whoami["admin"] is True
            assert not (await owner.call_tool("keys_list", {})).is_error


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with run_issuer() as running:
        yield running


async def test_oauth_access_tokens_from_the_issuer_act_as_their_subject(
    data_dir: Path, issuer: Issuer
) -> None:
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    add_token(data_dir, "dana", "--admin", "--subject", "user-2")
    env = {"PERSONA_MCP_OAUTH_ISSUER": issuer.url}
    with http_server(data_dir, port=port, **env) as server:
        assert server.url == audience
        async with http_client(server.url, bearer(issuer.token("user-1", audience))) as session:
            whoami = await call(session, "access_whoami")
            assert whoami == {**whoami, "principal": "oauth:user-1", "admin": False, "kind": "oauth"}
            assert "Permission denied" in await call_error(session, "keys_list")
        async with http_client(server.url, bearer(issuer.token("user-2", audience))) as session:
            whoami = await call(session, "access_whoami")
            assert whoami == {**whoami, "principal": "dana", "admin": True}

        refused = {
            "expired": issuer.token("user-1", audience, lifetime=-120),
            "wrong audience": issuer.token("user-1", "http://127.0.0.1:1/mcp"),
            "wrong issuer": issuer.token("user-1", audience, issuer="http://127.0.0.1:2"),
            "bad signature": issuer.token("user-1", audience, key=Issuer().key),
            "unknown key id": issuer.token("user-1", audience, kid="key-9"),
            "not a JWT": "eyJ.not.a-token",
        }
        for why, token in refused.items():
            response = await post(server.url, json=_INIT, headers={**_JSON, **bearer(token)})
            assert response.status_code == 401, why
            challenge = response.headers["www-authenticate"]
            assert 'resource_metadata="http://127.0.0.1:' in challenge, why
        assert issuer.jwks_fetches <= 3  # cached; an unknown kid refetches at most every 30 s

        response = await post(server.url, json=_INIT, headers=_JSON)
        assert response.status_code == 401
        metadata_url = response.headers["www-authenticate"].split('resource_metadata="')[1].rstrip('"')
        for url in (metadata_url, f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource"):
            metadata = (await get(url)).json()
            assert metadata["resource"] == audience
            assert metadata["authorization_servers"] == [issuer.url]
            assert metadata["bearer_methods_supported"] == ["header"]
