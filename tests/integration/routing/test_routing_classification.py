"""Line and catalogue group from the classification tree and urgency rules, re-routing on reclassification,
and a development sub-ticket's group: the real ledger and routing on the real broker and database."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from routing_support import RoutingDesk, desk

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Classification, RequestedLine, TicketType
from shared.directory.classification import Subtopic, Topic, TopicType, UrgencyRule
from shared.directory.routing import Agent, Group, ServiceNode
from shared.runtime.clock import ManualClock

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NO_CONNECTION = Classification(topic="internet", type="complaint", subtopic="no_connection")
TARIFF_CHANGE = Classification(topic="internet", type="request", subtopic="tariff_change")


def directories() -> list[BaseModel]:
    """internet / complaint → second line; no_connection → sub-service fiber; tariff_change → commercial, tariffs."""
    return [
        Topic(id="internet", service_id="internet", types=[
            TopicType(type=TicketType.complaint, line="second",
                      subtopics=[Subtopic(id="no_connection", sub_service_id="fiber")]),
            TopicType(type=TicketType.request,
                      subtopics=[Subtopic(id="tariff_change", line="commercial", service_id="tariffs")])]),
        UrgencyRule(id="outage", urgency="urgent", keywords=["no connection"], line="second"),
        ServiceNode(id="internet"),
        ServiceNode(id="fiber", parent_id="internet", group_ids=["g-fiber", "g-net"]),
        ServiceNode(id="tariffs", group_ids=["g-sales"]),
        Group(id="g-fiber", line_id="first"), Group(id="g-net", line_id="second"),
        Group(id="g-sales", line_id="commercial"), Group(id="g-dev-net", line_id="development"),
        Agent(id="f1", name="F1", line_ids=["first"], group_ids=["g-fiber"]),
        Agent(id="f2", name="F2", line_ids=["first"]),
        Agent(id="s1", name="S1", line_ids=["second"], group_ids=["g-net"]),
        Agent(id="s2", name="S2", line_ids=["second"]),
        Agent(id="c1", name="C1", line_ids=["commercial"], group_ids=["g-sales"]),
        Agent(id="d1", name="D1", line_ids=["development"]),
        Agent(id="d2", name="D2", line_ids=["development"], group_ids=["g-dev-net"]),
    ]


async def offer(d: RoutingDesk, ticket_id: str, count: int = 1) -> tuple[list[str], str, str | None, str]:
    p = (await d.wait(ticket_id, "TicketOffered", count=count))[-1].payload
    return p["agent_ids"], p["line"], p["group_id"], p["reason"]


async def test_a_classified_ticket_is_offered_to_its_line_and_catalogue_group(env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(*directories())
        # no choice by the client: the tree's line (second) and the sub-service's second-line group
        await d.open("T-tree", requested_line=None, classification=NO_CONNECTION)
        # the client asked for plain language: first line, the same sub-service's first-line group
        await d.open("T-plain", requested_line=RequestedLine.plain, classification=NO_CONNECTION)
        # a tariff question the client marked "not technical", but urgent: straight to second line
        await d.open("T-urgent", requested_line=RequestedLine.not_technical, classification=TARIFF_CHANGE,
                     urgency="urgent")
        # the same question, not urgent: the client's choice (commercial) and the tariffs service's group
        await d.open("T-sales", requested_line=RequestedLine.not_technical, classification=TARIFF_CHANGE)

        assert await offer(d, "T-tree") == (["s1"], "second", "g-net", "new")
        assert await offer(d, "T-plain") == (["f1"], "first", "g-fiber", "new")
        assert await offer(d, "T-urgent") == (["s1", "s2"], "second", None, "new")
        assert await offer(d, "T-sales") == (["c1"], "commercial", "g-sales", "new")
        doc = await d.settled("T-tree", lambda doc: doc["status"] == "offered", "T-tree offered")
        assert (doc["line"], doc["group_id"], doc["offered_to"]) == ("second", "g-net", ["s1"])


async def test_reclassified_before_anyone_takes_it_is_offered_again_on_the_new_line_and_group(
        env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(*directories())
        await d.open("T-re", requested_line=None)
        assert await offer(d, "T-re") == (["f1", "f2"], "first", None, "new")

        await d.send("T-re", t.ClassifyTicket(classification=NO_CONNECTION))
        assert await offer(d, "T-re", count=2) == (["s1"], "second", "g-net", "reclassified")
        doc = await d.settled("T-re", lambda doc: doc["offer_round"] == 2, "offered again")
        assert (doc["status"], doc["line"], doc["group_id"], doc["offered_to"]) == ("offered", "second", "g-net",
                                                                                    ["s1"])

        # a product added: the ticket stays where it is, no third offer
        await d.send("T-re", t.ClassifyTicket(classification=NO_CONNECTION.model_copy(update={"product": "fiber"})))
        await d.applied("T-re", (await d.wait("T-re", "TicketClassified", count=2))[-1])
        # nobody claims: the second round's timer assigns s1; the first round's never picks a first-line agent
        clock.advance(41)
        taken = (await d.wait("T-re", "TicketAssigned"))[0].payload
        assert (taken["agent_id"], taken["mode"]) == ("s1", "auto")
        assert len(d.events.of("T-re", "TicketOffered")) == 2

        # once someone has it, a reclassification no longer moves it
        await d.send("T-re", t.ClassifyTicket(classification=TARIFF_CHANGE))
        await d.applied("T-re", (await d.wait("T-re", "TicketClassified", count=3))[-1])
        await d.send("T-re", t.AddNote(author_id="s1", text="a tariff question after all"))
        await d.wait("T-re", "NoteAdded")  # commands are decided in order: a re-offer would have come first
        assert len(d.events.of("T-re", "TicketOffered")) == 2
        assert (await d.ticket("T-re"))["assignee_id"] == "s1"


async def test_a_development_sub_ticket_is_offered_to_the_group_it_was_opened_for(env: dict[str, str]) -> None:
    clock = ManualClock(MONDAY_10)
    async with desk(env, clock) as d:
        await d.put(*directories())
        await d.open("T-parent", requested_line=RequestedLine.technical, classification=NO_CONNECTION,
                     urgency="urgent")
        assert await offer(d, "T-parent") == (["s1"], "second", "g-net", "new")
        await d.send("T-parent", t.ClaimTicket(agent_id="s1"))
        await d.wait("T-parent", "TicketAssigned")

        await d.send("T-parent", t.OpenSubTicket(child_id="T-child", opened_by="s1", summary="router firmware",
                                                 group_id="g-dev-net"))
        opened = (await d.wait("T-parent", "SubTicketOpened"))[0].payload
        assert opened["group_id"] == "g-dev-net"
        # the child inherits the parent's urgency, yet its fixed development line wins over the urgency's line
        assert await offer(d, "T-child") == (["d2"], "development", "g-dev-net", "sub_ticket")
        child = await d.ticket("T-child")
        assert (child["line"], child["group_id"], child["urgency"]) == ("development", "g-dev-net", "urgent")
        parent = await d.settled("T-parent", lambda doc: bool(doc["children"]), "parent lists the child")
        assert parent["children"][0]["group_id"] == "g-dev-net"
