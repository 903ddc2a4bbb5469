"""Settings: read once from an optional TOML file and `PERSONA_MCP_*` environment variables.

Every setting has one line of documentation, a default and an environment variable; the README's
settings table lists the same. Environment variables win over the TOML file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.errors import PersonaMCPError, requirement, show_value
from core.sensitive import SENSITIVE, is_secret
from core.tuning import KindRates, SearchWeights, parse_pairs

__all__ = [
    "NAMESPACES",
    "SECRET_FIELDS",
    "SENSITIVE",
    "TOOL_PROFILES",
    "ConfigError",
    "KindRates",
    "SearchWeights",
    "Settings",
    "env_name",
    "is_secret",
    "load_settings",
]

# The tool namespaces, in the order tools are listed.
NAMESPACES: tuple[str, ...] = tuple(
    ["persona", "memory", "relationship", "emotional", "conversation", "system", "state", "keys", "access"]
)
# Named sets of tools: "chat" is what a chat host needs (the default; persona_mcp.tools lists
# it), "all" is every namespace.
TOOL_PROFILES: tuple[str, ...] = ("chat", "all")


class ConfigError(PersonaMCPError):
    """A setting has a value the server cannot start with."""


class Settings(BaseModel):
    """Everything the server can be told, with defaults that work on a laptop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("persona-mcp", appauthor=False)),
        description="Folder holding persona.db and the vector index; created on first start.",
    )
    state_dir: Path | None = Field(
        None,
        description="Folder state_save writes to and state_load reads from (default: <data dir>/backups); "
        "the tools cannot reach files outside it.",
    )
    default_persona: str = Field(
        "aria", description="Persona used when a call names none and the session switched to none."
    )
    toolsets: tuple[str, ...] = Field(
        ("chat",),
        description="Tools to register: the chat profile (what a chat host needs), all, or namespaces "
        "(persona, memory, ...); several add up, e.g. chat,keys.",
    )
    tool_separator: Literal["_", "."] = Field(
        "_", description="Between namespace and tool: persona_list (what every host accepts) or persona.list."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level (stderr).")
    seed_personas: bool = Field(True, description="Seed the shipped personas into a new database.")
    http_host: str = Field("127.0.0.1", description="Address the HTTP transport binds.")
    http_port: int = Field(8000, ge=1, le=65535, description="Port the HTTP transport binds.")
    token: SecretStr | None = Field(None, description="Bearer token HTTP clients must send (none: no auth).")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="Extra Host header values the HTTP transport accepts (host or host:port)."
    )
    allowed_origins: tuple[str, ...] = Field(
        (), description="Extra Origin header values the HTTP transport accepts (scheme://host:port)."
    )
    max_request_bytes: int = Field(
        1_048_576, ge=1024, le=64 * 1_048_576, description="Largest HTTP request body accepted."
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=0,
        le=1_000_000,
        description="HTTP tool calls each client address may make a minute (0: no limit).",
    )
    rate_limit_burst: int = Field(
        60,
        ge=1,
        le=1_000_000,
        description="Tool calls a client may make at once before the rate limit applies.",
    )
    http_timeout_seconds: float = Field(
        30.0,
        gt=0.0,
        le=3600.0,
        description="HTTP: request heads and bodies must arrive within this; idle keep-alive connections "
        "close after it.",
    )
    http_max_connections_per_client: int = Field(
        128,
        ge=0,
        le=100_000,
        description="HTTP: connections one client address may hold open at once (0: no limit; behind a "
        "proxy every client shares its address).",
    )
    shipped_personas: Literal["everyone", "admins"] = Field(
        "everyone", description="Who may read and chat with the shipped personas: every principal, or admins."
    )
    oauth_issuer: str | None = Field(None, description="Accept OAuth access tokens (JWT) this issuer signs.")
    oauth_audience: str | None = Field(
        None, description="The resource URL tokens must be issued for (default: http://<host>:<port>/mcp)."
    )
    oauth_jwks_url: str | None = Field(None, description="The issuer's keys (default: from its metadata).")
    allow_unauthenticated: bool = Field(
        False,
        description="HTTP: serve a non-loopback address without PERSONA_MCP_TOKEN (refused otherwise).",
    )
    http_session_idle_minutes: float = Field(
        30.0, gt=0.0, le=10_080.0, description="HTTP: an MCP session nobody used for this long is closed."
    )
    http_max_sessions: int = Field(
        1000, ge=1, le=100_000, description="HTTP: most MCP sessions open at once."
    )
    master_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="Master key sealing provider keys: 32 random bytes as base64/hex, or a passphrase of 16+ "
        "characters (default: a key file).",
    )
    master_key_file: Path | None = Field(
        None,
        description="Key file used without PERSONA_MCP_MASTER_KEY (default: <data dir>/master.key, 0600).",
    )
    ollama_host: str = Field("http://127.0.0.1:11434", description="Where Ollama listens.")
    embedder: Literal["auto", "sentence-transformers", "onnx", "ollama"] = Field(
        "auto", description="Embedding provider; auto takes the first that loads."
    )
    embedding_model: str | None = Field(
        None,
        description="sentence-transformers: a local model folder; ollama: a model name (nomic-embed-text).",
    )
    cache_dir: Path | None = Field(
        None,
        description="Where built model graphs and checked model files are kept (default: the user's cache).",
    )
    model_download: bool = Field(
        True,
        description="With no installed copy of all-MiniLM-L6-v2, fetch it from the Hugging Face Hub "
        "(HF_ENDPOINT if set) in the background on first use; off, or with HF_HUB_OFFLINE=1, search "
        "matches words instead.",
    )

    database_url: SecretStr | None = Field(
        None,
        description="PostgreSQL + pgvector (postgresql://user:password@host:5432/name) instead of the data "
        "folder's SQLite and vector index: many server processes on one store (the postgres extra).",
    )
    fts_config: str = Field(
        "english", description="PostgreSQL: the text search configuration (`simple` for other languages)."
    )
    chroma_host: str | None = Field(
        None, description="A Chroma server (host:port or URL) to hold vectors instead of the data folder."
    )
    dedup_threshold: float = Field(
        0.95, ge=0.5, le=1.0, description="Cosine similarity above which a new memory reinforces an old one."
    )
    reflect_interval_minutes: float = Field(
        0.0,
        ge=0.0,
        description="Reflect on recent episodes this often and after a conversation ends (0: off).",
    )
    belief_model: str = Field(
        "auto",
        min_length=1,
        max_length=200,
        description="Ollama model for contradiction checks and reflection: auto (the chat model, when "
        "Ollama answers), off (rules only), or a model name.",
    )
    auto_supersede_llm: bool = Field(
        True, description="Supersede what the model's contradiction check finds, not only report it."
    )
    auto_supersede_rule: bool = Field(
        False, description="Supersede what the rule-based contradiction check flags, not only report it."
    )
    search_weights: SearchWeights = Field(
        default_factory=SearchWeights,
        description="Weights of semantic, lexical, importance, recency and context in memory_search.",
    )
    recency_half_life_days: float = Field(
        30.0, gt=0.0, le=36_500.0, description="Age at which a memory's recency score halves."
    )
    index_sync_seconds: float = Field(
        2.0, ge=0.1, le=3600.0, description="How often the vector index catches up with SQLite."
    )

    chat_model: str = Field(
        "llama3.2",
        min_length=1,
        max_length=200,
        description="Ollama model for chat unless a persona names one.",
    )
    chat_timeout_seconds: float = Field(
        120.0, gt=0.0, le=3600.0, description="How long a chat waits for Ollama before giving up."
    )
    chat_token_budget: int = Field(
        4096,
        ge=256,
        le=1_000_000,
        description="Tokens a chat context may use when a call gives no token_budget.",
    )
    emotion_half_life_minutes: float = Field(
        60.0,
        gt=0.0,
        le=525_600.0,
        description="Time for a mood to drift halfway back to the persona's baseline.",
    )
    energy_half_life_minutes: float = Field(
        180.0,
        gt=0.0,
        le=525_600.0,
        description="Time for social energy to recover halfway to the baseline with rest.",
    )
    test_clock: bool = Field(
        False, description="Register system_clock_advance, to move time in scripted tests."
    )
    decay_enabled: bool = Field(True, description="Run decay in the background from the start.")
    decay_interval_seconds: float = Field(
        3600.0, ge=1.0, le=30 * 86_400.0, description="How often background decay runs."
    )
    decay_mode: Literal["exponential", "linear", "logarithmic", "step"] = Field(
        "exponential", description="Shape of decay over time."
    )
    decay_rate: float = Field(
        0.05, ge=0.0, le=1.0, description="Daily decay rate, before the per-kind multiple."
    )
    decay_kind_rates: KindRates = Field(
        default_factory=KindRates, description="Multiple of the decay rate for each kind of memory."
    )
    decay_floor: float = Field(
        0.5, ge=0.0, le=1.0, description="Strength that pinned and important memories never decay below."
    )
    decay_floor_importance: float = Field(
        0.8, ge=0.0, le=1.0, description="Importance from which a memory keeps the decay floor."
    )
    prune_importance_below: float = Field(
        0.3, ge=0.0, le=1.0, description="Pruning only archives memories less important than this..."
    )
    prune_strength_below: float = Field(0.2, ge=0.0, le=1.0, description="... and weaker than this.")
    prune_min_keep: int = Field(100, ge=0, description="Pruning never leaves a persona fewer live memories.")
    prune_max_fraction: float = Field(
        0.25, gt=0.0, le=1.0, description="Largest share of a persona's memories one prune run archives."
    )
    prune_over: int = Field(
        10_000, ge=0, description="Background pruning runs for a persona with more live memories (0: never)."
    )

    _parse_pairs = field_validator("search_weights", "decay_kind_rates", mode="before")(parse_pairs)

    @field_validator("toolsets")
    @classmethod
    def _known_toolsets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = (*TOOL_PROFILES, *NAMESPACES)
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(f"unknown profile or namespace {unknown[0]!r}; choose from {', '.join(known)}")
        if not value:
            raise ValueError(f"name at least one profile or namespace of {', '.join(known)}")
        return tuple(dict.fromkeys(value))

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("give a PostgreSQL URL: postgresql://user:password@host:5432/database")
        return value

    @field_validator("ollama_host")
    @classmethod
    def _normalise_ollama_host(cls, value: str) -> str:
        # Ollama itself accepts "host:port" without a scheme; so do we.
        value = value.strip().rstrip("/")
        if not value:
            raise ValueError("give a URL such as http://127.0.0.1:11434")
        return value if "://" in value else f"http://{value}"

    @property
    def database_path(self) -> Path:
        """The SQLite file that is the source of truth."""
        return self.data_dir / "persona.db"

    @property
    def backup_dir(self) -> Path:
        """Where state archives go: PERSONA_MCP_STATE_DIR, else <data dir>/backups."""
        return self.state_dir or self.data_dir / "backups"

    @property
    def key_file_path(self) -> Path:
        """The master key file: PERSONA_MCP_MASTER_KEY_FILE, else <data dir>/master.key."""
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def index_path(self) -> Path:
        """The local Chroma folder (derived from SQLite; safe to delete)."""
        return self.data_dir / "vectors"

    def tool_name(self, namespace: str, name: str) -> str:
        """The registered name of a tool, e.g. `persona_list` or `persona.list`."""
        return f"{namespace}{self.tool_separator}{name}"


# Settings never written to an archive, a report or a log.
SECRET_FIELDS = frozenset(
    name for name, field in Settings.model_fields.items() if is_secret(field.annotation)
)

# Environment variable -> Settings field: PERSONA_MCP_<FIELD>, except the two names other tools
# already use. Lists are comma-separated.
_SHARED_ENV = {"ollama_host": "OLLAMA_HOST", "chroma_host": "CHROMA_HOST"}
_ENV: dict[str, str] = {
    _SHARED_ENV.get(field, f"PERSONA_MCP_{field.upper()}"): field for field in Settings.model_fields
}
_LIST_FIELDS = {"toolsets", "allowed_hosts", "allowed_origins"}
_FIELD_TO_ENV = {field: env for env, field in _ENV.items()}


def env_name(field: str) -> str:
    """The environment variable of a setting, e.g. PERSONA_MCP_DATA_DIR or OLLAMA_HOST."""
    return _FIELD_TO_ENV[field]


CONFIG_FILE_ENV = "PERSONA_MCP_CONFIG"


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for env_name, field in _ENV.items():
        value = environ.get(env_name)
        if value is None or value == "":
            continue
        if field in _LIST_FIELDS:
            raw[field] = [part.strip() for part in value.split(",") if part.strip()]
        elif field == "log_level":
            raw[field] = value.strip().upper()
        else:
            raw[field] = value.strip()
    return raw


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{CONFIG_FILE_ENV} names {str(path)!r}, which does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{CONFIG_FILE_ENV} file {str(path)!r} is not valid TOML: {exc}.") from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"{CONFIG_FILE_ENV} file {str(path)!r} has unknown setting {unknown[0]!r}; "
            f"known settings: {', '.join(Settings.model_fields)}."
        )
    return data


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the TOML file named by PERSONA_MCP_CONFIG (if any), then the
    environment, then keyword overrides (the CLI's flags). Raises ConfigError naming the
    variable, the bad value and what would be accepted."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    config_file = environ.get(CONFIG_FILE_ENV)
    if config_file:
        raw.update(_from_file(Path(config_file).expanduser()))
    raw.update(_from_env(environ))
    raw.update({key: value for key, value in overrides.items() if value is not None})
    for folder in ("data_dir", "state_dir", "master_key_file"):
        if folder in raw:
            raw[folder] = Path(str(raw[folder])).expanduser()
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        source = _FIELD_TO_ENV.get(field, field)
        value = "(hidden)" if field in SECRET_FIELDS else raw.get(field)
        if isinstance(value, list):
            value = ",".join(map(str, value))
        raise ConfigError(
            f"Setting {source}={show_value(value)} is invalid: {requirement(error['msg'])}."
        ) from None
