from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contracts.envelope import Envelope, Message, Registry, RegistryError, caused_id, envelope_for, registry
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import ALL_TOPICS, all_topics_with_dead_letters
from shared.runtime.kafka import decode_envelope

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_message_is_registered_with_kind() -> None:
    models = registry.all()
    assert ("OpenTicket", 1) in models and ("CommandRejected", 1) in models
    assert models[("ClaimTicket", 1)].KIND == "command" and models[("TicketAssigned", 1)].KIND == "event"


def test_roundtrip_and_causation() -> None:
    cmd = envelope_for(t.ClaimTicket(agent_id="a1"), "T1", occurred_at=NOW, actor="a1")
    raw = cmd.to_bytes()
    env, msg = decode_envelope(raw)
    assert env == cmd and msg == t.ClaimTicket(agent_id="a1")
    ev = envelope_for(t.TicketAssigned(agent_id="a1", mode="claim"), "T1", occurred_at=NOW, cause=cmd,
                      id=caused_id(cmd, 0))
    assert ev.causation_id == cmd.id and ev.correlation_id == cmd.id and ev.actor == "a1"
    assert ev.id == caused_id(cmd, 0) != caused_id(cmd, 1)


@pytest.mark.parametrize("raw,reason", [
    (b"{not json", "malformed"),
    (b'{"type":"Nope","ticket_id":"T","occurred_at":"2026-01-01T00:00:00Z"}', "unknown message type"),
    (b'{"type":"ClaimTicket","version":9,"ticket_id":"T","occurred_at":"2026-01-01T00:00:00Z",'
     b'"payload":{"agent_id":"a"}}', "from the future"),
    (b'{"type":"ClaimTicket","ticket_id":"T","occurred_at":"2026-01-01T00:00:00Z","payload":{}}', "invalid"),
    (b'{"type":"ClaimTicket","ticket_id":"","occurred_at":"2026-01-01T00:00:00Z","payload":{"agent_id":"a"}}',
     "malformed"),
])
def test_bad_records_are_refused_with_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(RegistryError, match=reason):
        decode_envelope(raw)


def test_upcaster_reads_old_versions() -> None:
    reg = Registry()

    @reg.register("Thing", 1)
    class ThingV1(Message):
        name: str

    @reg.register("Thing", 2)
    class ThingV2(Message):
        full_name: str

    reg.upcaster("Thing", 1)(lambda p: {"full_name": p["name"]})
    env = Envelope(type="Thing", version=1, ticket_id="T", occurred_at=NOW, payload={"name": "x"})
    assert reg.parse(env) == ThingV2(full_name="x")


def test_duplicate_registration_refused() -> None:
    reg = Registry()
    reg.register("X")(type("A", (Message,), {}))
    with pytest.raises(RuntimeError):
        reg.register("X")(type("B", (Message,), {}))


def test_topics_unique_and_dead_letters() -> None:
    names = [s.name for s in all_topics_with_dead_letters()]
    assert len(names) == len(set(names)) == 2 * len(ALL_TOPICS)
    assert all(s.partitions >= 1 for s in ALL_TOPICS)
