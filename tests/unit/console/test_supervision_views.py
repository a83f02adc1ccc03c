"""The lead's and administrator's portal pages (issue 23): the invitation form's choices and body, the gateway's
refusals next to their fields, and the feedback entries as rows (their text left for the template to escape)."""

from __future__ import annotations

from services.console.gateway import GatewayProblem
from services.console.views.supervision import contact_choices, feedback_rows, invitation_body, invitation_errors

ACCESS = ["organisation", "own"]
CONTACTS = [{"id": "P-1", "name": "Anna", "emails": ["anna@c1.example", "a2@c1.example"]},
            {"id": "P&2", "name": None, "emails": []}]


def test_each_address_of_a_contact_is_a_choice_and_a_contact_without_one_cannot_be_chosen() -> None:
    choices = contact_choices(CONTACTS)
    assert [(c.label, c.enabled) for c in choices] == [
        ("Anna — anna@c1.example", True), ("Anna — a2@c1.example", True), ("P&2", False)]
    body, errors = invitation_body({"contact": choices[1].value, "tickets": "own", "language": "ru"}, ACCESS, "en")
    assert errors == {} and body == {"contact_id": "P-1", "email": "a2@c1.example", "rights": {"tickets": "own"},
                                     "language": "ru"}


def test_a_form_missing_its_contact_or_naming_rights_the_api_does_not_offer_is_not_sent() -> None:
    assert invitation_body({"tickets": "own"}, ACCESS, "en") == (None, {"contact": "invite.choose_contact"})
    value = contact_choices(CONTACTS)[0].value
    assert invitation_body({"contact": value, "tickets": "everything"}, ACCESS, "en") == \
        (None, {"tickets": "invite.choose_rights"})
    doubled = value + "&contact_id=P-9"
    refused = invitation_body({"contact": doubled, "tickets": "own"}, ACCESS, "en")
    assert refused == (None, {"contact": "invite.choose_contact"})
    body, _ = invitation_body({"contact": value, "tickets": "organisation", "language": "de"}, ACCESS, "ru")
    assert body is not None and body["language"] == "ru"  # a language we do not write mail in: the user's


def test_the_gateways_refusals_land_next_to_their_fields() -> None:
    invalid = GatewayProblem(422, "Unprocessable Content", errors=[
        {"loc": ["body", "rights", "tickets"], "msg": "Input should be 'organisation' or 'own'"},
        {"loc": ["body", "email"], "msg": "not an e-mail address"}])
    assert invitation_errors(invalid) == {"tickets": "Input should be 'organisation' or 'own'",
                                          "contact": "not an e-mail address"}
    assert invitation_errors(GatewayProblem(403, "Forbidden", "P-2 is not a contact of a client your teams serve")) \
        == {"contact": "invite.not_yours"}
    assert invitation_errors(GatewayProblem(404, "Not Found", "no contact")) == {"contact": "invite.unknown"}
    assert invitation_errors(GatewayProblem(422, "Unprocessable Content", "client C-1 is not active")) == \
        {"contact": "client C-1 is not active"}


def test_feedback_rows_show_the_client_the_author_and_the_minute() -> None:
    rows = feedback_rows([{"id": "f1", "client_id": "C-1", "client_name": "Vector", "contact_id": "P-1", "name": None,
                           "topic": "praise", "text": "<b>hi</b>", "rating": 5, "at": "2026-03-02T09:05:59.123Z"}])
    assert [(r.client, r.author, r.topic, r.text, r.rating, r.at, r.when) for r in rows] == [
        ("Vector", "P-1", "praise", "<b>hi</b>", 5, "2026-03-02T09:05:59.123Z", "2026-03-02 09:05")]
