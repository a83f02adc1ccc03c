"""The SLA worker leaves its killed predecessor's membership only as a dynamic member and with the switch on."""

from __future__ import annotations

import pytest

from services.sla.app import SlaService
from services.sla.settings import SlaSettings
from shared.runtime.clock import default_clock


@pytest.mark.parametrize(("overrides", "leaves"), [
    ({}, True),
    ({"leave_stale_member": False}, False),
    ({"group_instance_id": "sla-0"}, False),  # a static member takes its own place back
])
def test_the_switch_and_the_membership_decide(overrides: dict[str, object], leaves: bool) -> None:
    settings = SlaSettings(topic_prefix="t1.", http_port=8123, **overrides)  # type: ignore[arg-type]
    file = SlaService(settings, default_clock()).stream.member_file
    assert (file is not None) == leaves
    if file is not None:
        assert file.path.parent.name == "t1.frontline-sla" and file.path.stem.endswith("-8123")


def test_the_switch_is_on_by_default_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SlaSettings().leave_stale_member is True
    monkeypatch.setenv("SLA_LEAVE_STALE_MEMBER", "false")
    assert SlaSettings().leave_stale_member is False
