"""Shifts and availability in the agent's own time zone, with the edges that bite: midnight, week wrap, zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.directory.routing import Agent, Availability, Shift, is_available, on_shift, shift_covers

MON = 0
SUN = 6


def agent(shifts: list[Shift], tz: str = "UTC", availability: Availability = Availability.online) -> Agent:
    return Agent(id="a", name="A", shifts=shifts, timezone=tz, availability=availability)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2026-01-05 is a Monday.
@pytest.mark.parametrize(("when", "expected"), [
    (utc(2026, 1, 5, 8, 59), False),
    (utc(2026, 1, 5, 9, 0), True),    # start is inclusive
    (utc(2026, 1, 5, 17, 59), True),
    (utc(2026, 1, 5, 18, 0), False),  # end is exclusive
    (utc(2026, 1, 6, 10, 0), False),  # Tuesday: no shift
])
def test_day_shift_bounds(when: datetime, expected: bool) -> None:
    assert on_shift(agent([Shift(weekday=MON, start="09:00", end="18:00")]), when) is expected


@pytest.mark.parametrize(("when", "expected"), [
    (utc(2026, 1, 5, 21, 59), False),
    (utc(2026, 1, 5, 22, 0), True),
    (utc(2026, 1, 5, 23, 59), True),
    (utc(2026, 1, 6, 0, 0), True),    # past midnight: Tuesday, still Monday's shift
    (utc(2026, 1, 6, 5, 59), True),
    (utc(2026, 1, 6, 6, 0), False),
    (utc(2026, 1, 5, 3, 0), False),   # Monday early morning belongs to Sunday's shift, which does not exist
])
def test_night_shift_runs_into_the_next_day(when: datetime, expected: bool) -> None:
    assert on_shift(agent([Shift(weekday=MON, start="22:00", end="06:00")]), when) is expected


def test_sunday_night_shift_wraps_into_monday() -> None:
    a = agent([Shift(weekday=SUN, start="22:00", end="06:00")])
    assert on_shift(a, utc(2026, 1, 5, 3, 0))       # Monday 03:00
    assert on_shift(a, utc(2026, 1, 4, 23, 0))      # Sunday 23:00
    assert not on_shift(a, utc(2026, 1, 5, 23, 0))  # Monday 23:00


def test_shift_is_evaluated_in_the_agents_time_zone() -> None:
    # Vladivostok is UTC+10: Monday 09:00 there is Sunday 23:00 UTC.
    a = agent([Shift(weekday=MON, start="09:00", end="18:00")], tz="Asia/Vladivostok")
    assert on_shift(a, utc(2026, 1, 4, 23, 0))
    assert not on_shift(a, utc(2026, 1, 5, 9, 0))  # 19:00 local
    # Moscow (UTC+3) night shift Mon 22:00 → Tue 06:00 is Mon 19:00 → Tue 03:00 UTC.
    m = agent([Shift(weekday=MON, start="22:00", end="06:00")], tz="Europe/Moscow")
    assert on_shift(m, utc(2026, 1, 5, 19, 0)) and on_shift(m, utc(2026, 1, 6, 2, 59))
    assert not on_shift(m, utc(2026, 1, 6, 3, 0))


def test_summer_time_shift_follows_local_clock() -> None:
    a = agent([Shift(weekday=MON, start="09:00", end="17:00")], tz="Europe/Berlin")
    assert on_shift(a, utc(2026, 1, 5, 8, 0)) and not on_shift(a, utc(2026, 1, 5, 7, 59))  # winter: UTC+1
    assert on_shift(a, utc(2026, 7, 6, 7, 0)) and not on_shift(a, utc(2026, 7, 6, 6, 59))  # summer: UTC+2
    assert not on_shift(a, utc(2026, 7, 6, 15, 0))  # 17:00 local


def test_edge_values() -> None:
    assert on_shift(agent([]), utc(2026, 1, 5, 3, 0))  # no schedule: always on shift
    whole = agent([Shift(weekday=MON, start="00:00", end="00:00")])
    assert on_shift(whole, utc(2026, 1, 5, 0, 0)) and on_shift(whole, utc(2026, 1, 5, 23, 59))
    assert not on_shift(whole, utc(2026, 1, 6, 0, 0))
    till_midnight = agent([Shift(weekday=MON, start="18:00", end="24:00")])
    assert on_shift(till_midnight, utc(2026, 1, 5, 23, 59)) and not on_shift(till_midnight, utc(2026, 1, 6, 0, 0))
    bad_zone = agent([Shift(weekday=MON, start="09:00", end="18:00")], tz="Mars/Olympus")
    assert on_shift(bad_zone, utc(2026, 1, 5, 10, 0))  # falls back to UTC rather than failing the decision


def test_shift_covers_uses_local_weekday() -> None:
    local = datetime(2026, 1, 6, 1, 0)  # Tuesday 01:00
    assert shift_covers(Shift(weekday=MON, start="20:00", end="02:00"), local)
    assert not shift_covers(Shift(weekday=MON, start="09:00", end="18:00"), local)


@pytest.mark.parametrize("status", [Availability.lunch, Availability.off_shift, Availability.vacation,
                                    Availability.sick])
def test_only_online_agents_are_available(status: Availability) -> None:
    now = utc(2026, 1, 5, 10, 0)
    assert is_available(agent([]), now)
    assert not is_available(agent([], availability=status), now)
    assert not is_available(agent([Shift(weekday=SUN, start="09:00", end="18:00")]), now)  # online but off shift
