"""The failed-deliveries view without a database: which documents count, their order, cursors and wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.gateway.api.admin.deliveries import decode_cursor, encode_cursor, failed_delivery
from services.gateway.queries.deliveries import failed_pipeline
from shared.runtime.problems import ProblemError

AT = datetime(2026, 3, 2, 9, 31, 0, 123000, tzinfo=UTC)


def test_both_kinds_of_failure_newest_first_resuming_after_the_cursor() -> None:
    p = failed_pipeline(2, (AT, "n-5"), channel="sms", ticket_id="T-1")
    assert p[0] == {"$match": {"$or": [{"status": "failed"}, {"delivery_status": {"$in": ["undelivered", "failed"]}}],
                               "channel": "sms", "ticket_id": "T-1"}}
    assert p[1]["$project"]["at"] == {"$ifNull": ["$failed_at", {"$ifNull": ["$delivery_reported_at",
                                                                              "$created_at"]}]}
    assert "html" not in p[1]["$project"] and "text" not in p[1]["$project"]  # never the message bodies
    assert p[2] == {"$match": {"$or": [{"at": {"$lt": AT}}, {"at": AT, "_id": {"$lt": "n-5"}}]}}
    assert p[3:] == [{"$sort": {"at": -1, "_id": -1}}, {"$limit": 3}]  # one more than the page: is there more?
    assert len(failed_pipeline(50)) == 4


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor(AT.replace(tzinfo=None), "n-5")) == (AT, "n-5")
    for bad in ("nonsense", encode_cursor(AT, "x")[:-3] + "!!!", "W10=", "WyJ4IiwgMV0="):
        with pytest.raises(ProblemError) as info:
            decode_cursor(bad)
        assert info.value.status == 400


def test_notify_gave_up_or_the_carrier_reported_it() -> None:
    base = {"_id": "n-1", "ticket_id": "T-1", "channel": "email", "recipient": "client:anna", "attempts": 3,
            "at": AT.replace(tzinfo=None)}
    gave_up = failed_delivery({**base, "status": "failed", "permanent": False,
                               "last_error": "gave up after 3 attempts: timeout"})
    assert (gave_up.reason, gave_up.permanent, gave_up.carrier_status, gave_up.at) == (
        "gave up after 3 attempts: timeout", False, None, AT)
    carrier = failed_delivery({**base, "channel": "sms", "status": "sent", "last_error": None,
                               "delivery_status": "undelivered", "delivery_error_code": "30006", "attempts": 1})
    assert (carrier.reason, carrier.permanent, carrier.carrier_status) == (
        "carrier reported undelivered (error 30006)", True, "undelivered")
