"""Keep secrets out of logs: a logging filter that redacts known secrets (the HTTP token, the
master key, every provider key the server has handled) and anything shaped like a key or token.

Install `RedactingFilter` on the handlers that write logs (the CLI does, for stderr); services
call `remember` with each secret they handle, so even a secret with no recognisable shape is
caught. Records are rewritten before formatting, exception text included.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["REDACTED", "RedactingFilter", "redact", "remember"]

REDACTED = "[redacted]"
_MIN_REMEMBERED = 6  # shorter values would redact ordinary words

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None

_SHAPES = re.compile(
    "|".join(
        (
            r"(?<=Bearer )[^\s\"',;]+",  # Authorization: Bearer <token>
            r"(?<=Basic )[A-Za-z0-9+/=]{8,}",
            r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{12,}",  # OpenAI, Anthropic (sk-ant-...), OpenRouter, ...
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
            r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
            r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google
            r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
        )
    )
)
# Long runs that look random (letters of both cases and digits) are keys too; hex hashes and ids
# are not. Found as runs first and tested after, so a megabyte of base64 costs linear time.
# "/" is left out, so file paths are not taken for keys.
_RUN = re.compile(r"[A-Za-z0-9+_\-]{32,}={0,2}")
# name=value, name: value, "name": "value" for names that hold secrets.
_ASSIGNED = re.compile(
    r"(?i)((?:api[_-]?key|access[_-]?key|secret|token|password|passphrase|master[_-]?key|authorization|\bvalue)"
    r"[\"']?\s*[:=]\s*[\"']?(?:Bearer |Basic )?)([^\s\"',}&]+)"
)


def remember(secret: str) -> None:
    """Redact this exact value from every later log line."""
    global _known_pattern
    if len(secret) < _MIN_REMEMBERED:
        return
    with _known_lock:
        if secret in _known:
            return
        _known.add(secret)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(map(re.escape, ordered)))


def redact(text: str) -> str:
    """`text` with every known secret and every key- or token-shaped run replaced."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _ASSIGNED.sub(_assigned, text)
    text = _SHAPES.sub(REDACTED, text)
    return _RUN.sub(_random_run, text)


def _assigned(match: re.Match[str]) -> str:
    """`token=abc`, `"password": "abc"` and `secret: Xy7...` lose their value; prose such as
    "without PERSONA_MCP_TOKEN: anyone can..." (a colon, then an ordinary lower-case word) keeps it."""
    lead, value = match.group(1), match.group(2)
    prose = ":" in lead and not lead.rstrip().endswith(("'", '"')) and value.isalpha() and value.islower()
    return match.group(0) if prose else lead + REDACTED


def _random_run(match: re.Match[str]) -> str:
    run = match.group(0)
    looks_random = (
        any(c.islower() for c in run) and any(c.isupper() for c in run) and any(c.isdigit() for c in run)
    )
    return REDACTED if looks_random else run


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with `redact`. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
