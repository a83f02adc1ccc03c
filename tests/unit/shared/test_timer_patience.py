"""Patience: a timer waits for its owner's state a bounded number of ticks, then fires on what there is."""

from __future__ import annotations

import pytest

from shared.runtime.timers import NotYet, Patience


def test_waits_the_given_ticks_then_lets_the_timer_fire() -> None:
    patience = Patience(tries=3, seconds=0.0)
    for _ in range(3):
        with pytest.raises(NotYet):
            patience.wait("t-1")
    patience.wait("t-1")  # spent: returns, the caller fires (or drops) the timer
    with pytest.raises(NotYet):
        patience.wait("t-1")  # and a later wait of the same id starts afresh


def test_real_time_keeps_it_waiting_past_the_tries() -> None:
    patience = Patience(tries=0, seconds=60.0)
    for _ in range(5):
        with pytest.raises(NotYet):
            patience.wait("t-2")


def test_caught_up_forgets_the_count() -> None:
    patience = Patience(tries=1, seconds=0.0)
    with pytest.raises(NotYet):
        patience.wait("t-3")
    patience.caught_up("t-3")
    with pytest.raises(NotYet):
        patience.wait("t-3")  # counted from zero again
