"""Provider keys through a real client: sealed at rest, masked when listed, used for Ollama,
unreadable under another master key, and never in a log."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from core.config import ConfigError, Settings, load_settings
from core.keys.master import from_env_text
from core.redact import RedactingFilter, redact, remember
from persona_mcp import build_server
from tests.conftest import call, call_error
from tests.ollama_standin import echo_reply, run_standin
from tests.store_rows import rows

pytestmark = pytest.mark.anyio

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2


def _files_bytes(data_dir: Path) -> bytes:
    """Everything the server wrote to disk: the database, its WAL, the vector index, the key file."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def _rows(settings: Settings) -> list[tuple[Any, ...]]:
    return rows(settings, "SELECT * FROM provider_keys ORDER BY name")


async def test_a_key_is_stored_sealed_listed_masked_and_removed(client: Client, settings: Settings) -> None:
    stored = await call(
        client, "keys_set", name="openai", value=OPENAI_KEY, base_url="https://api.openai.com/v1"
    )
    assert stored["masked"] == "sk-…J9k0"
    assert stored["provider"] == "openai"
    assert stored["replaced"] is False
    listed = await call(client, "keys_list")
    assert [(k["name"], k["masked"], k["readable"]) for k in listed["keys"]] == [("openai", "sk-…J9k0", True)]
    assert listed["master_key"] == f"key file {settings.data_dir / 'master.key'}"
    result = await client.call_tool("keys_list", {})
    assert OPENAI_KEY not in str(result.content) + str(result.structured_content)
    assert "openai (openai at https://api.openai.com/v1): sk-…J9k0" in result.content[0].text  # type: ignore[union-attr]

    key_file = settings.data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert OPENAI_KEY.encode() not in _files_bytes(settings.data_dir)  # never at rest in the clear

    again = await call(client, "keys_set", name="openai", value="sk-other-" + "x" * 20)
    assert again["replaced"] is True
    assert again["created_at"] == stored["created_at"]
    assert len(_rows(settings)) == 1

    assert (await call(client, "keys_remove", name="openai"))["removed"] is True
    assert (await call(client, "keys_list"))["keys"] == []
    error = await call_error(client, "keys_remove", name="openai")
    assert "No provider key (6 characters, hidden) exists" in error
    assert "none are stored" in error


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"name": "Open AI", "value": OPENAI_KEY}, "name"),
        ({"name": "openai", "value": "has spaces in it"}, "value"),
        ({"name": "openai", "value": "line\r\nX-Injected: 1"}, "value"),
        ({"name": "openai", "value": "short"}, "value"),
        ({"name": "openai", "value": OPENAI_KEY, "provider": "Not A Slug"}, "provider"),
        ({"name": "openai", "value": OPENAI_KEY, "base_url": "ftp://example.com"}, "base_url"),
        # a key pasted into the wrong argument is a key all the same: never echoed
        ({"name": OPENAI_KEY, "value": OPENAI_KEY}, "name"),
        ({"name": "ollama-9Fh2Kd7Lq3Xw8", "value": OPENAI_KEY}, "name"),
        ({"name": "openai", "value": OPENAI_KEY, "provider": "sk-9Fh2Kd7Lq3Xw8Vb5"}, "provider"),
        (
            {"name": "openai", "value": OPENAI_KEY, "base_url": f"https://x.test/?key={OPENAI_KEY} "},
            "base_url",
        ),
    ],
)
async def test_bad_keys_are_refused_without_echoing_the_value_and_change_nothing(
    client: Client, settings: Settings, arguments: dict[str, str], named: str
) -> None:
    error = await call_error(client, "keys_set", **arguments)
    assert named in error
    assert arguments[named] not in error
    assert arguments[named].strip() not in error
    assert _rows(settings) == []


async def test_the_ollama_key_is_sent_with_each_chat(settings: Settings) -> None:
    token = "ollama-" + secrets.token_urlsafe(24)
    with run_standin(chat_models={"llama3.2": echo_reply}) as ollama:
        ollama.require_token = token
        chat = settings.model_copy(update={"ollama_host": ollama.url, "chat_timeout_seconds": 5.0})
        async with Client(build_server(chat), raise_exceptions=True) as client:
            refused = await call_error(client, "persona_chat", message="Hello there", user_id="sam")
            assert "401" in refused or "not reachable" in refused
            await call(client, "keys_set", name="ollama", value=token)
            reply = await call(client, "persona_chat", message="Hello there", user_id="sam")
            assert reply["provider"] == "ollama"
            assert ollama.authorization[-1] == f"Bearer {token}"
            await call(client, "keys_remove", name="ollama")
            await call_error(client, "persona_chat", message="Hello again", user_id="sam")
            assert ollama.authorization[-1] is None


async def test_another_master_key_cannot_open_stored_keys(settings: Settings) -> None:
    first = settings.model_copy(update={"master_key": SecretStr("correct horse battery staple")})
    async with Client(build_server(first), raise_exceptions=True) as client:
        await call(client, "keys_set", name="ollama", value="ollama-" + "k" * 30)
        assert (await call(client, "keys_list"))["master_key"] == "PERSONA_MCP_MASTER_KEY"
    assert not (settings.data_dir / "master.key").exists()  # the environment's key makes no file

    with run_standin(chat_models={"llama3.2": echo_reply}) as ollama:
        other = settings.model_copy(
            update={
                "master_key": SecretStr("a different passphrase"),
                "ollama_host": ollama.url,
                "chat_timeout_seconds": 5.0,
            }
        )
        async with Client(build_server(other), raise_exceptions=True) as client:
            assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [False]
            error = await call_error(client, "persona_chat", message="Hi", user_id="sam")
            assert "different master key" in error
            assert chat_requests_made(ollama) == 0  # nothing went out without the key

    async with Client(build_server(first), raise_exceptions=True) as client:
        assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [True]


def chat_requests_made(ollama: Any) -> int:
    return sum(1 for path, _ in ollama.requests if path == "/api/chat")


async def test_a_key_file_others_can_read_is_refused(client: Client, settings: Settings) -> None:
    await call(client, "keys_set", name="openai", value=OPENAI_KEY)
    key_file = settings.data_dir / "master.key"
    os.chmod(key_file, 0o644)
    async with Client(build_server(settings), raise_exceptions=True) as fresh:
        error = await call_error(fresh, "keys_set", name="other", value=OPENAI_KEY)
        assert f"chmod 600 {key_file}" in error
    assert [row[0] for row in _rows(settings)] == ["openai"]


async def test_keys_travel_in_backups_sealed(client: Client, settings: Settings, tmp_path: Path) -> None:
    await call(client, "keys_set", name="openai", value=OPENAI_KEY)
    saved = await call(client, "state_save", path="with-keys.pmstate")
    archive = await anyio.Path(saved["path"]).read_bytes()
    assert OPENAI_KEY.encode() not in archive
    await call(client, "keys_remove", name="openai")
    await call(client, "state_load", path="with-keys.pmstate", mode="merge")
    assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [True]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings), raise_exceptions=True) as session:
        yield session


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    remember("plain-words-secret")
    logger = logging.getLogger("persona-mcp.test")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling with %s and %s", "Authorization: Bearer abc.def", OPENAI_KEY)
        logger.info("arguments %s", {"name": "x", "value": "plain-words-secret"})
        logger.info("env PERSONA_MCP_TOKEN=hunter2hunter2 ok")
        try:
            raise ValueError(f"bad key {OPENAI_KEY}")
        except ValueError:
            logger.exception("failed")
    text = caplog.text
    for secret in ("abc.def", OPENAI_KEY, "plain-words-secret", "hunter2hunter2"):
        assert secret not in text
    assert text.count("[redacted]") >= 5
    # ordinary content survives: hashes, ids, prose
    keep = "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 id 0193a1b2-c3d4-7e5f"
    assert redact(keep) == keep


def test_redaction_keeps_ordinary_prose_about_secrets() -> None:
    prose = "serving 0.0.0.0 without PERSONA_MCP_TOKEN: anyone who can reach it; the secret: nothing"
    assert redact(prose) == prose
    for leak in ("token: Xy7-k3y", "PERSONA_MCP_TOKEN=anyone", 'password: "swordfish"', "api_key: s3cr3t"):
        assert "[redacted]" in redact(leak), leak


def test_a_bad_master_key_setting_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"PERSONA_MCP_MASTER_KEY": "too-short"})
    assert "PERSONA_MCP_MASTER_KEY" in refused.value.message
    assert "too-short" not in refused.value.message


def test_master_keys_from_the_environment() -> None:
    raw = secrets.token_bytes(32)
    assert from_env_text(base64.b64encode(raw).decode()).key == raw  # used as it is
    assert from_env_text(base64.b64encode(raw).decode().rstrip("=")).key == raw
    assert from_env_text(base64.urlsafe_b64encode(raw).decode()).key == raw
    assert from_env_text(raw.hex()).key == raw
    assert from_env_text(raw.hex().upper()).key == raw
    # Only canonical text is a raw key: a passphrase that base64 decoding would take once its
    # dashes were skipped, or a key with a character changed, is stretched like any passphrase.
    phrase = "correct-horse-battery-staple-is-my-favourite-thing"
    assert len(base64.b64decode(phrase.replace("-", "") + "==")) == 32  # what the lax reading took
    assert from_env_text(phrase).key == hashlib.scrypt(
        phrase.encode(), salt=b"persona-mcp master key v1", n=2**15, r=8, p=1, maxmem=64 * 2**20, dklen=32
    )
    assert from_env_text(base64.b64encode(raw).decode()[:-2] + "!=").key != raw
    stretched = from_env_text("a passphrase of some length")
    assert len(stretched.key) == 32
    assert stretched.key == from_env_text("a passphrase of some length").key  # stable across starts
    assert "key=" not in repr(stretched)


async def test_keys_sealed_under_the_old_reading_of_a_passphrase_still_open_and_are_resealed(
    settings: Settings,
) -> None:
    phrase = "correct-horse-battery-staple-is-my-favourite-thing"
    # What versions before 0.2 sealed with under this passphrase: its base64 reading.
    old_key = base64.b64encode(base64.b64decode(phrase.replace("-", "") + "==")).decode()
    old = settings.model_copy(update={"master_key": SecretStr(old_key)})
    async with Client(build_server(old), raise_exceptions=True) as client:
        await call(client, "keys_set", name="ollama", value="ollama-" + "k" * 30)
    sealed_before = _rows(settings)[0]

    token = "ollama-" + "k" * 30
    with run_standin(chat_models={"llama3.2": echo_reply}) as ollama:
        ollama.require_token = token
        new = settings.model_copy(
            update={"master_key": SecretStr(phrase), "ollama_host": ollama.url, "chat_timeout_seconds": 5.0}
        )
        async with Client(build_server(new), raise_exceptions=True) as client:
            assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [True]
            await call(client, "persona_chat", message="Hello", user_id="sam")
            assert ollama.authorization[-1] == f"Bearer {token}"
    assert _rows(settings)[0] != sealed_before  # sealed anew under the stretched key
    async with Client(
        build_server(old), raise_exceptions=True
    ) as client:  # which the old reading no longer opens
        assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [False]


async def test_keys_sealed_under_a_passphrase_keep_opening(settings: Settings) -> None:
    first = settings.model_copy(update={"master_key": SecretStr("a passphrase of some length")})
    async with Client(build_server(first), raise_exceptions=True) as client:
        await call(client, "keys_set", name="openai", value=OPENAI_KEY)
    sealed = _rows(settings)
    async with Client(build_server(first), raise_exceptions=True) as client:
        assert [k["readable"] for k in (await call(client, "keys_list"))["keys"]] == [True]
    assert _rows(settings) == sealed
