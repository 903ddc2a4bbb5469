"""One error hierarchy for the domain. Each message is written for the person (or model) who
made the call: it names what was wrong and how to fix it, and never carries a stack trace."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

__all__ = [
    "Conflict",
    "Forbidden",
    "Hidden",
    "InvalidInput",
    "MissingInput",
    "NotFound",
    "PersonaMCPError",
    "Unavailable",
    "find_domain_error",
    "requirement",
    "show_value",
    "validation_problems",
]

_MAX_SHOWN_VALUE = 80
_MAX_PROBLEMS_SHOWN = 3


def show_value(value: Any) -> str:
    """A short, single-line rendering of a user-supplied value for an error message."""
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    return text


def _argument_path(loc: Iterable[int | str], prefix: str) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0].startswith("field_"):  # the MCP SDK prefixes names that shadow BaseModel's
        parts[0] = parts[0].removeprefix("field_")
    return ".".join([prefix, *parts] if prefix else parts) or "arguments"


def requirement(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be"):
        return "must be" + message.removeprefix("Input should be")
    return message[:1].lower() + message[1:]


def validation_problems(error: ValidationError, prefix: str = "", hidden: Iterable[str] = ()) -> str:
    """Pydantic's errors as one readable sentence: "`traits.openness` = 1.5 must be less than or
    equal to 1; missing required argument `name`". `prefix` names the enclosing argument; the
    values of `hidden` arguments (secrets) are never shown."""
    problems = []
    for item in error.errors()[:_MAX_PROBLEMS_SHOWN]:
        argument = _argument_path(item["loc"], prefix)
        item = {**item, "input": _shown(argument, item.get("input"), hidden)}
        if item["type"] == "missing":
            problems.append(f"missing required argument `{argument}`")
        elif item["type"] == "extra_forbidden":
            problems.append(f"`{argument}` is not a known field")
        else:
            problems.append(f"`{argument}` = {show_value(item.get('input'))} {requirement(item['msg'])}")
    more = len(error.errors()) - _MAX_PROBLEMS_SHOWN
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


class Hidden:
    """A value an error message must not show: rendered as `text` instead."""

    def __init__(self, text: str = "(hidden)") -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(argument: str, value: Any, hidden: Iterable[str]) -> Any:
    """The value as an error may show it: hidden when the argument (or the one it is part of) is
    a secret."""
    return Hidden() if argument.split(".")[0] in hidden else value


class PersonaMCPError(Exception):
    """Base of every error the domain raises on purpose; `message` is user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PersonaMCPError):
    """An argument has a value the operation cannot accept."""

    def __init__(self, argument: str, value: Any, fix: str) -> None:
        super().__init__(f"Invalid {argument}: {show_value(value)}. {fix[:1].upper()}{fix[1:]}")
        self.argument = argument
        self.value = value

    @classmethod
    def from_validation(
        cls, error: ValidationError, prefix: str = "", hidden: Iterable[str] = ()
    ) -> InvalidInput:
        """The same error, phrased as the MCP adapter phrases invalid tool arguments."""
        first = error.errors()[0]
        argument = _argument_path(first["loc"], prefix)
        invalid = cls(argument, _shown(argument, first.get("input"), hidden), "")
        problems = validation_problems(error, prefix, hidden)
        PersonaMCPError.__init__(invalid, f"invalid arguments: {problems}. Fix the arguments and call again.")
        return invalid


class MissingInput(InvalidInput):
    """An argument was left out and nothing could stand in for it."""

    def __init__(self, argument: str, fix: str) -> None:
        PersonaMCPError.__init__(self, f"No {argument} was given. {fix}")
        self.argument = argument
        self.value = None


class NotFound(PersonaMCPError):
    """An id names nothing that exists."""

    def __init__(self, argument: str, value: Any, fix: str) -> None:
        super().__init__(f"No {argument} {show_value(value)} exists. {fix}")
        self.argument = argument
        self.value = value


class Conflict(PersonaMCPError):
    """The change would collide with something that already exists."""


class Forbidden(PersonaMCPError):
    """The caller may see what it named but not do this to it (or the operation is for admins).
    Only raised where the thing's existence is already known to the caller: what a caller may not
    see at all is NotFound, exactly as if it did not exist."""


class Unavailable(PersonaMCPError):
    """A backend (LLM, vector index, ...) is not configured or cannot be reached."""


def find_domain_error(exc: BaseException) -> PersonaMCPError | None:
    """The domain error that `exc` is, was raised from (`__cause__`), or holds in an exception
    group (a task group wraps what its tasks raise), if any."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PersonaMCPError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return None
