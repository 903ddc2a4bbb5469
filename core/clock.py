"""The one clock every time-dependent part of the core reads."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["Clock", "iso", "parse_iso"]


class Clock:
    """Wall-clock UTC time. A single instance is shared by every service, so time can be
    controlled in one place (the test clock of the lifecycle work builds on this)."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC, to the microsecond."""
        return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with a trailing Z, as stored in SQLite and shown to clients."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Read a timestamp written by `iso` (or any ISO-8601 text with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
