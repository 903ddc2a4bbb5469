"""Where people's history lives, read into one shape: a SillyTavern chat (`.jsonl`), a ChatGPT data
export (`conversations.json`), a Claude data export (`conversations.json`), and the MCP reference
memory server's knowledge graph (`memory.jsonl`). Pure: text in, a History out; every problem is
an InvalidInput naming the line or item.

Each turn and fact carries a key that names it within its source (a message id, a conversation id
and position, an entity and observation), so importing the same file twice adds nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from core.errors import InvalidInput
from core.interop.safe_load import MAX_CONTENT_BYTES, check_shape, load_json

__all__ = [
    "HISTORY_FORMATS",
    "Fact",
    "History",
    "HistoryFormat",
    "Thread",
    "Turn",
    "detect_history",
    "read_history",
]

HistoryFormat = Literal["sillytavern", "chatgpt", "claude", "mcp_memory"]
HISTORY_FORMATS: tuple[HistoryFormat, ...] = ("sillytavern", "chatgpt", "claude", "mcp_memory")
_ARG = "content"
_MAX_LINES = 200_000


@dataclass(frozen=True)
class Turn:
    key: str
    role: Literal["user", "assistant", "system"]
    speaker: str
    text: str
    at: datetime | None


@dataclass
class Thread:
    """One conversation as it was had."""

    key: str
    title: str | None
    started: datetime | None
    user_name: str
    character_name: str | None
    turns: list[Turn] = field(default_factory=list)


@dataclass(frozen=True)
class Fact:
    """One statement of a knowledge graph (an observation, or a relation)."""

    key: str
    subject: str
    text: str
    kind: str  # entity type, or "relation"


@dataclass
class History:
    format: HistoryFormat
    threads: list[Thread] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _lines(text: str) -> list[tuple[int, Any]]:
    """The JSON value of each non-empty line, numbered from 1."""
    values: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(values) >= _MAX_LINES:
            raise InvalidInput(
                _ARG, f"<more than {_MAX_LINES:,} lines>", "split the file and import each part."
            )
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{_ARG} line {number}", line[:80], f"is not JSON ({exc}).") from None
        check_shape(value, f"{_ARG} line {number}")
        values.append((number, value))
    return values


def _when(value: Any) -> datetime | None:
    """A timestamp as the tools write them: epoch seconds or milliseconds, ISO-8601, or
    SillyTavern's "November 3, 2024 4:31pm"; None when there is none or it cannot be read."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    for pattern in (
        "%B %d, %Y %I:%M%p",
        "%B %d, %Y %I:%M %p",
        "%Y-%m-%d @%Hh %Mm %Ss %fms",
        "%Y-%m-%d@%Hh%Mm%Ss",
    ):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _sillytavern(text: str) -> History:
    lines = _lines(text)
    if not lines or not isinstance(lines[0][1], dict):
        raise InvalidInput(_ARG, text[:80], "a SillyTavern chat starts with its header line (user_name...).")
    header = lines[0][1]
    user = _text(header.get("user_name")) or "User"
    character = _text(header.get("character_name")) or None
    started = _when(header.get("create_date"))
    chat_key = _digest("sillytavern", _text(header.get("create_date")), user, character or "")
    thread = Thread(chat_key, character and f"{character} (SillyTavern)", started, user, character)
    history = History("sillytavern", [thread])
    for number, message in lines[1:]:
        if not isinstance(message, dict):
            raise InvalidInput(f"{_ARG} line {number}", message, "each message line is a JSON object.")
        content = message.get("mes")
        if not isinstance(content, str):
            raise InvalidInput(f"{_ARG} line {number}.mes", content, "a message's text (mes) is a string.")
        if not content.strip():
            continue
        role: Literal["user", "assistant", "system"] = (
            "system" if message.get("is_system") else "user" if message.get("is_user") else "assistant"
        )
        speaker = _text(message.get("name")) or (user if role == "user" else character or "character")
        thread.turns.append(
            Turn(f"{chat_key}:{number}", role, speaker, content, _when(message.get("send_date")))
        )
    return history


def _chatgpt_thread(raw: dict[str, Any], index: int, history: History) -> None:
    mapping = raw.get("mapping")
    if not isinstance(mapping, dict):
        raise InvalidInput(
            f"{_ARG}[{index}].mapping", mapping, "a ChatGPT conversation keeps its messages there."
        )
    key = _text(raw.get("conversation_id") or raw.get("id")) or _digest(
        "chatgpt", str(index), _text(raw.get("title"))
    )
    # The thread the user last saw: from current_node back to the root (edits leave branches).
    node_id, path, seen = raw.get("current_node"), [], set()
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        path.append(node)
        node_id = node.get("parent") if isinstance(node, dict) else None
    if not path:  # no current_node: every node, in time order
        path = sorted(
            (node for node in mapping.values() if isinstance(node, dict)),
            key=lambda node: _number(_obj(node.get("message")).get("create_time")),
            reverse=True,
        )
    thread = Thread(key, _text(raw.get("title")) or None, _when(raw.get("create_time")), "user", None)
    for node in reversed(path):
        message = node.get("message") if isinstance(node, dict) else None
        if not isinstance(message, dict):
            continue
        author = _obj(message.get("author")).get("role")
        content = _obj(message.get("content"))
        parts = _list(content.get("parts"))
        said = "\n".join(part for part in parts if isinstance(part, str)).strip()
        if (
            author not in ("user", "assistant")
            or content.get("content_type") not in ("text", None)
            or not said
        ):
            continue  # system prompts, tool calls, images, hidden context
        if _obj(message.get("metadata")).get("is_visually_hidden_from_conversation"):
            continue
        turn_key = f"{key}:{_text(message.get('id')) or len(thread.turns)}"
        at = _when(message.get("create_time")) or thread.started
        thread.turns.append(Turn(turn_key, author, author, said, at))
    history.threads.append(thread)


def _claude_thread(raw: dict[str, Any], index: int, history: History) -> None:
    messages = raw.get("chat_messages")
    if not isinstance(messages, list):
        raise InvalidInput(
            f"{_ARG}[{index}].chat_messages", messages, "a Claude conversation keeps its messages there."
        )
    key = _text(raw.get("uuid")) or _digest("claude", str(index), _text(raw.get("name")))
    thread = Thread(key, _text(raw.get("name")) or None, _when(raw.get("created_at")), "user", None)
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        sender = message.get("sender")
        blocks = _list(message.get("content"))
        said = (
            "\n".join(
                _text(block.get("text"))
                for block in blocks
                if isinstance(block, dict) and block.get("type") == "text"
            ).strip()
            or _text(message.get("text")).strip()
        )
        if sender not in ("human", "assistant") or not said:
            continue
        role: Literal["user", "assistant"] = "user" if sender == "human" else "assistant"
        turn_key = f"{key}:{_text(message.get('uuid')) or position}"
        thread.turns.append(
            Turn(turn_key, role, role, said, _when(message.get("created_at")) or thread.started)
        )
    history.threads.append(thread)


def _export(document: Any, fmt: Literal["chatgpt", "claude"]) -> History:
    if not isinstance(document, list):
        raise InvalidInput(
            _ARG, type(document).__name__, "a data export's conversations.json is a list of conversations."
        )
    history = History(fmt)
    for index, raw in enumerate(document):
        if not isinstance(raw, dict):
            raise InvalidInput(f"{_ARG}[{index}]", raw, "each conversation is a JSON object.")
        (_chatgpt_thread if fmt == "chatgpt" else _claude_thread)(raw, index, history)
    return history


def _spaced(name: str) -> str:
    return name.replace("_", " ").strip()


def _mcp_memory(text: str) -> History:
    history = History("mcp_memory")
    for number, item in _lines(text):
        where = f"{_ARG} line {number}"
        if not isinstance(item, dict) or item.get("type") not in ("entity", "relation"):
            raise InvalidInput(where, item, "each line is an entity or a relation ({'type': 'entity', ...}).")
        if item["type"] == "entity":
            name = item.get("name")
            observations = item.get("observations", [])
            if not isinstance(name, str) or not name.strip() or not isinstance(observations, list):
                raise InvalidInput(where, item, "an entity has a name and a list of observations.")
            kind = _text(item.get("entityType")) or "entity"
            for observation in observations:
                if isinstance(observation, str) and observation.strip():
                    key = f"entity:{name}:{_digest(observation)}"
                    history.facts.append(Fact(key, name, f"{_spaced(name)}: {observation.strip()}", kind))
        else:
            source, target, relation = item.get("from"), item.get("to"), item.get("relationType")
            if not all(isinstance(value, str) and value.strip() for value in (source, target, relation)):
                raise InvalidInput(where, item, "a relation has from, to and relationType.")
            source, target, relation = str(source), str(target), str(relation)
            key = f"relation:{source}:{relation}:{target}"
            sentence = f"{_spaced(source)} {_spaced(relation)} {_spaced(target)}."
            history.facts.append(Fact(key, source, sentence, "relation"))
    return history


def detect_history(text: str) -> HistoryFormat | None:
    """Which history format `text` is in, by its shape (None: none of them)."""
    head = text.lstrip()[:4096]
    if head.startswith("["):
        if '"mapping"' in text[:200_000]:
            return "chatgpt"
        if '"chat_messages"' in text[:200_000]:
            return "claude"
        return None
    lines = text.lstrip().split("\n", 2)
    try:
        first = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        return None  # a pretty-printed JSON document (a card, a lorebook) or not JSON at all
    if not isinstance(first, dict) or "spec" in first or "data" in first:
        return None
    if first.get("type") in ("entity", "relation"):
        return "mcp_memory"
    if {"user_name", "character_name", "chat_metadata"} & set(first) or "is_user" in first:
        return "sillytavern"
    return None


def read_history(content: str, fmt: HistoryFormat | None = None) -> History:
    """The history in `content` (its format detected unless given)."""
    if len(content) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            _ARG, f"<{len(content):,} characters>", f"a file is at most {MAX_CONTENT_BYTES // 2**20} MiB."
        )
    if not content.strip():
        raise InvalidInput(_ARG, content, "it is empty: pass the file's text.")
    fmt = fmt or detect_history(content)
    if fmt is None:
        raise InvalidInput(
            _ARG,
            content[:60],
            "this is not a history file this server reads: a SillyTavern chat (.jsonl), a ChatGPT or "
            "Claude data export (conversations.json), or the MCP memory server's memory.jsonl.",
        )
    if fmt == "sillytavern":
        return _sillytavern(content)
    if fmt == "mcp_memory":
        return _mcp_memory(content)
    return _export(load_json(content, _ARG), fmt)
