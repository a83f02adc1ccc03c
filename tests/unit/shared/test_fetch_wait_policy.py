"""The fetch wait policy: short while records flow, growing to the idle wait after a quiet spell, short again at
the first records (shared/runtime/fetch_wait.py)."""

from __future__ import annotations

import pytest

from shared.runtime.fetch_wait import FetchWait
from shared.runtime.settings import CommonSettings


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_wait_stays_short_while_records_are_recent() -> None:
    clock = Clock()
    wait = FetchWait(10, 1000, quiet_after_s=1.0, now=clock)
    assert wait.wait_ms == 10
    for _ in range(5):  # empty fetches within the quiet second: a gap in a burst
        clock.t += 0.15
        assert wait.fetched(False) == 10


def test_after_a_quiet_spell_the_wait_doubles_with_time_up_to_the_idle_wait_and_records_bring_it_back() -> None:
    clock = Clock()
    wait = FetchWait(10, 1000, quiet_after_s=1.0, doubling_s=0.2, now=clock)
    clock.t += 1.0
    grown = []
    for _ in range(9):  # looked at every 0.2 s of quiet after the first second
        grown.append(wait.fetched(False))
        clock.t += 0.2
    assert grown == [10, 20, 40, 80, 160, 320, 640, 1000, 1000]
    assert wait.fetched(True) == 10, "the first records bring the short wait back at once"
    clock.t += 0.5
    assert wait.fetched(False) == 10, "and it stays short for the quiet second after them"


def test_the_growth_does_not_depend_on_how_often_the_loop_looks() -> None:
    clock = Clock()
    wait = FetchWait(10, 1000, quiet_after_s=1.0, doubling_s=0.2, now=clock)
    clock.t += 1.6  # one look after 0.6 s of quiet: three doublings
    assert wait.fetched(False) == 80
    clock.t += 60
    assert wait.fetched(False) == 1000


def test_a_zero_short_wait_still_grows() -> None:
    clock = Clock()
    wait = FetchWait(0, 500, quiet_after_s=1.0, doubling_s=0.2, now=clock)
    clock.t += 1.4
    assert wait.fetched(False) == 4


def test_an_idle_wait_at_or_below_the_short_one_turns_growing_off() -> None:
    clock = Clock()
    wait = FetchWait(500, 100, quiet_after_s=1.0, now=clock)
    clock.t += 10
    assert wait.fetched(False) == 500


def test_negative_waits_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        FetchWait(-1, 1000)


def test_after_a_long_quiet_spell_the_wait_grows_on_to_the_long_idle_wait() -> None:
    clock = Clock()
    wait = FetchWait(10, 1000, long_idle_ms=3000, long_quiet_s=30.0, quiet_after_s=1.0, doubling_s=0.2, now=clock)
    clock.t += 29.9
    assert wait.fetched(False) == 1000, "quiet, not yet for long"
    clock.t += 0.2
    assert wait.fetched(False) == 3000
    assert wait.fetched(True) == 10, "the first records bring the short wait back at once"
    clock.t += 10
    assert wait.fetched(False) == 1000, "and the long wait only after another long quiet spell"


def test_a_long_idle_wait_at_or_below_the_idle_one_is_off() -> None:
    clock = Clock()
    wait = FetchWait(10, 1000, long_idle_ms=500, now=clock)
    clock.t += 3600
    assert wait.fetched(False) == 1000
    with pytest.raises(ValueError):
        FetchWait(10, 1000, long_idle_ms=-1)


def test_the_services_take_the_long_idle_wait_from_their_settings() -> None:
    settings = CommonSettings(kafka_fetch_max_wait_ms=10, kafka_fetch_idle_wait_ms=1000,
                              kafka_fetch_long_idle_wait_ms=4000)
    wait = FetchWait.from_settings(settings)
    assert (wait.short_ms, wait.idle_ms, wait.long_idle_ms) == (10, 1000, 4000)
