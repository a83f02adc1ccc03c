"""The shared file clock lets separate service processes see one test-controlled time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.runtime.clock import FileClock, SystemClock, default_clock


def test_file_clock_jumps_for_every_reader_and_runs_at_its_speed(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    friday = datetime(2026, 1, 9, 14, 55, tzinfo=UTC)
    FileClock.write(path, friday)
    a, b = FileClock(path), FileClock(path)
    assert abs(a.now() - friday) < timedelta(seconds=1) and abs(b.now() - friday) < timedelta(seconds=1)
    monday = datetime(2026, 1, 12, 6, 50, tzinfo=UTC)
    time.sleep(0.01)  # a distinct modification time
    FileClock.write(path, monday, speed=3600)
    time.sleep(0.05)
    seen = a.now()
    assert monday + timedelta(seconds=60) < seen < monday + timedelta(hours=1), "an hour per real second"
    assert b.now() >= seen


def test_default_clock_is_the_wall_clock_unless_a_file_is_named(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTLINE_CLOCK_FILE", raising=False)
    assert isinstance(default_clock(), SystemClock)
    monkeypatch.setenv("FRONTLINE_CLOCK_FILE", str(tmp_path / "c.json"))
    clock = default_clock()
    assert isinstance(clock, FileClock)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5), "no file yet: wall time"
