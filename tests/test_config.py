"""Settings from the environment and a TOML file, with clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings


def test_defaults_work_without_any_configuration() -> None:
    settings = load_settings({})
    assert settings.default_persona == "aria"
    assert settings.toolsets == ("chat",)
    assert settings.http_host == "127.0.0.1"
    assert settings.token is None
    assert settings.data_dir.name == "persona-mcp"
    assert settings.tool_name("memory", "search") == "memory_search"


def test_environment_variables_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PERSONA_MCP_DATA_DIR": str(tmp_path),
            "PERSONA_MCP_DEFAULT_PERSONA": "kira",
            "PERSONA_MCP_TOOLSETS": "persona, memory",
            "PERSONA_MCP_TOOL_SEPARATOR": ".",
            "PERSONA_MCP_LOG_LEVEL": "debug",
            "PERSONA_MCP_TOKEN": "s3cret",
            "PERSONA_MCP_HTTP_PORT": "9001",
            "OLLAMA_HOST": "0.0.0.0:11434",
        }
    )
    assert settings.data_dir == tmp_path
    assert settings.default_persona == "kira"
    assert settings.toolsets == ("persona", "memory")
    assert settings.tool_name("persona", "list") == "persona.list"
    assert settings.log_level == "DEBUG"
    assert settings.token is not None
    assert settings.token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.http_port == 9001
    assert settings.ollama_host == "http://0.0.0.0:11434"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"PERSONA_MCP_TOOLSETS": "persona,memroy"},
            "PERSONA_MCP_TOOLSETS='persona,memroy' is invalid: unknown profile or namespace 'memroy'",
        ),
        (
            {"PERSONA_MCP_TOOL_SEPARATOR": "/"},
            "PERSONA_MCP_TOOL_SEPARATOR='/' is invalid: must be '_' or '.'",
        ),
        (
            {"PERSONA_MCP_HTTP_PORT": "99999"},
            "PERSONA_MCP_HTTP_PORT='99999' is invalid: must be less than or equal to 65535",
        ),
        ({"PERSONA_MCP_LOG_LEVEL": "loud"}, "PERSONA_MCP_LOG_LEVEL='LOUD' is invalid"),
        ({"PERSONA_MCP_SEED_PERSONAS": "maybe"}, "PERSONA_MCP_SEED_PERSONAS='maybe' is invalid"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert expected in caught.value.message


def test_toml_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "persona.toml"
    config.write_text('default_persona = "kira"\nhttp_port = 8123\ntoolsets = ["persona"]\n')
    settings = load_settings({"PERSONA_MCP_CONFIG": str(config), "PERSONA_MCP_HTTP_PORT": "8124"})
    assert settings.default_persona == "kira"
    assert settings.toolsets == ("persona",)
    assert settings.http_port == 8124


@pytest.mark.parametrize(
    ("content", "expected"),
    [("colour = 'red'\n", "unknown setting 'colour'"), ("http_port = \n", "is not valid TOML")],
)
def test_bad_toml_files_are_refused_clearly(tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "persona.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        load_settings({"PERSONA_MCP_CONFIG": str(config)})


def test_missing_toml_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"PERSONA_MCP_CONFIG": str(tmp_path / "nope.toml")})


def test_memory_settings_from_environment_and_toml(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PERSONA_MCP_SEARCH_WEIGHTS": "semantic=0.7, lexical=0.2",
            "PERSONA_MCP_DEDUP_THRESHOLD": "0.9",
            "CHROMA_HOST": "localhost:8001",
        }
    )
    assert settings.search_weights.semantic == 0.7
    assert settings.search_weights.lexical == 0.2
    assert settings.search_weights.context == 0.25  # unnamed weights keep their defaults
    assert settings.dedup_threshold == 0.9
    assert settings.chroma_host == "localhost:8001"
    config = tmp_path / "persona.toml"
    config.write_text("recency_half_life_days = 7\n[search_weights]\nrecency = 0.5\n")
    from_file = load_settings({"PERSONA_MCP_CONFIG": str(config)})
    assert from_file.search_weights.recency == 0.5
    assert from_file.recency_half_life_days == 7


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PERSONA_MCP_SEARCH_WEIGHTS", "semantic", "write name=number pairs"),
        ("PERSONA_MCP_SEARCH_WEIGHTS", "loudness=1", "PERSONA_MCP_SEARCH_WEIGHTS"),
        ("PERSONA_MCP_DEDUP_THRESHOLD", "2", "PERSONA_MCP_DEDUP_THRESHOLD='2'"),
    ],
)
def test_bad_memory_settings_name_the_variable(variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings({variable: value})
