"""The one clock every time-dependent part of the core reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.errors import InvalidInput

__all__ = ["Clock", "aware", "iso", "parse_iso"]


class Clock:
    """Wall-clock UTC time, plus an offset that only moves forward. A single instance is shared by
    every service, so memory decay and emotion drift read the same time, and a
    scripted test can move it on (system_clock_advance, with PERSONA_MCP_TEST_CLOCK=1)."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current time, timezone-aware UTC, to the microsecond."""
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        """How far this clock runs ahead of the wall clock."""
        return self._offset

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward (never back: stored times must not end up in the future)."""
        if by < timedelta():
            raise ValueError("the clock only moves forward")
        self._offset += by
        return self.now()


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with a trailing Z, as stored in SQLite and shown to clients."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Read a timestamp written by `iso` (or any ISO-8601 text with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def aware(value: datetime | None, argument: str) -> datetime | None:
    """A time argument as given, or InvalidInput naming `argument` when it has no time zone (a
    naive time would be read in whatever zone the server runs in)."""
    if value is not None and value.tzinfo is None:
        raise InvalidInput(argument, value.isoformat(), "Give a time zone, e.g. 2023-05-07T13:56:00Z.")
    return value
