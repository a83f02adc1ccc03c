"""Which flags a producer may set, replayed on the real broker and database.

Intake and the gateway own ``SetFlag`` only to mark a quarantined file on its ticket; owning the command type let a
compromised intake (or gateway) set or clear ANY flag (clear ``sla_breached``, raise ``nobody_available``). The
ledger now applies their ``SetFlag`` only for the flag names declared for them; the rest go to the dead-letter topic
with the reason, the ledger goes on, and the services that own other flags are unaffected.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS
from shared.runtime.file_scan import quarantine_flag
from shared.runtime.ids import new_id
from shared.runtime.kafka import KafkaBus, read_dead_letters
from tests.support.testing import Tap, eventually, make_settings, running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WAIT = 120.0  # the machine is shared and loaded: conditions, not clocks, end each wait


def flag(ticket_id: str, name: str, value: bool = True) -> Envelope:
    return envelope_for(t.SetFlag(flag=name, value=value, reason="test"), ticket_id, occurred_at=NOW)


async def _dead(settings: TicketsSettings, ids: set[str]) -> dict[str, str] | None:
    """Dead letters of these command ids → reason, once all are there."""
    dead = await read_dead_letters(settings, TICKETS_COMMANDS)
    reasons = {e.id: d["headers"]["x-dlq-reason"] for d in dead if (e := Envelope.from_bytes(d["value"])).id in ids}
    return reasons if len(reasons) == len(ids) else None


async def test_intake_and_the_gateway_set_only_quarantine_flags(env: dict[str, str]) -> None:
    settings = make_settings(TicketsSettings, env)
    tid = f"T-flags-{new_id()}"
    buses = {name: KafkaBus(settings, name) for name in ("gateway", "intake", "sla")}
    async with running(tickets_app(settings)), Tap(settings, TICKETS_EVENTS) as events:
        for bus in buses.values():
            await bus.start()
        try:
            content = InboundContent(message_id=f"m-{tid}", channel=Channel.web, external_id=tid, text="hi",
                                     sender=Sender(email="c@client.example"), received_at=NOW)
            await buses["intake"].publish(TICKETS_COMMANDS, envelope_for(
                t.ReceiveMessage(channel=Channel.web, content=content), tid, occurred_at=NOW))
            await events.wait(tid, "TicketOpened", timeout=WAIT)

            forged = {"intake": [flag(tid, "sla_breached", False), flag(tid, "nobody_available"),
                                 flag(tid, "attachment_quarantined")],  # the prefix is not a flag of a file
                      "gateway": [flag(tid, "vip"), flag(tid, "sla_at_risk", False)]}
            for producer, envs in forged.items():
                for e in envs:
                    await buses[producer].publish(TICKETS_COMMANDS, e)
            cmd, cmd_id = quarantine_flag("F-1", "virus.txt", "Eicar-Test-Signature")
            by_intake = envelope_for(cmd, tid, occurred_at=NOW, id=cmd_id, actor="intake")
            cmd2, cmd2_id = quarantine_flag("F-2", "virus.txt", "Eicar-Test-Signature")
            by_gateway = envelope_for(cmd2, tid, occurred_at=NOW, id=cmd2_id, actor="gateway")
            by_sla = flag(tid, "sla_breached")  # sla's own flag: untouched by the rule
            await buses["intake"].publish(TICKETS_COMMANDS, by_intake)
            await buses["gateway"].publish(TICKETS_COMMANDS, by_gateway)
            await buses["sla"].publish(TICKETS_COMMANDS, by_sla)

            applied = {e.causation_id: e for e in await events.wait(tid, "FlagChanged", count=3, timeout=WAIT)}
            bad = {e.id for envs in forged.values() for e in envs}
            reasons: dict[str, str] = await eventually(lambda: _dead(settings, bad), timeout=WAIT,
                                                       message="five dead letters")
        finally:
            for bus in buses.values():
                await bus.stop()

    assert {applied[i].payload["flag"] for i in (by_intake.id, by_gateway.id, by_sla.id)} == {
        "attachment_quarantined:F-1", "attachment_quarantined:F-2", "sla_breached"}
    assert set(applied) == {by_intake.id, by_gateway.id, by_sla.id}, "no forged flag was applied"
    for producer, envs in forged.items():
        for e in envs:
            assert reasons[e.id] == f"rejected: producer {producer} may not set the flag {e.payload['flag']!r}"
    assert not [e for e in events.items if e.causation_id in bad], "no event, not even CommandRejected"
