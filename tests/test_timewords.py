"""Time words against fixed clocks, table by table: month ends, leap days, week starts, and every
form refused with the list of accepted ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import InvalidInput
from core.memory.timewords import ACCEPTED, find_when, parse_when

# Sunday 31 March 2024, 15:00 UTC: a month end, a leap year's March, the last day of a week.
NOW = datetime(2024, 3, 31, 15, 0, tzinfo=UTC)


def day(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


CASES = [
    ("today", day(2024, 3, 31), day(2024, 4, 1)),
    ("Yesterday", day(2024, 3, 30), day(2024, 3, 31)),
    ("this week", day(2024, 3, 25), day(2024, 4, 1)),
    ("last week", day(2024, 3, 18), day(2024, 3, 25)),
    ("this month", day(2024, 3, 1), day(2024, 4, 1)),
    ("last month", day(2024, 2, 1), day(2024, 3, 1)),
    ("this year", day(2024, 1, 1), day(2025, 1, 1)),
    ("last year", day(2023, 1, 1), day(2024, 1, 1)),
    ("last 3 days", day(2024, 3, 28, 15), NOW),
    ("past two weeks", day(2024, 3, 17, 15), NOW),
    ("in the last 1 month", day(2024, 2, 29, 15), NOW),  # March 31 less a month: the leap day
    ("last 13 months", day(2023, 2, 28, 15), NOW),  # clamped: 2023 has no February 29
    ("the past 2 years", day(2022, 3, 31, 15), NOW),
    ("3 days ago", day(2024, 3, 28), day(2024, 3, 29)),
    ("a week ago", day(2024, 3, 18), day(2024, 3, 25)),
    ("one month ago", day(2024, 2, 1), day(2024, 3, 1)),
    ("2 years ago", day(2022, 1, 1), day(2023, 1, 1)),
    ("since 2024-03-01", day(2024, 3, 1), NOW),
    ("since March 29", day(2024, 3, 29), NOW),
    ("in May", day(2023, 5, 1), day(2023, 6, 1)),  # May 2024 has not come yet: last May
    ("in March", day(2024, 3, 1), day(2024, 4, 1)),
    ("in February 2024", day(2024, 2, 1), day(2024, 3, 1)),
    ("during sept 2023", day(2023, 9, 1), day(2023, 10, 1)),
    ("on 29 Feb 2024", day(2024, 2, 29), day(2024, 3, 1)),
    ("May 7, 2023", day(2023, 5, 7), day(2023, 5, 8)),
    ("7th of May 2023", day(2023, 5, 7), day(2023, 5, 8)),
    ("April 2", day(2023, 4, 2), day(2023, 4, 3)),  # a day later in the year than today: last year's
    ("between 2023-12-30 and 2024-01-02", day(2023, 12, 30), day(2024, 1, 3)),
    ("between May 1 2023 and May 7 2023", day(2023, 5, 1), day(2023, 5, 8)),
    ("2024-02-29", day(2024, 2, 29), day(2024, 3, 1)),
    ("2023-12", day(2023, 12, 1), day(2024, 1, 1)),
    ("2023", day(2023, 1, 1), day(2024, 1, 1)),
    ("2023-05-07T13:56:00Z", day(2023, 5, 7), day(2023, 5, 8)),
]


@pytest.mark.parametrize(("text", "start", "end"), CASES, ids=[case[0] for case in CASES])
def test_each_time_word_names_its_interval(text: str, start: datetime, end: datetime) -> None:
    assert parse_when(text, NOW) == (start, end)


@pytest.mark.parametrize(
    ("now", "text", "start", "end"),
    [
        (day(2024, 1, 1, 9), "last month", day(2023, 12, 1), day(2024, 1, 1)),  # across a year
        (day(2024, 1, 1, 9), "last week", day(2023, 12, 25), day(2024, 1, 1)),  # Monday 1 January
        (day(2024, 1, 1, 9), "yesterday", day(2023, 12, 31), day(2024, 1, 1)),
        (day(2023, 3, 1, 9), "yesterday", day(2023, 2, 28), day(2023, 3, 1)),  # no leap day
        (day(2024, 3, 1, 9), "yesterday", day(2024, 2, 29), day(2024, 3, 1)),  # leap day
        (day(2025, 2, 28, 9), "1 year ago", day(2024, 1, 1), day(2025, 1, 1)),
        (day(2024, 2, 29, 9), "last 1 year", day(2023, 2, 28, 9), day(2024, 2, 29, 9)),
        (day(2024, 5, 31, 9), "one month ago", day(2024, 4, 1), day(2024, 5, 1)),
    ],
)
def test_edges_of_months_years_and_leap_days(
    now: datetime, text: str, start: datetime, end: datetime
) -> None:
    assert parse_when(text, now) == (start, end)


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("soon", ACCEPTED),
        ("next week", ACCEPTED),
        ("last fortnight", ACCEPTED),
        ("", ACCEPTED),
        ("2023-13", "Months go from 01 to 12."),
        ("2023-02-30", "That date does not exist."),
        ("between 2024-02-01 and 2023-01-01", "The end comes before the start"),
    ],
)
def test_what_it_cannot_read_is_a_clear_error(text: str, fix: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_when(text, NOW)
    assert refused.value.message.startswith(f"Invalid when: {text!r}.")
    assert fix in refused.value.message


@pytest.mark.parametrize(
    ("query", "words", "start"),
    [
        ("What did Sam do last week?", "last week", day(2024, 3, 18)),
        ("where did we go in May 2023 together", "in may 2023", day(2023, 5, 1)),
        ("anything since 2024-03-01 about the garden", "since 2024-03-01", day(2024, 3, 1)),
        ("the concert 3 days ago", "3 days ago", day(2024, 3, 28)),
    ],
)
def test_a_time_expression_is_found_inside_a_question(query: str, words: str, start: datetime) -> None:
    found = find_when(query, NOW)
    assert found is not None
    assert found[1] == words
    assert found[0][0] == start


def test_a_question_without_time_words_finds_none() -> None:
    assert find_when("What does Sam like to eat?", NOW) is None
    assert find_when("May I ask what Sam likes?", NOW) is None
