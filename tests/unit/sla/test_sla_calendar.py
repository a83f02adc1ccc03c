"""Business-calendar arithmetic: exact examples and properties across DST changes and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.calendar import Calendar, NoWorkingTime
from shared.directory.sla import BusinessCalendar, ExtraWorkingDay, Span, WorkingHours

BERLIN, MOSCOW = ZoneInfo("Europe/Berlin"), ZoneInfo("Europe/Moscow")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_friday_1755_with_one_hour_on_9_to_18_is_due_monday_0955() -> None:
    cal = Calendar.weekly("09:00", "18:00", timezone="Europe/Berlin")
    friday = local(BERLIN, 2026, 3, 6, 17, 55)
    assert friday.weekday() == 4
    due = cal.add(friday, timedelta(hours=1))
    assert due == local(BERLIN, 2026, 3, 9, 9, 55)
    assert cal.between(friday, due) == timedelta(hours=1)


def test_before_opening_and_on_a_holiday_time_waits_for_the_next_working_span() -> None:
    cal = Calendar.weekly("09:00", "18:00", holidays=[date(2026, 1, 1), date(2026, 1, 2)])
    assert cal.add(datetime(2025, 12, 31, 17, 0, tzinfo=UTC), 7200) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert cal.add(datetime(2026, 1, 5, 6, 0, tzinfo=UTC), 60) == datetime(2026, 1, 5, 9, 1, tzinfo=UTC)


def test_extra_working_day_counts_and_24x7_is_wall_clock() -> None:
    entry = BusinessCalendar(id="ru", timezone="Europe/Moscow",
                             hours=[WorkingHours(weekday=d, start="09:00", end="18:00") for d in range(5)],
                             extra_working_days=[ExtraWorkingDay(date=date(2026, 3, 7), spans=[
                                 Span(start="10:00", end="14:00")])])
    cal = Calendar.from_entry(entry)
    friday_evening = local(MOSCOW, 2026, 3, 6, 17, 0)
    assert cal.add(friday_evening, 3 * 3600) == local(MOSCOW, 2026, 3, 7, 12, 0)  # 1 h Fri + 2 h extra Sat
    always = Calendar.always()
    t0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert always.add(t0, 5000) == t0 + timedelta(seconds=5000)
    assert always.between(t0, t0 + timedelta(days=3)) == timedelta(days=3)


def test_dst_day_counts_real_hours() -> None:
    working = Calendar.weekly("09:00", "18:00", days=range(7), timezone="Europe/Berlin")
    day = Calendar.weekly("00:00", "24:00", days=range(7), timezone="Europe/Berlin")
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    for d in (spring, autumn):
        start, end = local(BERLIN, d.year, d.month, d.day, 0, 0), local(BERLIN, d.year, d.month, d.day, 23, 59)
        assert working.between(start, end) == timedelta(hours=9)
    assert day.between(local(BERLIN, 2026, 3, 29, 0, 0), local(BERLIN, 2026, 3, 30, 0, 0)) == timedelta(hours=23)
    assert day.between(local(BERLIN, 2026, 10, 25, 0, 0), local(BERLIN, 2026, 10, 26, 0, 0)) == timedelta(hours=25)
    # Moscow moved from UTC+4 to UTC+3 on 2014-10-26: a 9-18 day is still nine hours, in local terms
    moscow = Calendar.weekly("09:00", "18:00", days=range(7), timezone="Europe/Moscow")
    before = moscow.add(local(MOSCOW, 2014, 10, 25, 17, 0), 2 * 3600)
    assert before.astimezone(MOSCOW).replace(tzinfo=None) == datetime(2014, 10, 26, 10, 0)


def test_a_calendar_without_working_time_is_an_error() -> None:
    with pytest.raises(NoWorkingTime):
        Calendar().add(datetime(2026, 1, 1, tzinfo=UTC), 1)


ZONES = st.sampled_from(["Europe/Berlin", "Europe/Moscow", "America/New_York", "UTC", "Australia/Lord_Howe"])
# Instants around DST changes (Berlin 2026, Moscow's historical 2010-2014 changes) and ordinary days.
INSTANTS = st.datetimes(min_value=datetime(2010, 3, 20), max_value=datetime(2027, 1, 1),
                        timezones=st.just(UTC)).filter(lambda d: d.tzinfo is not None)
DURATIONS = st.integers(min_value=0, max_value=5 * 24 * 3600 * 1_000_000).map(lambda us: timedelta(microseconds=us))
HOLIDAYS = st.lists(st.dates(min_value=date(2010, 1, 1), max_value=date(2027, 3, 1)), max_size=30)


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(ZONES)
    if draw(st.booleans()) and draw(st.booleans()):
        return Calendar(timezone=zone, always_open=True)
    start = draw(st.integers(0, 23 * 60))
    end = draw(st.integers(start + 60, 24 * 60))
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    span = ((start, end),)
    return Calendar(timezone=zone, week=tuple(span if d in days else () for d in range(7)),
                    holidays=frozenset(draw(HOLIDAYS)))


@settings(max_examples=300, deadline=None)
@given(calendars(), INSTANTS, DURATIONS)
def test_between_inverts_add_exactly(cal: Calendar, start: datetime, duration: timedelta) -> None:
    due = cal.add(start, duration)
    assert due >= start
    assert cal.between(start, due) == duration
    if duration > timedelta(0) and not cal.always_open:
        # the due instant is working time or the end of a working span
        assert cal.is_working(due - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(calendars(), INSTANTS, DURATIONS, DURATIONS)
def test_add_is_monotonic_and_additive(cal: Calendar, start: datetime, a: timedelta, b: timedelta) -> None:
    lo, hi = sorted((a, b))
    assert cal.add(start, lo) <= cal.add(start, hi)
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b) or b == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(calendars(), INSTANTS, st.timedeltas(timedelta(0), timedelta(days=20)),
       st.timedeltas(timedelta(0), timedelta(days=20)))
def test_between_splits_and_never_exceeds_wall_clock(cal: Calendar, a: datetime, d1: timedelta,
                                                     d2: timedelta) -> None:
    b, c = a + d1, a + d1 + d2
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    assert cal.between(a, c) <= c - a


@settings(max_examples=200, deadline=None)
@given(calendars(), INSTANTS, DURATIONS, st.timedeltas(timedelta(0), timedelta(days=10)))
def test_pause_shifts_due_by_the_paused_business_time(cal: Calendar, start: datetime, target: timedelta,
                                                      pause: timedelta) -> None:
    """Run to the pause, stand still, resume: the new due is the old due plus the paused business time."""
    due = cal.add(start, target)
    paused_at = start + (due - start) / 2
    used = cal.between(start, paused_at)
    resumed_at = paused_at + pause
    new_due = cal.add(resumed_at, target - used)
    assert cal.between(due, new_due) == cal.between(paused_at, resumed_at) or new_due == due
    assert new_due >= due


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(2010, 1, 1), max_value=date(2026, 12, 31)), ZONES)
def test_a_holiday_adds_no_business_time(day: date, zone: str) -> None:
    cal = Calendar.weekly("00:00", "24:00", days=range(7), timezone=zone, holidays=[day])
    z = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=z)
    assert cal.between(start, end) == timedelta(0)
    assert cal.add(start, 1) == end + timedelta(seconds=1) or cal.add(start, 1) > end
