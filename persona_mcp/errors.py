"""The one place where failures become tool errors a client can act on.

Domain errors carry their own user-facing message. Argument validation errors from pydantic are
rewritten to name the argument, the value given and what is accepted, without pydantic's noise.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from core.errors import InvalidInput, find_domain_error

__all__ = ["describe_failure", "unknown_arguments_message"]


def describe_failure(tool: str, exc: BaseException, hidden: Iterable[str] = ()) -> str | None:
    """The message for a failure we can explain, prefixed with the tool, or None for a bug. The
    values of `hidden` arguments (secrets) are never shown."""
    if isinstance(exc, ValidationError):
        exc = InvalidInput.from_validation(exc, hidden=hidden)
    found = find_domain_error(exc)
    return None if found is None else f"{tool}: {found.message}"


def unknown_arguments_message(tool: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """The message for arguments a tool does not take (often a typo)."""
    names = ", ".join(f"`{name}`" for name in sorted(unknown))
    accepted = ", ".join(sorted(known)) or "none"
    return f"{tool}: unknown argument {names}. This tool accepts: {accepted}."
