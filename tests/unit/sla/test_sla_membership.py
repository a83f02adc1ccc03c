"""The SLA worker's group membership in faust's terms: dynamic unless an instance id is configured."""

from __future__ import annotations

import pytest

from services.sla.settings import SlaSettings
from services.sla.stream import faust_config


def test_membership_is_dynamic_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLA_GROUP_INSTANCE_ID", raising=False)
    settings = SlaSettings()
    assert settings.group_instance_id is None
    assert faust_config(settings, "frontline-sla", 0.5).get("consumer_group_instance_id") is None


def test_an_instance_id_makes_the_worker_a_static_member() -> None:
    settings = SlaSettings(group_instance_id="sla-0")
    conf = faust_config(settings, "frontline-sla", 0.5, group_instance_id=settings.group_instance_id)
    assert conf["consumer_group_instance_id"] == "sla-0"


def test_the_instance_id_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_GROUP_INSTANCE_ID", "sla-pod-7")
    assert SlaSettings().group_instance_id == "sla-pod-7"


def test_an_empty_instance_id_is_dynamic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_GROUP_INSTANCE_ID", "")
    assert SlaSettings().group_instance_id is None
