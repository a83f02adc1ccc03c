"""Which line and group a ticket goes to: ticket > urgency > client's choice > classification > catalogue > default.

Also re-routing on reclassification while nobody has the ticket yet.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from services.routing.domain import (
    Nobody,
    Offer,
    Policy,
    pick_line,
    reclassified,
    route,
    target_group,
    target_line,
)
from services.routing.projection import TicketView
from shared.contracts.schemas.common import Classification, RequestedLine, TicketStatus, TicketType
from shared.directory.classification import Subtopic, Topic, TopicType, UrgencyRule
from shared.directory.routing import Agent, Group, Line, ServiceNode, Staff

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SOURCES = ("ticket", "urgency", "requested", "classification", "catalogue")

# internet (service "internet": its group is on the first line)
#   complaint: line second
#     no_connection: sub-service "fiber" (groups g-fiber on first, g-net on second)
#     low_speed:     line third
#   request / tariff_change: line commercial, service "tariffs" (group g-sales on commercial)
#   consultation: nothing of its own
TREE = (
    Topic(id="internet", service_id="internet", types=[
        TopicType(type=TicketType.complaint, line="second", subtopics=[
            Subtopic(id="no_connection", sub_service_id="fiber"), Subtopic(id="low_speed", line="third")]),
        TopicType(type=TicketType.request, subtopics=[
            Subtopic(id="tariff_change", line="commercial", service_id="tariffs")]),
        TopicType(type=TicketType.consultation)]),
)
RULES = (UrgencyRule(id="outage", urgency="urgent", keywords=["no connection"], line="second", order=1),
         UrgencyRule(id="vip", urgency="high", topics=["vip"]))  # an urgency without a line
CATALOGUE = {s.id: s for s in (
    ServiceNode(id="internet", group_ids=["g-inet"]),
    ServiceNode(id="fiber", parent_id="internet", group_ids=["g-fiber", "g-net"]),
    ServiceNode(id="tariffs", group_ids=["g-sales"]))}
GROUPS = {g.id: g for g in (
    Group(id="g-inet", line_id="first"), Group(id="g-fiber", line_id="first"), Group(id="g-net", line_id="second"),
    Group(id="g-sales", line_id="commercial"), Group(id="g-dev", line_id="development"))}
LINES = {x: Line(id=x, order=i) for i, x in enumerate(("commercial", "first", "second", "third", "development"))}
AGENTS = [Agent(id="f1", name="F1", line_ids=["first"], group_ids=["g-fiber"]),
          Agent(id="f2", name="F2", line_ids=["first"], group_ids=["g-inet"]),
          Agent(id="s1", name="S1", line_ids=["second"], group_ids=["g-net"]),
          Agent(id="s2", name="S2", line_ids=["second"]),
          Agent(id="t1", name="T1", line_ids=["third"]),
          Agent(id="c1", name="C1", line_ids=["commercial"], group_ids=["g-sales"])]
STAFF = Staff(agents={a.id: a for a in AGENTS}, groups=GROUPS, services=CATALOGUE, lines=LINES)
POLICY = Policy().with_triage(TREE, RULES)


def cls(type: str | None = None, subtopic: str | None = None, **kw: str) -> Classification:
    return Classification(topic="internet", type=type, subtopic=subtopic, **kw)


def view(**kw: object) -> TicketView:
    return TicketView(id="T1", **kw)  # type: ignore[arg-type]


# ---- the precedence itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("present", list(itertools.product([False, True], repeat=len(SOURCES))))
def test_the_first_source_that_names_a_line_wins(present: tuple[bool, ...]) -> None:
    """Every combination of the five sources set or not: the earliest set one wins, else the default."""
    given = {name: (f"{name}-line" if on else None) for name, on in zip(SOURCES, present, strict=True)}
    expected = next((f"{name}-line" for name, on in zip(SOURCES, present, strict=True) if on), "default-line")
    assert pick_line(**given, default="default-line") == expected


def test_empty_strings_do_not_count_as_a_line() -> None:
    assert pick_line(ticket="", urgency="", requested="", classification="", catalogue="", default="d") == "d"


# ---- each source as it comes from the ticket and the directories ----------------------------------------


@pytest.mark.parametrize(("fields", "line", "why"), [
    ({"line": "development", "urgency": "urgent", "requested_line": RequestedLine.plain,
      "classification": cls("complaint", "low_speed")}, "development", "a fixed line beats everything"),
    ({"urgency": "urgent", "requested_line": RequestedLine.not_technical,
      "classification": cls("complaint", "low_speed")}, "second", "urgency beats the client's choice"),
    ({"urgency": "high", "requested_line": RequestedLine.plain,
      "classification": cls("complaint", "low_speed")}, "first", "an urgency naming no line does not count"),
    ({"requested_line": RequestedLine.plain, "classification": cls("complaint", "low_speed")}, "first",
     "the client's choice beats the classification"),
    ({"classification": cls("complaint", "low_speed")}, "third", "the deepest node's line"),
    ({"classification": cls("complaint", "no_connection")}, "second", "inherited from the type"),
    ({"classification": cls("request", "tariff_change")}, "commercial", "the subtopic's own line"),
    ({"classification": cls("consultation")}, "first", "no node line: the service's catalogue group's line"),
    ({"classification": Classification(service_id="tariffs")}, "commercial", "a service named on the ticket"),
    ({"classification": Classification(topic="unknown")}, "first", "nothing names a line: the default"),
    ({}, "first", "the default"),
])
def test_target_line_takes_each_source_from_the_ticket_and_the_directories(
        fields: dict[str, object], line: str, why: str) -> None:
    assert target_line(view(**fields), STAFF, POLICY) == line, why


def test_a_choice_no_line_serves_falls_through_to_the_classification() -> None:
    lines = {**LINES, "second": Line(id="second", order=2, client_choices=["technical"])}
    staff = Staff(agents=STAFF.agents, groups=GROUPS, services=CATALOGUE, lines=lines)
    v = view(requested_line=RequestedLine.plain, classification=cls("request", "tariff_change"))
    assert target_line(v, staff, POLICY) == "commercial"


def test_without_a_tree_or_rules_the_old_behaviour_stands() -> None:
    v = view(urgency="urgent", classification=cls("complaint", "low_speed"))
    assert target_line(v, STAFF, Policy()) == "first"


def test_group_comes_from_the_service_the_tree_names_unless_the_ticket_names_one() -> None:
    fiber = view(classification=cls("complaint", "no_connection"))
    assert target_group(fiber, "second", STAFF, POLICY) == "g-net"
    assert target_group(fiber, "first", STAFF, POLICY) == "g-fiber"
    assert target_group(fiber, "third", STAFF, POLICY) is None
    named = view(classification=cls("complaint", "no_connection", service_id="tariffs"))
    assert target_group(named, "commercial", STAFF, POLICY) == "g-sales"  # explicit service wins over the tree
    assert target_group(view(group_id="g-dev"), "development", STAFF, POLICY) == "g-dev"


def test_a_classified_ticket_is_offered_to_its_line_and_catalogue_group() -> None:
    assert route(view(classification=cls("complaint", "no_connection")), STAFF, POLICY, NOW) == [
        Offer(("s1",), "second", "g-net", None, "new")]
    # the client asked for plain language: first line, the first-line group of the same sub-service
    assert route(view(classification=cls("complaint", "no_connection"), requested_line=RequestedLine.plain),
                 STAFF, POLICY, NOW) == [Offer(("f1",), "first", "g-fiber", None, "new")]
    # "no connection" is urgent: straight to second line whatever the client pressed
    assert route(view(urgency="urgent", requested_line=RequestedLine.not_technical), STAFF, POLICY, NOW) == [
        Offer(("s1", "s2"), "second", None, None, "new")]


# ---- reclassification ------------------------------------------------------------------------------------


def offered(**kw: object) -> TicketView:
    """Offered on the first line by the default (routing's own choice, nothing pinned)."""
    return view(status=TicketStatus.offered, line="first", offer_round=1, offered_to=["f1", "f2"], **kw)


def test_reclassified_while_offered_is_offered_again_where_it_now_belongs() -> None:
    before = offered()
    after = before.model_copy(update={"classification": cls("complaint", "no_connection")})
    assert reclassified(before, after, STAFF, POLICY, NOW) == [Offer(("s1",), "second", "g-net", None,
                                                                     "reclassified")]
    # the same for a ticket still waiting for anyone (status new, nothing offered yet)
    waiting = view(classification=cls("consultation"))
    moved = waiting.model_copy(update={"classification": cls("request", "tariff_change")})
    assert reclassified(waiting, moved, STAFF, POLICY, NOW) == [Offer(("c1",), "commercial", "g-sales", None,
                                                                      "reclassified")]


def test_only_a_change_of_line_or_group_re_offers() -> None:
    before = offered(classification=cls("complaint", "no_connection"), requested_line=RequestedLine.plain)
    product = before.model_copy(update={"classification": cls("complaint", "no_connection", product="fiber-100")})
    assert reclassified(before, product, STAFF, POLICY, NOW) == []
    # the client chose plain language: the new topic's line does not move it off the first line,
    # but the new node's service has another first-line group, so the offer follows the group
    other = before.model_copy(update={"classification": cls("complaint", "low_speed")})
    assert reclassified(before, other, STAFF, POLICY, NOW) == [Offer(("f2",), "first", "g-inet", None,
                                                                     "reclassified")]


def test_a_ticket_someone_has_is_never_moved() -> None:
    for status in (TicketStatus.assigned, TicketStatus.in_progress, TicketStatus.waiting_customer,
                   TicketStatus.resolved):
        before = view(status=status, assignee_id="f1", line="first")
        after = before.model_copy(update={"classification": cls("complaint", "low_speed")})
        assert reclassified(before, after, STAFF, POLICY, NOW) == [], status


def test_a_pinned_line_stays_and_only_its_group_follows_the_new_service() -> None:
    before = offered(pinned_line="second", classification=cls("consultation"))
    before = before.model_copy(update={"line": "second"})
    after = before.model_copy(update={"classification": cls("complaint", "no_connection")})
    assert reclassified(before, after, STAFF, POLICY, NOW) == [Offer(("s1",), "second", "g-net", None,
                                                                     "reclassified")]
    lowspeed = before.model_copy(update={"classification": cls("complaint", "low_speed")})
    assert reclassified(before, lowspeed, STAFF, POLICY, NOW) == []  # its node names line three: pinned wins


def test_urgency_raised_by_a_reclassification_moves_the_ticket_to_the_urgency_line() -> None:
    before = offered(requested_line=RequestedLine.plain)
    after = before.model_copy(update={"urgency": "urgent"})
    assert reclassified(before, after, STAFF, POLICY, NOW) == [Offer(("s1", "s2"), "second", None, None,
                                                                     "reclassified")]


def test_nobody_on_the_new_line_falls_back_like_a_new_ticket() -> None:
    before = offered()
    after = before.model_copy(update={"classification": cls("complaint", "low_speed")})
    nobody_on_third = Staff(agents={a.id: a for a in AGENTS if a.id != "t1"}, groups=GROUPS, services=CATALOGUE,
                            lines=LINES)
    actions = reclassified(before, after, nobody_on_third, POLICY, NOW)
    assert actions[0] == Nobody("third", None, "none")
