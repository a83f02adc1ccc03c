"""Injectable time, so SLA days run in test seconds."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand; always timezone-aware UTC."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` whenever the time is set or advanced (a resting timer loop looks again: nothing in
        production moves time by hand, so nothing there polls for it); returns the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
        self._moved()

    def advance(self, delta: timedelta | float) -> datetime:
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._moved()
        return self._now

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener()


class FileClock:
    """A clock shared by separate processes: end-to-end tests move every service's time at once.

    The file holds ``{"at": ISO time, "anchor": unix seconds, "speed": factor}``: the time is
    ``at`` when the wall clock read ``anchor`` and runs ``speed`` times as fast from there. A writer
    replaces the file (atomically) to jump; readers notice by its modification time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: int | None = None
        self._at, self._anchor, self._speed = datetime.now(UTC), time.time(), 1.0

    def now(self) -> datetime:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp is not None and stamp != self._stamp:
            data = json.loads(self.path.read_text())
            self._at = datetime.fromisoformat(data["at"]).astimezone(UTC)
            self._anchor, self._speed, self._stamp = float(data["anchor"]), float(data.get("speed", 1.0)), stamp
        return self._at + timedelta(seconds=(time.time() - self._anchor) * self._speed)

    @staticmethod
    def write(path: str | Path, at: datetime, speed: float = 1.0) -> None:
        """Make every reader's time ``at`` from this moment on, running ``speed`` times real time."""
        path = Path(path)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"at": at.astimezone(UTC).isoformat(), "anchor": time.time(), "speed": speed}))
        os.replace(tmp, path)


def default_clock() -> Clock:
    """The wall clock, unless ``FRONTLINE_CLOCK_FILE`` names a shared test clock (never set in production)."""
    path = os.environ.get("FRONTLINE_CLOCK_FILE")
    return FileClock(path) if path else SystemClock()


def as_utc(value: datetime) -> datetime:
    """MongoDB returns naive datetimes unless tz_aware; normalise both ways."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
