"""The time words people use, as intervals of UTC time, relative to a given "now" (the server
clock, so the test clock applies): "yesterday", "last week", "in May 2023", "since 2023-05-01",
"between May 1 and May 7", "3 days ago", ISO dates.

Every interval is [start, end): `end` is exclusive. Weeks start on Monday. Month arithmetic
clamps to the month's last day (one month before March 31 is February 28, or 29 in a leap year).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from core.errors import InvalidInput

__all__ = ["ACCEPTED", "Interval", "find_when", "parse_when"]

Interval = tuple[datetime, datetime]

ACCEPTED = (
    "today, yesterday, this/last week, this/last month, this/last year, last N days/weeks/months/years "
    "(also 'past N ...'), N days/weeks/months/years ago, since <date>, in <month> [year], "
    "between <date> and <date>, or a date: 2023-05-07, 2023-05, 2023, May 7 2023, 7 May 2023"
)

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_UNITS = {"day": 1, "week": 7, "month": 0, "year": 0}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_COUNT = r"(?P<count>\d{1,4}|" + "|".join(_NUMBERS) + r")"
_UNIT = r"(?P<unit>day|week|month|year)s?"


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole months, the day clamped to the target month's length."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _next_month(start: datetime) -> datetime:
    return _add_months(start, 1)


def _count(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBERS[text]


def _back(now: datetime, count: int, unit: str) -> datetime:
    if unit == "month":
        return _add_months(now, -count)
    if unit == "year":
        return _add_months(now, -12 * count)
    return now - timedelta(days=_UNITS[unit] * count)


def _date(text: str, now: datetime, argument: str) -> Interval | None:
    """A date written as ISO (day, month or year) or with a month's name: the span it names."""
    text = text.strip().strip(",").strip()
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ][\d:.]+z?)?", text):
        year, month, day = (int(part) for part in match.groups())
        try:
            start = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            raise InvalidInput(argument, text, "That date does not exist.") from None
        return start, start + timedelta(days=1)
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise InvalidInput(argument, text, "Months go from 01 to 12.")
        start = _month_start(year, month)
        return start, _next_month(start)
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    named = (
        re.fullmatch(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?", text)
        or re.fullmatch(
            r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(?P<year>\d{4}))?", text
        )
        or re.fullmatch(_MONTH + r"(?:,?\s+(?P<year>\d{4}))?", text)
    )
    if named is None:
        return None
    month = _MONTHS[named["month"]]
    named_day = int(named["day"]) if named.groupdict().get("day") else None
    if named["year"]:
        year = int(named["year"])
    else:  # the most recent such month (or day) that is not in the future
        later = (month, named_day or 1) > (now.month, now.day if named_day else 1)
        year = now.year - 1 if later else now.year
    if named_day is None:
        start = _month_start(year, month)
        return start, _next_month(start)
    try:
        start = datetime(year, month, named_day, tzinfo=UTC)
    except ValueError:
        raise InvalidInput(argument, text, "That date does not exist.") from None
    return start, start + timedelta(days=1)


def parse_when(text: str, now: datetime, argument: str = "when") -> Interval:
    """The interval `text` names, or InvalidInput listing the forms accepted."""
    found = _parse(" ".join(text.lower().split()), now.astimezone(UTC), argument)
    if found is None:
        raise InvalidInput(argument, text, f"Use one of: {ACCEPTED}.")
    start, end = found
    if end <= start:
        raise InvalidInput(argument, text, "The end comes before the start: give the earlier date first.")
    return found


def _parse(text: str, now: datetime, argument: str) -> Interval | None:
    today = _midnight(now)
    monday = today - timedelta(days=today.weekday())
    this_month = _month_start(now.year, now.month)
    fixed: dict[str, Interval] = {
        "today": (today, today + timedelta(days=1)),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (monday, monday + timedelta(days=7)),
        "last week": (monday - timedelta(days=7), monday),
        "this month": (this_month, _next_month(this_month)),
        "last month": (_add_months(this_month, -1), this_month),
        "this year": (datetime(now.year, 1, 1, tzinfo=UTC), datetime(now.year + 1, 1, 1, tzinfo=UTC)),
        "last year": (datetime(now.year - 1, 1, 1, tzinfo=UTC), datetime(now.year, 1, 1, tzinfo=UTC)),
    }
    if text in fixed:
        return fixed[text]
    if match := re.fullmatch(r"(?:in\s+the\s+|the\s+)?(?:last|past)\s+" + _COUNT + r"\s+" + _UNIT, text):
        return _back(now, _count(match["count"]), match["unit"]), now
    if match := re.fullmatch(_COUNT + r"\s+" + _UNIT + r"\s+ago", text):
        unit, count = match["unit"], _count(match["count"])
        moment = _back(now, count, unit)
        if unit == "day":
            start = _midnight(moment)
            return start, start + timedelta(days=1)
        if unit == "week":
            start = _midnight(moment) - timedelta(days=moment.weekday())
            return start, start + timedelta(days=7)
        if unit == "month":
            start = _month_start(moment.year, moment.month)
            return start, _next_month(start)
        return datetime(moment.year, 1, 1, tzinfo=UTC), datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    if match := re.fullmatch(r"since\s+(.+)", text):
        since = _date(match[1], now, argument)
        return None if since is None else (since[0], now)
    if match := re.fullmatch(r"between\s+(.+?)\s+and\s+(.+)", text):
        first, second = _date(match[1], now, argument), _date(match[2], now, argument)
        return None if first is None or second is None else (first[0], second[1])
    if match := re.fullmatch(r"(?:in|during|on)\s+(.+)", text):
        return _date(match[1], now, argument)
    return _date(text, now, argument)


_FINDERS = (
    r"\b(?:today|yesterday)\b",
    r"\b(?:this|last)\s+(?:week|month|year)\b",
    r"\b(?:(?:in\s+)?the\s+)?(?:last|past)\s+" + _COUNT + r"\s+" + _UNIT + r"\b",
    r"\b" + _COUNT + r"\s+" + _UNIT + r"\s+ago\b",
    r"\bsince\s+\S+(?:\s+\S+){0,2}",
    r"\bbetween\s+.+?\s+and\s+\S+(?:\s+\d{1,2})?(?:,?\s+\d{4})?",
    r"\b(?:in|during|on)\s+" + _MONTH + r"(?:,?\s+\d{4}\b|\s+\d{1,2}\b(?:st|nd|rd|th)?(?:,?\s+\d{4}\b)?)?",
    r"\b\d{4}-\d{2}(?:-\d{2})?\b",
)


def find_when(query: str, now: datetime) -> tuple[Interval, str] | None:
    """The first time expression inside a free-text query, with the words it matched, or None.
    (For a soft boost: a query such as "what did Sam do last week" names its own time.)"""
    lowered = " ".join(query.lower().split())
    for pattern in _FINDERS:
        for match in re.finditer(pattern, lowered):
            words = match.group(0)
            while words:  # the longest readable prefix ("since May 7 at noon" -> "since may 7")
                try:
                    return parse_when(words, now), words
                except InvalidInput:
                    if " " not in words:
                        break
                    words = words.rsplit(" ", 1)[0]
    return None
