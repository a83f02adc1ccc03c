"""Which contact a sender is, from the contacts one read found: the rules both intake paths share."""

from __future__ import annotations

from services.intake.senders import Found, _keep_lowest, first_contact, twin_of
from shared.contracts.schemas.common import Sender


def _found(*docs: dict[str, object]) -> Found:
    found: Found = {}
    for field in ("emails", "phones", "chat_ids"):
        _keep_lowest(found, docs, field, {"a@x.example", "kate@x.example", "\u212aate@x.example", "+1555"})
    return found


def test_the_most_specific_identity_wins_and_the_lowest_id_among_its_holders() -> None:
    found = _found({"_id": "p2", "emails": ["a@x.example"]}, {"_id": "p1", "emails": ["a@x.example"]},
                   {"_id": "p0", "phones": ["+1555"]})
    assert first_contact(Sender(email="a@x.example", phone="+1555"), found)["_id"] == "p1"  # type: ignore[index]
    assert first_contact(Sender(email="b@x.example", phone="+1555"), found)["_id"] == "p0"  # type: ignore[index]
    assert first_contact(Sender(email="b@x.example"), found) is None


def test_only_values_asked_for_count_and_a_scalar_field_is_one_value() -> None:
    found = _found({"_id": "p1", "emails": ["other@x.example"], "phones": "+1555"})
    assert set(found) == {("phones", "+1555")}


def test_a_look_alike_names_the_contact_it_imitates_unless_it_is_a_contact_itself() -> None:
    kate = {"_id": "kate", "emails": ["kate@x.example"]}
    assert twin_of(Sender(email="\u212aate@x.example"), _found(kate)) == ("kate@x.example", "kate")
    itself = {"_id": "k2", "emails": ["\u212aate@x.example"]}
    assert twin_of(Sender(email="\u212aate@x.example"), _found(kate, itself)) is None
    assert twin_of(Sender(email="kate@x.example"), _found(kate)) is None  # a plain address imitates nobody
    assert twin_of(Sender(phone="+1555"), _found(kate)) is None
