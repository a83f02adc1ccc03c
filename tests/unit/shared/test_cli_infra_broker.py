"""`frontline infra` starts the broker kind `make up` would (FRONTLINE_BROKER, default the durable one)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

import tools.infra
from tools import brokers
from tools.cli import cmd_infra


class Refused(RuntimeError):
    pass


def _args() -> argparse.Namespace:
    return argparse.Namespace(data=None, kafka_port=0, mongo_port=0)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What EmbeddedInfra was built with; start() refuses, so cmd_infra returns before it would block."""
    calls: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, **kw: Any) -> None:
            calls.append(kw)

        def start(self) -> None:
            raise Refused("not here")

    monkeypatch.setattr(tools.infra, "EmbeddedInfra", Recorder)
    return calls


def test_infra_runs_the_durable_default_broker(started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(brokers.BROKER_VAR, raising=False)
    assert cmd_infra(_args()) == 2
    assert [c.get("broker_kind") for c in started] == [brokers.DEFAULT_KIND]


def test_infra_takes_frontline_broker(started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(brokers.BROKER_VAR, "noida")
    assert cmd_infra(_args()) == 2
    assert [c.get("broker_kind") for c in started] == ["noida"]


def test_infra_refuses_an_unknown_broker_kind(started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(brokers.BROKER_VAR, "kafka-on-a-napkin")
    assert cmd_infra(_args()) == 2
    assert started == []
    assert "FRONTLINE_BROKER" in capsys.readouterr().err
