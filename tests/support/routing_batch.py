"""One partition's worth of ``tickets.events`` whose decisions depend on the records before them in the same batch:
least-loaded fallbacks that must count the assignments (and the close) earlier in the batch, an offer whose timer
an assignment later in the batch cancels, a redelivered event and one that changes nothing routing tracks.

Shared by the unit test (fakes) and the integration test (the real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.routing.domain import Policy
from services.routing.projection import TicketView
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender, TicketStatus
from shared.directory.routing import Agent, Group, Line, Role, Staff

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday morning
POLICY = Policy(strategy="least_loaded", claim_timeout=timedelta(seconds=40))
LEADS = ("lead-a", "lead-b")
# Nobody works line "first": its tickets fall back to group g1's leads, the least loaded first. Ann works "second".
STAFF = Staff(
    agents={**{a: Agent(id=a, name=a, roles=[Role.team_lead]) for a in LEADS},
            "ann": Agent(id="ann", name="Ann", line_ids=["second"])},
    lines={ln: Line(id=ln, order=i) for i, ln in enumerate(("first", "second"), start=1)},
    groups={"g1": Group(id="g1", line_id="first", lead_ids=list(LEADS))},
)
# Worked by lead-b before the batch: a load of one, until the batch closes it.
STORED = TicketView(id="T-old", status=TicketStatus.assigned, line="first", group_id="g1", assignee_id="lead-b")


def ev(msg: Message, id: str, ticket_id: str, seconds: int) -> tuple[Envelope, Message]:
    return envelope_for(msg, ticket_id, occurred_at=NOW + timedelta(seconds=seconds), actor="tickets", id=id), msg


def opened(line: str) -> t.TicketOpened:
    return t.TicketOpened(channel=Channel.web, subject="No connection", number=1, line=line,
                          group_id="g1" if line == "first" else None)


def received() -> t.MessageReceived:
    content = InboundContent(message_id="m-1", channel=Channel.web, external_id="x-1", text="still down",
                             sender=Sender(email="c@example.com"), received_at=NOW)
    return t.MessageReceived(content=content)


def deliveries() -> list[tuple[Envelope, Message]]:
    assign_a = ev(t.TicketAssigned(agent_id="lead-a", mode="team_lead"), "e-1-assign", "T-1", 2)
    return [
        ev(opened("first"), "e-1-open", "T-1", 1),  # loads a 0, b 1: lead-a
        assign_a,
        ev(t.TicketClosed(reason="done"), "e-old-close", "T-old", 3),  # b back to 0
        ev(opened("first"), "e-2-open", "T-2", 4),  # a 1, b 0: lead-b, only if the batch counts both changes
        ev(t.TicketAssigned(agent_id="lead-b", mode="team_lead"), "e-2-assign", "T-2", 5),
        ev(opened("second"), "e-5-open", "T-5", 6),
        ev(t.TicketOffered(agent_ids=["ann"], line="second"), "e-5-offer", "T-5", 7),  # its timer stays
        ev(opened("second"), "e-6-open", "T-6", 8),
        ev(t.TicketOffered(agent_ids=["ann"], line="second"), "e-6-offer", "T-6", 9),
        ev(t.TicketAssigned(agent_id="ann", mode="claim"), "e-6-assign", "T-6", 10),  # its timer never written
        ev(received(), "e-2-message", "T-2", 11),  # changes nothing routing tracks
        assign_a,  # redelivered
        ev(opened("first"), "e-3-open", "T-3", 12),  # a 1, b 1
    ]
