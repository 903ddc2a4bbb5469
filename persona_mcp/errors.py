"""The one place where failures become tool errors a client can act on.

Domain errors carry their own user-facing message. Argument validation errors from pydantic are
rewritten to name the argument, the value given and what is accepted, without pydantic's noise.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from core.errors import PersonaMCPError, show_value

__all__ = ["describe_failure", "unknown_arguments_message"]

_MAX_ERRORS_SHOWN = 3


def _argument_path(loc: Iterable[int | str]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0].startswith("field_"):  # the SDK prefixes names that shadow BaseModel's
        parts[0] = parts[0].removeprefix("field_")
    return ".".join(parts) or "arguments"


def _requirement(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be"):
        return "must be" + message.removeprefix("Input should be")
    return message[0].lower() + message[1:] if message else message


def format_validation_error(tool: str, error: ValidationError) -> str:
    """'persona.create: `traits.openness` = 1.5 must be less than or equal to 1. ...'"""
    problems = []
    for item in error.errors()[:_MAX_ERRORS_SHOWN]:
        argument = _argument_path(item["loc"])
        if item["type"] == "missing":
            problems.append(f"missing required argument `{argument}`")
        elif item["type"] == "extra_forbidden":
            problems.append(f"`{argument}` is not a known field")
        else:
            problems.append(f"`{argument}` = {show_value(item.get('input'))} {_requirement(item['msg'])}")
    more = len(error.errors()) - _MAX_ERRORS_SHOWN
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"{tool}: invalid arguments: " + "; ".join(problems) + f"{suffix}. Fix the arguments and call again."


def describe_failure(tool: str, exc: BaseException) -> str | None:
    """The message for a failure we can explain, or None for a genuine bug."""
    if isinstance(exc, PersonaMCPError):
        return f"{tool}: {exc.message}"
    if isinstance(exc, ValidationError):
        return format_validation_error(tool, exc)
    return None


def unknown_arguments_message(tool: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """The message for arguments a tool does not take (often a typo)."""
    names = ", ".join(f"`{name}`" for name in sorted(unknown))
    accepted = ", ".join(sorted(known)) or "none"
    return f"{tool}: unknown argument {names}. This tool accepts: {accepted}."
