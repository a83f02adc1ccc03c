"""The doors' in-memory limits and the settings that configure the doors, without servers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from services.intake import doors_limits
from services.intake.doors import Doors
from services.intake.doors_limits import Limited, TokenBuckets, WindowQuota
from services.intake.settings import IntakeSettings
from shared.runtime.clock import ManualClock


class Now:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    now = Now()
    buckets = TokenBuckets(burst=2, per_minute=6, now=now)  # one token every 10 s
    buckets.take("a")
    buckets.take("a")
    with pytest.raises(Limited) as caught:
        buckets.take("a")
    assert caught.value.retry_after == 10
    buckets.take("b")  # another key has its own bucket
    now.t += 10
    buckets.take("a")
    with pytest.raises(Limited):
        buckets.take("a")


def test_window_quota_counts_units_and_resets_with_the_window() -> None:
    now = Now()
    quota = WindowQuota(limit=1000, window=60, now=now)
    quota.charge("k", 600)
    now.t += 20
    with pytest.raises(Limited) as caught:
        quota.charge("k", 500)
    assert caught.value.retry_after == 40
    quota.charge("k", 400)  # exactly the limit
    now.t += 40
    quota.charge("k", 1000)
    WindowQuota(limit=0, window=60, now=now).charge("k", 10**12)  # 0: no quota


def test_keys_invented_per_request_do_not_grow_memory_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doors_limits, "MAX_KEYS", 100)
    now = Now()
    quota = WindowQuota(limit=5, window=3600, now=now)
    buckets = TokenBuckets(burst=5, per_minute=1, now=now)
    for i in range(1000):
        quota.charge(f"sender-{i}")
        buckets.take(f"10.0.{i // 250}.{i % 250}")
    assert len(quota.used) <= 200 and len(buckets.buckets) <= 200
    assert "sender-999" in quota.used  # the most recent are kept


def request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1)})


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    doors = Doors(IntakeSettings(trusted_proxies=["10.0.0.0/8"]), ManualClock())
    assert doors.client_address(request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
    assert doors.client_address(request("10.1.2.3", "198.51.100.1")) == "198.51.100.1"
    # the client cannot hide behind an address it wrote itself: the nearest untrusted hop counts
    assert doors.client_address(request("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9")) == "198.51.100.1"


def test_door_keys_come_from_the_environment_and_must_be_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_WEBHOOK_SECRETS", '{"chat": "a-long-enough-chat-secret"}')
    monkeypatch.setenv("INTAKE_API_KEYS", '{"crm": "a-long-enough-crm-api-key"}')
    s = IntakeSettings()
    assert s.webhook_secrets["chat"].get_secret_value() == "a-long-enough-chat-secret"
    assert Doors(s, ManualClock()).unconfigured() == ["form", "call", "bot"]
    with pytest.raises(ValidationError):
        IntakeSettings(api_keys={"crm": "short"})
    with pytest.raises(ValidationError):
        IntakeSettings(webhook_secrets={"pigeon": "a-long-enough-secret-here"})
