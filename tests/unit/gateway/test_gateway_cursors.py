"""List cursors: signed by the gateway, bound to the caller, a strict shape; anything else is a CursorError."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from services.gateway.access.cursors import CursorCodec, CursorError, cursor_key
from services.gateway.queries.queues import SortField
from services.gateway.settings import DEV_JWT_SECRET, GatewaySettings
from shared.runtime.secrets import StartupSecretError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY = b"k" * 32
ANN = "specialist:ann"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signed(payload: object, key: bytes = KEY) -> str:
    """A cursor as an attacker holding ``key`` would build it (the real key: to test the shape checks)."""
    raw = json.dumps(payload).encode()
    return f"{b64(raw)}.{b64(hmac.new(key, raw, hashlib.sha256).digest())}"


def test_round_trip_for_time_and_number_sorts() -> None:
    codec = CursorCodec(KEY)
    doc = {"_id": "T-9", "updated_at": NOW, "number": 7}
    assert codec.decode(codec.encode(doc, SortField.updated_at, -1, ANN), SortField.updated_at, -1, ANN) == (
        NOW, "T-9")
    assert codec.decode(codec.encode(doc, SortField.number, 1, ANN), SortField.number, 1, ANN) == (7, "T-9")
    with pytest.raises(CursorError, match="sort order"):
        codec.decode(codec.encode(doc, SortField.updated_at, -1, ANN), SortField.number, 1, ANN)


def test_forged_tampered_and_replayed_cursors_are_refused() -> None:
    codec = CursorCodec(KEY)
    good = codec.encode({"_id": "T-9", "number": 7}, SortField.number, 1, ANN)
    body, sig = good.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["n"] = 8
    for bad in ("%%%not-base64", "", "a.b.c", good + "x", f"{b64(json.dumps(payload).encode())}.{sig}",
                codec.encode({"_id": "T-9", "number": 7}, SortField.number, 1, ANN).replace(".", ""),
                CursorCodec(b"another key, same shape").encode({"_id": "T-9", "number": 7}, SortField.number, 1, ANN),
                "x" * 5000):
        with pytest.raises(CursorError):
            codec.decode(bad, SortField.number, 1, ANN)
    with pytest.raises(CursorError, match="someone else"):
        codec.decode(good, SortField.number, 1, "client:ann")  # another role (or user) replays it


@pytest.mark.parametrize("value", [{"$ne": None}, {"$exists": True}, {"$where": "sleep(1000)"}, 10**40, -1, True,
                                   "7", 7.5, [7], None])
def test_operators_and_out_of_range_values_never_pass_even_when_signed(value: object) -> None:
    codec = CursorCodec(KEY)
    with pytest.raises(CursorError):
        codec.decode(signed({"f": "number", "d": 1, "n": value, "id": "T-9", "o": ANN}), SortField.number, 1, ANN)
    with pytest.raises(CursorError):
        codec.decode(signed({"f": "updated_at", "d": -1, "at": value, "id": "T-9", "o": ANN}),
                     SortField.updated_at, -1, ANN)
    if not isinstance(value, str):  # any string is a fine id: it is compared, never interpreted
        with pytest.raises(CursorError):
            codec.decode(signed({"f": "number", "d": 1, "n": 7, "id": value, "o": ANN}), SortField.number, 1, ANN)


def test_unknown_fields_wrong_directions_and_naive_times_are_refused() -> None:
    codec = CursorCodec(KEY)
    base = {"f": "updated_at", "d": -1, "at": NOW.isoformat(), "id": "T-9", "o": ANN}
    assert codec.decode(signed(base), SortField.updated_at, -1, ANN) == (NOW, "T-9")
    for bad in ({**base, "extra": 1}, {**base, "d": 0}, {**base, "d": "-1"}, {**base, "at": "2026-03-02T10:00:00"},
                {**base, "f": "$where"}, {**base, "n": 3}, [base["f"], -1, base["at"], "T-9"]):
        with pytest.raises(CursorError):
            codec.decode(signed(bad), SortField.updated_at, -1, ANN)


def test_the_key_is_configured_in_production_and_derived_in_development() -> None:
    dev = GatewaySettings()
    assert cursor_key(dev) == cursor_key(GatewaySettings()) and DEV_JWT_SECRET.encode() not in cursor_key(dev)
    assert cursor_key(GatewaySettings(cursor_secret="c" * 32)) == b"c" * 32
    with pytest.raises(StartupSecretError, match="GATEWAY_CURSOR_SECRET is not set"):
        cursor_key(GatewaySettings(environment="production", jwt_secret="p" * 40))
    with pytest.raises(StartupSecretError, match="GATEWAY_CURSOR_SECRET is shorter"):
        cursor_key(GatewaySettings(environment="production", jwt_secret="p" * 40, cursor_secret="short"))
    assert cursor_key(GatewaySettings(environment="production", jwt_secret="p" * 40, cursor_secret="c" * 32))
