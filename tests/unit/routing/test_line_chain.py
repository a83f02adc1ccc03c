"""The lines directory's rules: the line serving a client's choice, the escalation chain, and what may be saved."""

from __future__ import annotations

from typing import get_args

import pytest

from services.routing.domain import Policy, target_line
from services.routing.projection import TicketView
from shared.contracts.schemas.common import RequestedLine
from shared.directory.line_chain import (
    LEGACY_CHOICE_LINES,
    EscalationRefused,
    choice_lines,
    escalation_target,
    line_for_choice,
    line_problems,
)
from shared.directory.routing import ClientChoice, Line, Staff

DESK = {ln.id: ln for ln in (
    Line(id="first", order=1, client_choices=["plain"], escalates_to="second"),
    Line(id="second", order=2, client_choices=["technical"], escalates_to="third"),
    Line(id="third", order=3),
    Line(id="commercial", order=4, client_choices=["not_technical"]),
    Line(id="development", order=9))}


def test_the_choices_a_line_may_serve_are_the_clients_choices() -> None:
    assert set(get_args(ClientChoice)) == {c.value for c in RequestedLine}
    with pytest.raises(ValueError):
        Line(id="x", order=1, client_choices=["urgent"])  # type: ignore[list-item]


def test_a_client_choice_lands_on_the_line_that_serves_it() -> None:
    moved = {**DESK, "first": DESK["first"].model_copy(update={"client_choices": ["plain", "not_technical"]}),
             "commercial": DESK["commercial"].model_copy(update={"client_choices": []})}
    assert choice_lines(DESK.values()) == {"plain": "first", "technical": "second", "not_technical": "commercial"}
    assert line_for_choice(moved.values(), "not_technical") == "first"
    # routing's own rule reads it, not a setting
    staff = Staff(lines=moved)
    assert target_line(TicketView(id="T", requested_line=RequestedLine.not_technical), staff, Policy()) == "first"


def test_a_choice_no_line_serves_falls_through_while_a_desk_naming_none_keeps_the_old_map() -> None:
    only_plain = {"first": Line(id="first", order=1, client_choices=["plain"])}
    assert line_for_choice(only_plain.values(), "technical") is None
    legacy = [Line(id=x, order=i) for i, x in enumerate(("first", "second", "commercial"))]
    assert choice_lines(legacy) == {}
    assert {c: line_for_choice(legacy, c) for c in LEGACY_CHOICE_LINES} == dict(LEGACY_CHOICE_LINES)
    assert LEGACY_CHOICE_LINES == {"technical": "second", "plain": "first", "not_technical": "commercial"}


def test_escalation_follows_the_line_each_line_names() -> None:
    assert escalation_target(DESK, "first") == "second"
    assert escalation_target(DESK, "second") == "third"
    # a line further up the chain may be named; order plays no part
    assert escalation_target(DESK, "first", "third") == "third"


@pytest.mark.parametrize(("current", "requested", "code", "words"), [
    ("third", None, "no_next_line", "third escalates to no line"),  # the defect: order once sent it to commercial
    ("commercial", None, "no_next_line", "commercial escalates to no line"),
    ("gone", None, "no_next_line", "gone is not in the lines directory"),
    ("second", "first", "not_on_chain", "second → third"),
    ("first", "commercial", "not_on_chain", "first → second → third"),
    ("third", "commercial", "no_next_line", "third escalates to no line"),
    (None, None, "no_line", "on no line yet"),
    (None, "nowhere", "not_on_chain", "nowhere is not in the lines directory"),
])
def test_escalation_past_the_chain_is_refused_with_the_reason(current: str | None, requested: str | None, code: str,
                                                              words: str) -> None:
    with pytest.raises(EscalationRefused) as refused:
        escalation_target(DESK, current, requested)
    assert refused.value.code == code and words in refused.value.reason


def test_a_ticket_on_no_line_goes_where_it_is_sent() -> None:
    assert escalation_target(DESK, None, "second") == "second"


def test_a_loop_written_around_the_gateway_still_ends() -> None:
    looped = {"a": Line(id="a", order=1, escalates_to="b"), "b": Line(id="b", order=2, escalates_to="a")}
    assert escalation_target(looped, "a") == "b"
    assert escalation_target(looped, "b") == "a"
    with pytest.raises(EscalationRefused):
        escalation_target(looped, "a", "c")


def test_a_consistent_desk_has_no_problems() -> None:
    assert line_problems(DESK) == []


def test_each_broken_rule_is_named() -> None:
    broken = {
        "first": Line(id="first", order=1, client_choices=["plain"], escalates_to="second"),
        "second": Line(id="second", order=2, client_choices=["plain"], escalates_to="third"),
        "third": Line(id="third", order=3, escalates_to="first"),
        "x": Line(id="x", order=4, escalates_to="missing"),
        "self": Line(id="self", order=5, escalates_to="self"),
    }
    assert line_problems(broken) == [
        "line x escalates to missing, which is not in the lines directory",
        "lines escalate in a loop: first → second → third → first",
        "lines escalate in a loop: self → self",
        "client choice plain is served by more than one line: first, second",
    ]
