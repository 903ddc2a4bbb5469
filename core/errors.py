"""One error hierarchy for the domain. Each message is written for the person (or model) who
made the call: it names what was wrong and how to fix it, and never carries a stack trace."""

from __future__ import annotations

from typing import Any

__all__ = ["Conflict", "InvalidInput", "MissingInput", "NotFound", "PersonaMCPError", "Unavailable"]

_MAX_SHOWN_VALUE = 80


def show_value(value: Any) -> str:
    """A short, single-line rendering of a user-supplied value for an error message."""
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    return text


class PersonaMCPError(Exception):
    """Base of every error the domain raises on purpose; `message` is user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PersonaMCPError):
    """An argument has a value the operation cannot accept."""

    def __init__(self, argument: str, value: Any, fix: str) -> None:
        super().__init__(f"Invalid {argument}: {show_value(value)}. {fix}")
        self.argument = argument
        self.value = value


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


class Unavailable(PersonaMCPError):
    """A backend (LLM, vector index, ...) is not configured or cannot be reached."""
