"""Who may send which command to the ledger, replayed on the real broker and database.

Any service credential could write any command for any ticket, under any actor: a compromised notify could claim
or close tickets. Now every command carries its producer's signature and the ledger applies it only when a known
producer signed it and owns its type; the rest go to the dead-letter topic with the reason, and the ledger goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.command_auth import PRODUCER_HEADER, SIGNATURE_HEADER, development_key, signature
from shared.runtime.kafka import KafkaBus, read_dead_letters
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import Tap, eventually, make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WAIT = 120.0  # the machine is shared and loaded: conditions, not clocks, end each wait
TID = "T-trust"


def claim(agent: str) -> Envelope:
    return envelope_for(t.ClaimTicket(agent_id=agent), TID, occurred_at=NOW, actor=agent)


async def _dead(settings: TicketsSettings, n: int) -> dict[str, str] | None:
    """Dead letters by command id → reason, once there are ``n``."""
    dead = await read_dead_letters(settings, TICKETS_COMMANDS)
    reasons = {Envelope.from_bytes(d["value"]).id: d["headers"]["x-dlq-reason"] for d in dead}
    return reasons if len(reasons) >= n else None


async def test_only_a_commands_owner_signed_with_its_own_key_reaches_the_ledger(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    gateway, notify, routing = (KafkaBus(settings, name) for name in ("gateway", "notify", "routing"))
    async with running(tickets_app(settings)), Tap(settings, TICKETS_EVENTS) as events:
        for bus in (gateway, notify, routing):
            await bus.start()
        try:
            content = InboundContent(message_id="m-trust", channel=Channel.web, external_id="trust-1", text="hi",
                                     sender=Sender(email="c@client.example"), received_at=NOW)
            await gateway.publish(TICKETS_COMMANDS, envelope_for(
                t.ReceiveMessage(channel=Channel.web, content=content), TID, occurred_at=NOW))
            await events.wait(TID, "TicketOpened", timeout=WAIT)
            # Offered to everyone below, so whichever claim the ledger applies first would win.
            await routing.publish(TICKETS_COMMANDS, envelope_for(t.OfferTicket(
                agent_ids=["ann", "mallory-notify", "mallory-unsigned", "mallory-forged"], line="first"),
                TID, occurred_at=NOW))
            await events.wait(TID, "TicketOffered", timeout=WAIT)

            by_notify = claim("mallory-notify")  # notify's own valid signature, on a type notify does not own
            await notify.publish(TICKETS_COMMANDS, by_notify)
            unsigned = claim("mallory-unsigned")
            topic = gateway.topic(TICKETS_COMMANDS)
            await gateway.publish_raw(topic, TID.encode(), unsigned.to_bytes(), [("type", b"ClaimTicket")])
            forged = claim("mallory-forged")  # claims to be the gateway, signed with notify's key
            value = forged.to_bytes()
            bad = signature(development_key("notify"), "gateway", forged, value)
            await gateway.publish_raw(topic, TID.encode(), value, [
                ("type", b"ClaimTicket"), (PRODUCER_HEADER, b"gateway"), (SIGNATURE_HEADER, bad.encode())])
            # Same key, same partition, after all three: applied only if the ledger kept consuming, and the
            # first claim to be applied wins, so it also shows none of the three was.
            good = claim("ann")
            await gateway.publish(TICKETS_COMMANDS, good)

            (assigned,) = await events.wait(TID, "TicketAssigned", timeout=WAIT)
            assert assigned.causation_id == good.id and assigned.payload["agent_id"] == "ann"
            reasons = await eventually(lambda: _dead(settings, 3), timeout=WAIT, message="three dead letters")
        finally:
            for bus in (gateway, notify, routing):
                await bus.stop()

    assert reasons[by_notify.id] == "rejected: producer notify may not send ClaimTicket"
    assert reasons[unsigned.id].startswith("rejected: unauthenticated producer")
    assert reasons[forged.id].startswith("rejected: unauthenticated producer")
    bad_ids = {by_notify.id, unsigned.id, forged.id}
    assert not [e for e in events.items if e.causation_id in bad_ids], "no event, not even CommandRejected"
    db = database(mongo_client(settings), settings)
    doc = await db.tickets.find_one({"_id": TID})
    assert doc is not None and doc["assignee_id"] == "ann"
    assert not bad_ids & set(doc.get("processed_commands", ()))
