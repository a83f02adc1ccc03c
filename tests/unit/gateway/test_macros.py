"""Macros without I/O: rendering in the sandbox with the declared context, and a macro's actions as the ledger
commands the individual actions would send, in a fixed order, with ids derived from the apply request."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.gateway.macros.model import MacroIn
from services.gateway.macros.plan import language_for, plan, step_id
from services.gateway.macros.render import VARIABLES, MacroTemplateError, check, context_for, render
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Classification, TicketType
from tests.support.attacks import TEMPLATE_ESCAPES

TICKET: dict[str, Any] = {
    "_id": "T-1", "number": 1042, "status": "in_progress", "subject": "Нет связи", "language": "ru",
    "ticket_type": "request", "urgency": "normal", "priority": "normal",
    "classification": {"topic": "internet", "product": "fiber"}, "tags": ["vip"],
    "custom_fields": {"devices": 3}, "sender": {"name": "Анна", "email": "anna@client.example"},
    "client": {"client_id": "C-1", "client_name": "ООО Ромашка", "contract_number": "D-77"},
}
FULL = {
    "name": "Waiting for logs",
    "scope": "shared",
    "reply": {"ru": "Здравствуйте, {{ contact_name }}! Пришлите журналы по обращению №{{ number }}.",
              "en": "Hello {{ contact_name }}, please send the logs for request #{{ number }}."},
    "actions": {"classify": {"classification": {"topic": "internet", "type": "outage"}, "ticket_type": "complaint"},
                "add_tags": ["waiting-logs"], "remove_tags": ["vip"], "fields": {"devices": 4},
                "hold": {"reason": "waiting for the client's logs"}},
}


def test_a_reply_renders_with_the_tickets_and_clients_declared_fields() -> None:
    ctx = context_for(TICKET, agent_name="Ann")
    assert set(ctx) <= set(VARIABLES) | {"lang"}
    text = render("{{ client_name }} ({{ contract_number }}), №{{ number }}: {{ subject }} / {{ agent_name }}; "
                  "{{ fields.devices }} {{ tags|join(',') }} {{ topic }}", ctx)
    assert text == "ООО Ромашка (D-77), №1042: Нет связи / Ann; 3 vip internet"
    check("{{ fields.product }}")  # any custom field may be named when saved; a ticket without it refuses then
    with pytest.raises(MacroTemplateError, match="product"):
        render("{{ fields.product }}", ctx)


def test_an_unknown_variable_is_refused_when_saved_and_when_rendered() -> None:
    with pytest.raises(MacroTemplateError, match="password"):
        check("Your password is {{ password }}")
    with pytest.raises(ValidationError, match="password"):
        MacroIn.model_validate({"name": "x", "reply": {"en": "{{ password }}"}})
    with pytest.raises(MacroTemplateError):
        render("{{ password }}", context_for(TICKET, agent_name="Ann"))


@pytest.mark.parametrize("payload", TEMPLATE_ESCAPES)
def test_escape_payloads_are_refused_as_macro_texts(payload: str) -> None:
    with pytest.raises(MacroTemplateError):
        check(payload)
    with pytest.raises(ValidationError):
        MacroIn.model_validate({"name": "x", "reply": {"ru": payload}})
    with pytest.raises(ValidationError):
        MacroIn.model_validate({"name": "x", "actions": {"resolve": {"problem": payload, "solution": "done"}}})


def test_a_macro_must_do_something_and_cannot_both_hold_and_resolve() -> None:
    with pytest.raises(ValidationError, match="nothing"):
        MacroIn.model_validate({"name": "empty"})
    with pytest.raises(ValidationError, match="hold or resolve"):
        MacroIn.model_validate({"name": "x", "actions": {"hold": {}, "resolve": {"problem": "p", "solution": "s"}}})
    with pytest.raises(ValidationError, match="both"):
        MacroIn.model_validate({"name": "x", "actions": {"resolve": {"problem": " ", "solution": "s"}}})
    with pytest.raises(ValidationError, match="personal"):
        MacroIn.model_validate({"name": "x", "scope": "personal", "line_ids": ["first"], "reply": {"en": "hi"}})


def test_actions_become_the_individual_actions_commands_in_a_fixed_order() -> None:
    macro = MacroIn.model_validate(FULL)
    steps = plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="ru", apply_id="A-1")
    assert [s.name for s in steps] == ["reply", "classify", "tags", "fields", "hold"]
    assert [s.command for s in steps] == [
        t.ReplyToClient(agent_id="ann", text="Здравствуйте, Анна! Пришлите журналы по обращению №1042."),
        t.ClassifyTicket(classification=Classification(topic="internet", type="outage"),
                         ticket_type=TicketType.complaint),
        t.ChangeTags(add=["waiting-logs"], remove=["vip"], by="ann"),
        t.SetCustomFields(values={"devices": 4}, set_by="ann"),
        t.PutOnHold(reason="waiting for the client's logs"),
    ]
    english = plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="en", apply_id="A-1")
    assert english[0].command == t.ReplyToClient(agent_id="ann",
                                                 text="Hello Анна, please send the logs for request #1042.")


def test_a_resolve_macro_resolves_last_with_both_fields_rendered() -> None:
    macro = MacroIn.model_validate({"name": "Fixed", "reply": {"en": "Fixed."}, "actions": {
        "add_tags": ["fixed"], "resolve": {"problem": "{{ subject }}", "solution": "Restarted the port"}}})
    steps = plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="en", apply_id="A-2")
    assert [s.name for s in steps] == ["reply", "tags", "resolve"]
    assert steps[-1].command == t.ResolveTicket(agent_id="ann", problem="Нет связи", solution="Restarted the port")


def test_command_ids_derive_from_the_apply_request() -> None:
    macro = MacroIn.model_validate(FULL)
    first = [s.command_id for s in plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="ru",
                                        apply_id="A-1")]
    again = [s.command_id for s in plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="ru",
                                        apply_id="A-1")]
    other = [s.command_id for s in plan(macro, TICKET, agent_id="ann", agent_name="Ann", language="ru",
                                        apply_id="A-2")]
    assert first == again and len(set(first)) == len(first) == 5
    assert not set(first) & set(other)
    assert first[0] == step_id("A-1", "reply")


def test_the_reply_is_in_the_clients_language_unless_asked_otherwise() -> None:
    both = MacroIn.model_validate({"name": "x", "reply": {"ru": "Привет", "en": "Hello"}})
    only_en = MacroIn.model_validate({"name": "x", "reply": {"en": "Hello"}})
    assert language_for(both, TICKET, None) == "ru"
    assert language_for(both, TICKET, "en") == "en"
    assert language_for(both, {**TICKET, "language": None}, None) == "en"
    assert language_for(only_en, TICKET, None) == "en"  # the client's language is missing: the one there is
    with pytest.raises(MacroTemplateError, match="ru"):
        language_for(only_en, TICKET, "ru")  # asked for explicitly: refused in words
