"""The mark of a value never shown in a result, an error message, an archive or a log."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import SecretStr

__all__ = ["SENSITIVE", "is_secret"]


class _Sensitive:
    """Annotated[str, SENSITIVE]: an argument that may hold a pasted secret (a key's name or URL)."""


SENSITIVE = _Sensitive()


def is_secret(annotation: Any) -> bool:
    """Whether a type is, or wraps (Optional, Annotated, ...), pydantic's SecretStr or carries
    SENSITIVE: the mark of a value never shown in a result, an error message, an archive or a log."""
    return (
        annotation is SecretStr
        or annotation is SENSITIVE
        or any(is_secret(arg) for arg in get_args(annotation))
    )
