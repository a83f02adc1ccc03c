"""Business-calendar arithmetic: pure, exact to the microsecond, DST-safe.

Working spans are local wall-clock times of a day; each is turned into a UTC
interval with zoneinfo, so a 9-18 day is nine real hours on a DST change day while
a 00:00-24:00 day is 23 or 25. All sums use ``timedelta`` (integer microseconds),
so ``between(a, add(a, d)) == d`` holds exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.directory.sla import BusinessCalendar, minutes

Spans = tuple[tuple[int, int], ...]  # (start minute, end minute) of a local day, end <= 1440
ZERO = timedelta(0)
MAX_DAYS = 3 * 366  # a calendar with no working time for three years is a configuration error


class NoWorkingTime(ValueError):
    """The calendar has no working time in the searched range."""


def _merge(spans: Sequence[tuple[int, int]]) -> Spans:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    always_open: bool = False
    week: tuple[Spans, ...] = ((),) * 7  # Monday first
    holidays: frozenset[date] = frozenset()
    extra_days: Mapping[date, Spans] = field(default_factory=dict)

    @classmethod
    def always(cls) -> Calendar:
        return cls(always_open=True)

    @classmethod
    def weekly(cls, start: str, end: str, days: Sequence[int] = (0, 1, 2, 3, 4), timezone: str = "UTC",
               holidays: Sequence[date] = (), extra_days: Mapping[date, Spans] | None = None) -> Calendar:
        span = ((minutes(start), minutes(end)),)
        return cls(timezone=timezone, week=tuple(span if d in days else () for d in range(7)),
                   holidays=frozenset(holidays), extra_days=dict(extra_days or {}))

    @classmethod
    def from_entry(cls, entry: BusinessCalendar) -> Calendar:
        if entry.always_open:
            return cls(timezone=entry.timezone, always_open=True)
        week = tuple(_merge([(minutes(h.start), minutes(h.end)) for h in entry.hours if h.weekday == d])
                     for d in range(7))
        extra = {x.date: _merge([(minutes(s.start), minutes(s.end)) for s in x.spans])
                 for x in entry.extra_working_days}
        return cls(timezone=entry.timezone, week=week, holidays=frozenset(entry.holidays), extra_days=extra)

    # ---- working intervals ----------------------------------------------------------------------

    def spans_on(self, day: date) -> Spans:
        if day in self.extra_days:
            return self.extra_days[day]
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]

    def intervals_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's working spans as UTC intervals (a span inside a DST gap shrinks, never inverts)."""
        zone = _zone(self.timezone)
        midnight = datetime.combine(day, time())
        for start, end in self.spans_on(day):
            a = (midnight + timedelta(minutes=start)).replace(tzinfo=zone).astimezone(UTC)
            b = (midnight + timedelta(minutes=end)).replace(tzinfo=zone).astimezone(UTC)
            if b > a:
                yield a, b

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(_zone(self.timezone)).date()

    def is_working(self, instant: datetime) -> bool:
        if self.always_open:
            return True
        day = self._local_day(instant)
        return any(a <= instant < b for d in (day - timedelta(days=1), day) for a, b in self.intervals_on(d))

    # ---- arithmetic -------------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta | float) -> datetime:
        """The instant when ``duration`` of business time has passed since ``start``."""
        remaining = duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        start = start.astimezone(UTC)
        if remaining <= ZERO:
            return start
        if self.always_open:
            return start + remaining
        day = self._local_day(start) - timedelta(days=1)  # a span of yesterday may reach past midnight UTC
        for _ in range(MAX_DAYS):
            for a, b in self.intervals_on(day):
                if b <= start:
                    continue
                a = max(a, start)
                available = b - a
                if remaining <= available:
                    return a + remaining
                remaining -= available
            day += timedelta(days=1)
        raise NoWorkingTime(f"no working time within {MAX_DAYS} days of {start.isoformat()}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); zero when end is not after start."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return ZERO
        if self.always_open:
            return end - start
        total = ZERO
        day, last = self._local_day(start) - timedelta(days=1), self._local_day(end)
        while day <= last:
            for a, b in self.intervals_on(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()
