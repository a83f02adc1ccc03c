"""The documented context of every template: which variables it gets, what they mean, and sample values.

Templates (shipped or written by administrators) see only these variables, plus ``lang`` (ru/en):
``render`` drops anything else and the preview refuses an unknown variable with a 422.

| templates | variables |
|---|---|
| every one about a ticket | ``ticket_id number subject ticket_url client_name agent_name service_type`` |
| to staff: ticket_opened, client_message, ticket_assigned, lead_alert, escalation, sla_warning, sla_breached, deadline_reminder, fraud_alert, delivery_failed | ``recipient_name reason`` |
| ticket_opened, client_message, reply | ``text`` |
| ticket_assigned | ``mode`` |
| ticket_resolved, survey | ``problem solution`` (survey also ``survey_id links``) |
| ticket_merged (to the client, on the ticket another was merged into) | ``merged_number`` |
| lead_alert | ``alert_reason detail assignee_name`` |
| escalation | ``step escalation_reason action`` |
| sla_warning, sla_breached | ``target due_at`` |
| deadline_reminder | ``deadline remaining_minutes`` |
| fraud_alert | ``survey_id suspect_name`` |
| delivery_failed | ``failed_template channel address error`` |
| sign_in_link (a portal sign-in link, no ticket: only these) | ``client_name link_url expires_minutes`` |
| invitation (a portal invitation, no ticket: only these) | ``client_name organisation_name link_url expires_hours`` |
"""  # noqa: E501  (a table reads better unwrapped)

from __future__ import annotations

from typing import Any

# variable -> (meaning, sample value for previews)
VARIABLES: dict[str, tuple[str, Any]] = {
    "ticket_id": ("the ticket's id", "7d6f3c1e-0000-4000-8000-000000000001"),
    "number": ("the ticket's number", 1042),
    "subject": ("the ticket's subject", "Нет связи / No connection"),
    "ticket_url": ("link to the ticket in the console (staff), if configured", "https://desk.example/tickets/1042"),
    "client_name": ("the client's name", "Anna Petrova"),
    "agent_name": ("the assignee's name", "Ivan"),
    "service_type": ("the ticket's service type", "air"),
    "recipient_name": ("the staff member addressed", "Olga"),
    "reason": ("why this staff member gets it: assignee, team_lead, covering:<id>, author, ...", "team_lead"),
    "text": ("the message text (client's or agent's)", "The line has been down since morning."),
    "mode": ("how the ticket was assigned: auto, manual, claim", "auto"),
    "problem": ("the problem as resolved", "No connection"),
    "solution": ("the solution", "Port restarted"),
    "merged_number": ("the number of the client's request merged into this one", 1041),
    "alert_reason": ("routing's alert reason", "assignee_unavailable"),
    "detail": ("routing's detail, may be empty", None),
    "assignee_name": ("the assignee concerned by the alert", "Ivan"),
    "step": ("escalation step", 2),
    "escalation_reason": ("why the ladder fired", "not in progress for 24 h"),
    "action": ("the escalation step's action", "notify"),
    "target": ("SLA target: first_response, take_into_work, resolution", "resolution"),
    "due_at": ("when the target is due (ISO 8601)", "2026-03-02T18:00:00+00:00"),
    "deadline": ("the deadline promised to the client (ISO 8601)", "2026-03-03T18:00:00+00:00"),
    "remaining_minutes": ("minutes left before the deadline", 90),
    "survey_id": ("the CSAT survey's id", "s-1"),
    "links": ("the survey's answer links: good, bad, not_mine",
              {"good": "https://desk.example/s/1/good", "bad": "https://desk.example/s/1/bad",
               "not_mine": "https://desk.example/s/1/not_mine"}),
    "suspect_name": ("who opened the ticket the client disowns", "Ivan"),
    "failed_template": ("the template of the message that could not be delivered", "reply"),
    "channel": ("the channel it failed on", "email"),
    "address": ("the address it was sent to", "anna@client.example"),
    "error": ("why it cannot be delivered", "invalid e-mail address 'anna@client'"),
    "link_url": ("the portal sign-in link (secret: it signs the contact in once)",
                 "https://desk.example/portal/link?token=sample"),
    "expires_minutes": ("how many minutes the sign-in link works", 15),
    "organisation_name": ("the client organisation the contact is invited for", "Vector Tour"),
    "expires_hours": ("how many hours the invitation link works", 72),
}

TICKET = ("ticket_id", "number", "subject", "ticket_url", "client_name", "agent_name", "service_type")
STAFF = (*TICKET, "recipient_name", "reason")

CONTEXT: dict[str, frozenset[str]] = {name: frozenset(names) for name, names in {
    "ticket_opened": (*STAFF, "text"),
    "client_message": (*STAFF, "text"),
    "ticket_assigned": (*STAFF, "mode"),
    "ticket_taken": TICKET,
    "reply": (*TICKET, "text"),
    "ticket_resolved": (*TICKET, "problem", "solution"),
    "ticket_merged": (*TICKET, "merged_number"),
    "lead_alert": (*STAFF, "alert_reason", "detail", "assignee_name"),
    "escalation": (*STAFF, "step", "escalation_reason", "action"),
    "sla_warning": (*STAFF, "target", "due_at"),
    "sla_breached": (*STAFF, "target", "due_at"),
    "deadline_reminder": (*STAFF, "deadline", "remaining_minutes"),
    "survey": (*TICKET, "survey_id", "problem", "solution", "links"),
    "fraud_alert": (*STAFF, "survey_id", "suspect_name"),
    "delivery_failed": (*STAFF, "failed_template", "channel", "address", "error"),
    "sign_in_link": ("client_name", "link_url", "expires_minutes"),
    "invitation": ("client_name", "organisation_name", "link_url", "expires_hours"),
}.items()}

_SAMPLE_OVERRIDES: dict[str, dict[str, Any]] = {
    "client_message": {"text": "Any news? <b>still down</b>"},
    "reply": {"text": "We have restarted your port; please check again."},
    "sla_breached": {"target": "first_response", "due_at": "2026-03-02T10:15:00+00:00"},
    "deadline_reminder": {"reason": "assignee"},
    "delivery_failed": {"reason": "author"},
}

SAMPLES: dict[str, dict[str, Any]] = {
    name: {v: VARIABLES[v][1] for v in sorted(names)} | _SAMPLE_OVERRIDES.get(name, {})
    for name, names in CONTEXT.items()}


def unknown_variables(name: str, context: dict[str, Any]) -> list[str]:
    """The top-level variables of ``context`` that template ``name`` never gets."""
    return sorted(set(context) - CONTEXT.get(name, frozenset()))
