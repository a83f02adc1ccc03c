"""The ledger's producer check: what it reads from a consumed record and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from services.tickets.producer_check import producer_check
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.runtime.command_auth import PRODUCER_HEADER, SIGNATURE_HEADER, signer_for
from shared.runtime.kafka import decode_envelope
from shared.runtime.settings import CommonSettings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def record(producer: str | None, env: Envelope) -> SimpleNamespace:
    value = env.to_bytes()
    headers: list[tuple[str, bytes]] = [("type", env.type.encode())]
    if producer is not None:
        signer = signer_for(CommonSettings(), producer)
        assert signer is not None
        headers += signer.headers(env, value)
    return SimpleNamespace(headers=headers, value=value, key=env.ticket_id.encode())


def check(rec: SimpleNamespace) -> str | None:
    return producer_check(TicketsSettings())(rec, decode_envelope(rec.value))  # type: ignore[arg-type]


def test_the_owner_passes_and_its_follow_ups_too() -> None:
    assert check(record("gateway", envelope_for(t.ClaimTicket(agent_id="ann"), "T-1", occurred_at=NOW))) is None
    child = envelope_for(t.UpdateChildStatus(child_id="T-2", status="resolved"), "T-1", occurred_at=NOW)
    assert check(record("tickets", child)) is None


def test_another_producers_command_is_refused_with_both_names() -> None:
    rec = record("routing", envelope_for(t.RecordRating(survey_id="s", answer="good"), "T-1", occurred_at=NOW))
    assert check(rec) == "producer routing may not send RecordRating"


def test_the_check_reads_the_signed_bytes_not_the_type_header() -> None:
    rec = record("notify", envelope_for(t.ClaimTicket(agent_id="ann"), "T-1", occurred_at=NOW))
    rec.headers = [("type", b"RecordNotification"), *rec.headers[1:]]  # a header lie changes nothing
    assert check(rec) == "producer notify may not send ClaimTicket"


def test_unsigned_and_resigned_by_header_only_are_unauthenticated() -> None:
    env = envelope_for(t.ResolveTicket(agent_id="ann"), "T-1", occurred_at=NOW)
    unsigned = record(None, env)
    assert (check(unsigned) or "").startswith("unauthenticated producer")
    swapped = record("notify", env)  # notify's valid signature, relabelled as the gateway's
    swapped.headers = [(PRODUCER_HEADER, b"gateway") if k == PRODUCER_HEADER else (k, v) for k, v in swapped.headers]
    assert dict(swapped.headers)[SIGNATURE_HEADER]
    assert (check(swapped) or "").startswith("unauthenticated producer")
