"""Line 1 → 2 → 3 escalation with its handover record, and a development sub-ticket, through the real ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from routing_support import desk

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Classification
from shared.directory.routing import Agent, Availability, Group, ServiceNode
from shared.runtime.clock import ManualClock

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


async def test_escalation_keeps_the_handover_record_and_a_development_sub_ticket_leaves_the_parent_alone(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock, claim_timeout_seconds=10) as d:
        await d.put(
            ServiceNode(id="internet", name={"en": "Internet"}),
            ServiceNode(id="fiber", parent_id="internet", group_ids=["g-fiber", "g-net"]),
            Group(id="g-fiber", line_id="first"), Group(id="g-net", line_id="second"),
            Agent(id="f1", name="F1", line_ids=["first", "second"], group_ids=["g-fiber"]),
            Agent(id="f9", name="F9", line_ids=["first"]),  # first line, not in the catalogue's group
            Agent(id="s1", name="S1", line_ids=["second"], group_ids=["g-net"]),
            Agent(id="s2", name="S2", line_ids=["second"]),
            Agent(id="t1", name="T1", line_ids=["third"]),
            Agent(id="d1", name="D1", line_ids=["development"]),
            Agent(id="d2", name="D2", line_ids=["development"], availability=Availability.sick),
        )
        await d.open("T-esc", classification=Classification(service_id="internet", sub_service_id="fiber"))
        first = (await d.wait("T-esc", "TicketOffered"))[0].payload
        assert (first["agent_ids"], first["line"], first["group_id"]) == (["f1"], "first", "g-fiber")
        await d.send("T-esc", t.ClaimTicket(agent_id="f1"))
        await d.wait("T-esc", "TicketAssigned")
        await d.send("T-esc", t.StartWork(agent_id="f1"))

        clock.advance(60)
        await d.send("T-esc", t.EscalateLine(to_line="second", handed_by="f1", group_id="g-net",
                                             reason="needs a network engineer"))
        second = (await d.wait("T-esc", "TicketOffered", count=2))[-1].payload
        # f1 serves the second line too, but handed the ticket over: not offered it back.
        assert (second["agent_ids"], second["line"], second["group_id"], second["reason"]) == (
            ["s1"], "second", "g-net", "escalated")
        clock.advance(5)
        await d.send("T-esc", t.ClaimTicket(agent_id="s1"))
        await d.wait("T-esc", "TicketAssigned", count=2)

        clock.advance(60)
        await d.send("T-esc", t.EscalateLine(to_line="third", handed_by="s1"))
        third = (await d.wait("T-esc", "TicketOffered", count=3))[-1].payload
        assert (third["agent_ids"], third["line"]) == (["t1"], "third")
        clock.advance(11)  # nobody claims on the third line: auto-assigned
        taken = (await d.wait("T-esc", "TicketAssigned", count=3))[-1].payload
        assert taken["agent_id"] == "t1" and taken["mode"] == "auto"

        doc = await d.settled("T-esc", lambda doc: len(doc["handovers"]) == 2 and doc["handovers"][1]["taken_by"],
                              "two handovers taken")
        hand = [(h["from_line"], h["to_line"], h["handed_by"], h["previous_agent_id"], h["taken_by"])
                for h in doc["handovers"]]
        assert hand == [("first", "second", "f1", "f1", "s1"), ("second", "third", "s1", "s1", "t1")]
        h1, h2 = doc["handovers"]
        assert h1["handed_at"] < h1["taken_at"] <= h2["handed_at"] < h2["taken_at"]
        assert doc["line"] == "third" and doc["flags"]["escalated"] is True

        # ---- a development sub-ticket: opened and linked, follows the same offer / auto-assign rules.
        await d.send("T-esc", t.OpenSubTicket(child_id="T-esc-dev", opened_by="t1", summary="the router firmware"))
        child_offer = (await d.wait("T-esc-dev", "TicketOffered"))[0].payload
        assert child_offer["agent_ids"] == ["d1"] and child_offer["line"] == "development"
        assert child_offer["reason"] == "sub_ticket"
        clock.advance(11)
        child_taken = (await d.wait("T-esc-dev", "TicketAssigned"))[0].payload
        assert child_taken["agent_id"] == "d1" and child_taken["mode"] == "auto"

        child = await d.ticket("T-esc-dev")
        assert child["parent_id"] == "T-esc" and child["line"] == "development" and child["created_by"] == "t1"
        parent = await d.settled("T-esc", lambda doc: doc["children"] and doc["children"][0]["status"] == "assigned",
                                 "parent shows the child's status")
        assert parent["assignee_id"] == "t1" and parent["status"] == "assigned"
        assert parent["flags"]["passed_to_development"] is True
        assert parent["children"][0]["id"] == "T-esc-dev" and parent["children"][0]["opened_by"] == "t1"
        assert len(d.events.of("T-esc", "TicketAssigned")) == 3  # the parent was not re-routed
