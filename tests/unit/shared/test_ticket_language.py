"""The client's language is decided once, when the ledger records TicketOpened, and travels with the event."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.envelope import envelope_for
from shared.contracts.language import detect_language
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel


def test_detection_rule() -> None:
    assert detect_language("Hello") == "en" and detect_language("Привет, hello") == "ru"
    assert detect_language("123 !!") is None  # nothing to go on: each reader's configured default


def test_ticket_opened_carries_the_decision_and_keeps_it() -> None:
    opened = t.TicketOpened(channel=Channel.email, number=1, subject="No connection", text="The line is down")
    assert opened.language == "en"
    assert t.TicketOpened(channel=Channel.email, number=2, text="Нет связи").language == "ru"
    env = envelope_for(opened, "T-1", occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
    assert env.payload["language"] == "en" and env.message() == opened
    # recorded is recorded: a later reading never decides again from the text
    kept = t.TicketOpened(channel=Channel.email, number=3, text="Нет связи", language="en")
    assert kept.language == "en"
