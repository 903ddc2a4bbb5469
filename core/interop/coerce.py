"""Reading loosely typed card fields: coerce what has one clear meaning, with a warning; refuse
what has none, naming the field.

Cards in the wild are written by many tools: a number where text belongs, "true" for true, tags
as one comma-separated string. Those are read and reported. An object where text belongs has no
clear reading and is an error.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput

__all__ = ["Reader"]


class Reader:
    """Reads fields of one document, collecting warnings for what it had to coerce or drop."""

    def __init__(self, argument: str) -> None:
        self.argument = argument
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Record a warning (each distinct message once)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def fail(self, where: str, value: Any, fix: str) -> InvalidInput:
        """The error for a field that cannot be read."""
        return InvalidInput(f"{self.argument}: {where}", value, fix)

    def text(self, value: Any, where: str) -> str:
        """A string field: None is empty, numbers and booleans become their text."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            self.warn(f"{where}: read the {type(value).__name__} {value!r} as text")
            return str(value).lower() if isinstance(value, bool) else str(value)
        raise self.fail(where, value, "must be text.")

    def optional_text(self, value: Any, where: str) -> str | None:
        """A string field that may be absent."""
        return None if value is None else self.text(value, where)

    def texts(self, value: Any, where: str) -> list[str]:
        """A list of strings: one string is split at commas; empty items are dropped."""
        if value is None:
            return []
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",")]
            if value.strip():
                self.warn(f"{where}: split the text {value[:60]!r} at commas into a list")
            return [item for item in items if item]
        if not isinstance(value, list):
            raise self.fail(where, value, "must be a list of text.")
        items = [self.text(item, f"{where}[{index}]") for index, item in enumerate(value)]
        kept = [item for item in items if item.strip()]
        if len(kept) < len(items):
            self.warn(f"{where}: dropped {len(items) - len(kept)} empty item(s)")
        return kept

    def boolean(self, value: Any, where: str) -> bool | None:
        """A boolean: 'true'/'false', 1/0 are read as such; None stays None."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            self.warn(f"{where}: read {value!r} as {bool(value)}")
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            self.warn(f"{where}: read the text {value!r} as a boolean")
            return value.strip().lower() == "true"
        raise self.fail(where, value, "must be true or false.")

    def integer(self, value: Any, where: str) -> int | None:
        """An integer: whole floats and numeric text are read as integers; None stays None."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, float) and value == value and abs(value) < 2**53:
            self.warn(f"{where}: rounded {value!r} to {round(value)}")
            return round(value)
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                pass
            else:
                self.warn(f"{where}: read the text {value!r} as a number")
                return number
        raise self.fail(where, value, "must be a whole number.")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        """An object; None is empty."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, value, "must be an object.")
        return value
