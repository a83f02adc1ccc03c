"""shared.runtime.service wires every service: its components start in order and stop in reverse, consumers
together; no service writes its own start/stop, and each names its central object ``<Name>Service``."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from fastapi import FastAPI

from shared.runtime.service import Hooks, Together, service_app
from tests.support.testing import running


class Recorded:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def start(self) -> None:
        await asyncio.sleep(0)
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


async def test_components_start_in_order_and_stop_in_reverse_with_hooks_around_them() -> None:
    log: list[str] = []

    async def prepare() -> None:
        log.append("topics")

    async def close() -> None:
        log.append("close")

    async def drain() -> None:
        log.append("drain")

    a, b = Recorded("a", log), Recorded("b", log)
    app = service_app("probe", lambda: [Hooks(prepare, stop=close), Together(a, b), Hooks(stop=drain)])
    async with running(app):
        assert log[0] == "topics" and sorted(log[1:]) == ["start a", "start b"]
        log.clear()
    assert log[0] == "drain" and sorted(log[1:3]) == ["stop a", "stop b"] and log[3] == "close"


async def test_together_starts_its_components_concurrently() -> None:
    gate = asyncio.Event()

    class Waits:
        async def start(self) -> None:
            await gate.wait()

        async def stop(self) -> None:
            pass

    class Opens:
        async def start(self) -> None:
            gate.set()

        async def stop(self) -> None:
            pass

    await asyncio.wait_for(Together(Waits(), Opens()).start(), timeout=5)


@pytest.mark.parametrize(("service", "role"), [
    ("tickets", "TicketsService"), ("intake", "IntakeService"), ("routing", "RoutingService"),
    ("sla", "SlaService"), ("notify", "NotifyService"), ("feedback", "FeedbackService"),
])
def test_each_service_hands_its_components_to_the_shared_wiring(service: str, role: str) -> None:
    module = importlib.import_module(f"services.{service}.app")
    app: FastAPI = module.create_app()
    central = app.state.service
    assert type(central).__name__ == role
    assert not hasattr(central, "start") and not hasattr(central, "stop"), "start/stop is service_app's"
    parts = central.components()
    assert parts and all(callable(getattr(p, "start", None)) and callable(getattr(p, "stop", None)) for p in parts)
    assert callable(central.ready)
