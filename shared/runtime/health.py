"""Liveness of the loops a service runs in the background (consumers, stream agents).

A loop that started while an app was starting registers a check with that app (``watch``); the app's
``/healthz`` answers 503 with every problem the checks report. The app is found through a context variable
set only while its components start, so loops of other apps in the same process (tests) never mix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Check = Callable[[], str | None]  # None while alive, else why not


class Liveness:
    def __init__(self) -> None:
        self._checks: dict[int, tuple[str, Check]] = {}
        self._next = 0

    def add(self, name: str, check: Check) -> Callable[[], None]:
        key, self._next = self._next, self._next + 1
        self._checks[key] = (name, check)

        def remove() -> None:
            self._checks.pop(key, None)

        return remove

    def problems(self) -> list[str]:
        found = ((name, check()) for name, check in list(self._checks.values()))
        return [f"{name}: {problem}" for name, problem in found if problem]


_starting: ContextVar[Liveness | None] = ContextVar("frontline_liveness", default=None)


@contextmanager
def collecting(liveness: Liveness) -> Iterator[None]:
    """Loops that call ``watch`` inside this block report to ``liveness``."""
    token = _starting.set(liveness)
    try:
        yield
    finally:
        _starting.reset(token)


def watch(name: str, check: Check) -> Callable[[], None]:
    """Report ``check`` to the app now starting (none outside an app: nothing to report to); returns the undo."""
    liveness = _starting.get()
    return liveness.add(name, check) if liveness is not None else (lambda: None)
