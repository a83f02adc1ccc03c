"""Tags and custom fields in the ledger: decide refuses what does not fit the definitions, evolve keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.tickets.domain import LedgerRules, Rejected, decide
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, TicketStatus, TicketType
from shared.contracts.ticket import Ticket, evolve
from shared.directory.custom_fields import CustomField, FieldCondition, FieldOption, conditions_hold

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FIELDS = (
    CustomField(id="product", kind="select", required=True, ticket_types=["complaint", "request"],
                options=[FieldOption(value="internet"), FieldOption(value="tv")]),
    CustomField(id="modules", kind="multiselect", options=[FieldOption(value="a"), FieldOption(value="b")]),
    CustomField(id="devices", kind="number"),
    CustomField(id="since", kind="date"),
    CustomField(id="note", kind="text"),
    CustomField(id="vip_level", kind="number", level="client"),
    CustomField(id="consult_only", kind="text", ticket_types=["consultation"]),
)
RULES = LedgerRules(custom_fields=FIELDS)


def ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = {"id": "T1", "number": 1, "channel": Channel.email, "status": TicketStatus.in_progress,
                            "assignee_id": "ann", "ticket_type": TicketType.request, "created_at": NOW,
                            "updated_at": NOW, "status_changed_at": NOW}
    return Ticket(**{**base, **kw})


def apply(tk: Ticket, events: list[Message]) -> Ticket:
    for i, ev in enumerate(events):
        tk = evolve(tk, envelope_for(ev, tk.id, occurred_at=NOW, id=f"e{i}"), ev)
    return tk


def fields(tk: Ticket, **values: Any) -> list[Message]:
    return decide(tk, t.SetCustomFields(values=values, set_by="ann"), NOW, rules=RULES)


def refusal(tk: Ticket, **values: Any) -> Rejected:
    with pytest.raises(Rejected) as caught:
        fields(tk, **values)
    assert caught.value.code == "invalid_custom_field"
    return caught.value


# ---- tags ---------------------------------------------------------------------------------------


def test_tags_add_and_remove_idempotently_in_order() -> None:
    tk = ticket()
    events = decide(tk, t.ChangeTags(add=["VIP", "outage", "vip"], by="ann"), NOW)
    assert events == [t.TagsChanged(added=["vip", "outage"], removed=[], by="ann")]
    tk = apply(tk, events)
    assert tk.tags == ["vip", "outage"]
    assert decide(tk, t.ChangeTags(add=["vip"], remove=["absent"], by="ann"), NOW) == []  # nothing changes
    tk = apply(tk, decide(tk, t.ChangeTags(add=["billing"], remove=["vip"], by="ann"), NOW))
    assert tk.tags == ["outage", "billing"]


def test_tag_syntax_and_the_per_ticket_limit() -> None:
    for bad in ("<b>x</b>", "two words", "", "x" * 51, "-lead", "a\nb", "javascript:<x>"):
        with pytest.raises(ValidationError):
            t.ChangeTags(add=[bad], by="ann")
    full = ticket(tags=[f"t{i}" for i in range(t.MAX_TAGS_PER_TICKET)])
    with pytest.raises(Rejected) as caught:
        decide(full, t.ChangeTags(add=["one-more"], by="ann"), NOW)
    assert caught.value.code == "too_many_tags" and "at most 20" in caught.value.reason
    swapped = decide(full, t.ChangeTags(add=["one-more"], remove=["t0"], by="ann"), NOW)
    assert apply(full, swapped).tags[-1] == "one-more"
    with pytest.raises(Rejected, match="added and removed"):
        decide(full, t.ChangeTags(add=["x"], remove=["x"], by="ann"), NOW)


# ---- custom fields --------------------------------------------------------------------------------


def test_values_of_every_kind_are_stored_normalised_and_cleared_by_none() -> None:
    tk = ticket()
    events = fields(tk, product="tv", modules=["b", "a", "b"], devices=3, since="2026-02-28", note="  rack 4 ")
    [ev] = events
    assert isinstance(ev, t.CustomFieldsSet) and ev.set_by == "ann"
    tk = apply(tk, events)
    assert tk.custom_fields == {"product": "tv", "modules": ["b", "a"], "devices": 3, "since": "2026-02-28",
                                "note": "rack 4"}
    assert fields(tk, product="tv", devices=3) == []  # the same values again change nothing
    tk = apply(tk, fields(tk, note=None, devices=2.5))
    assert "note" not in tk.custom_fields and tk.custom_fields["devices"] == 2.5


def test_an_unknown_field_is_refused_in_words() -> None:
    assert "there is no custom field 'colour'" in refusal(ticket(), colour="red").reason


def test_a_value_of_the_wrong_type_is_refused_in_words() -> None:
    assert "devices takes a number" in refusal(ticket(), devices="three").reason
    assert "since takes a date as YYYY-MM-DD" in refusal(ticket(), since="yesterday").reason
    assert "since takes a date" in refusal(ticket(), since=20260228).reason
    assert "note takes text" in refusal(ticket(), note=5).reason


def test_a_select_option_not_in_the_list_is_refused_and_nothing_is_applied() -> None:
    reason = refusal(ticket(), product="radio", devices=1).reason
    assert "product must be one of internet, tv; 'radio' is not in the list" in reason
    assert "'c' not in the list" in refusal(ticket(), modules=["a", "c"]).reason


def test_fields_follow_their_level_and_ticket_type() -> None:
    assert "vip_level is a client-level field" in refusal(ticket(), vip_level=3).reason
    assert "consult_only does not apply to request tickets" in refusal(ticket(), consult_only="x").reason
    consult = ticket(ticket_type=TicketType.consultation)
    assert apply(consult, fields(consult, consult_only="x")).custom_fields == {"consult_only": "x"}


def test_a_required_field_cannot_be_cleared_and_is_needed_to_resolve() -> None:
    assert "product is required and cannot be cleared" in refusal(ticket(), product=None).reason
    resolve = t.ResolveTicket(agent_id="ann", problem="p", solution="s")
    with pytest.raises(Rejected) as caught:
        decide(ticket(), resolve, NOW, rules=RULES)
    assert caught.value.code == "custom_fields_required" and "product" in caught.value.reason
    tk = apply(ticket(), fields(ticket(), product="internet"))
    assert isinstance(decide(tk, resolve, NOW, rules=RULES)[0], t.TicketResolved)
    # a consultation: product does not apply, so it is not needed
    assert decide(ticket(ticket_type=TicketType.consultation), resolve, NOW, rules=RULES)


def test_no_definitions_means_every_field_is_unknown() -> None:
    with pytest.raises(Rejected, match="no custom field 'product'"):
        decide(ticket(), t.SetCustomFields(values={"product": "tv"}, set_by="ann"), NOW)


def test_field_ids_that_would_walk_a_mongodb_path_never_reach_the_ledger() -> None:
    for bad in ("a.b", "$where", "Product", "", "x" * 65):
        with pytest.raises(ValidationError):
            t.SetCustomFields(values={bad: "x"}, set_by="ann")


def test_conditions_hold_on_scalars_and_any_value_of_a_multiselect() -> None:
    product_tv = [FieldCondition(field="product", values=["tv"])]
    assert conditions_hold(product_tv, {"product": "tv"})
    assert not conditions_hold(product_tv, {"product": "internet"}) and not conditions_hold(product_tv, {})
    assert conditions_hold([FieldCondition(field="modules", values=["b"])], {"modules": ["a", "b"]})
    assert not conditions_hold([], {"product": "tv"})
