"""The "Business defaults" section of docs/configuration.md: the rules a new user otherwise reads the code for.

Each value is read from the setting or constant that decides it (services are imported by name, as the CLI
does, so importing this module loads no service); each line names the variable that changes it.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace


def _settings(service: str, cls: str) -> SimpleNamespace:
    """The class's defaults (not this machine's environment: the document must not depend on it)."""
    fields = getattr(importlib.import_module(f"services.{service}.settings"), cls).model_fields
    return SimpleNamespace(**{k: f.get_default(call_default_factory=True) for k, f in fields.items()})


def _s(seconds: float) -> str:
    return f"{seconds:g} s"


def _external_ids() -> list[str]:
    """Each webhook's external id and conversation id, built by intake's own converters from placeholders."""
    p = importlib.import_module("services.intake.doors_payloads")
    user = p.ChatUser.model_construct(id="{user_id}", name=None, phone=None, email=None)
    samples = {
        "web form (`/webhooks/form`)": p.form_message(p.FormSubmission.model_construct(
            submission_id="{submission_id}", text="", more_questions=[], name=None, email=None, phone=None,
            subject=None, line=None, contract_number=None), []),
        "chat (`/webhooks/chat`)": p.chat_message(p.ChatMessage.model_construct(
            platform="{platform}", session_id="{session_id}", message_id="{message_id}", user=user, text="",
            button=None), []),
        "phone (`/webhooks/call`)": p.call_message(p.CallEvent.model_construct(
            call_id="{call_id}", caller="{caller}", called=None, event="completed", ivr_choice=None,
            duration_seconds=None, transcript="", topic=None, type=None, subtopic=None, product=None), {}),
        "bot (`/webhooks/bot`)": p.bot_message(p.BotMessage.model_construct(
            bot="{bot}", conversation_id="{conversation_id}", message_id="{message_id}", user=user, text="",
            requested_line=None)),
    }
    rows = [f"  - {door}: external id `{m.external_id}`, conversation `{m.conversation_id}`"
            for door, m in samples.items()]
    return [*rows, "  - e-mail (IMAP): the mail's `Message-ID`, else `<sha256.{hash of the raw mail}@{mailbox}>`; "
                   "the conversation is the first `References` id, else `In-Reply-To`, else the external id",
            "  - `/api/v1/inbound` and `inbound.messages`: the sender's own `external_id`, unique per channel"]


def business_defaults() -> list[str]:
    from shared.contracts.schemas.tickets import OpenSubTicket
    from shared.directory.line_chain import LEGACY_CHOICE_LINES
    from shared.directory.routing import TEAMLESS_LINES
    from shared.directory.sla import DEFAULT_LADDER, DEFAULT_POLICY

    routing, intake = _settings("routing", "RoutingSettings"), _settings("intake", "IntakeSettings")
    tickets, gateway = _settings("tickets", "TicketsSettings"), _settings("gateway", "GatewaySettings")
    lines = ", ".join(f"`{k}` → line `{v}`" for k, v in LEGACY_CHOICE_LINES.items())
    ivr = ", ".join(f"IVR digit `{k}` → `{v}`" for k, v in intake.ivr_lines.items())
    targets = DEFAULT_POLICY.targets
    ladder = "; ".join(f"{s.step}. {s.reason} → {', '.join(s.roles)}" for s in DEFAULT_LADDER.steps)
    return [
        "## Business defaults", "",
        "What the desk does before anyone configures it, and where to change it.", "",
        "- **Client's choice → support line**: each line's `client_choices` in the `lines` directory; while no line "
        f"names any choice, the legacy map {lines} (docs/lines.md); nothing chosen: line "
        f"`{routing.default_line}` (`ROUTING_DEFAULT_LINE`). Urgency rules and classification nodes that name a "
        "line come first (the `urgency-rules` and `classification-topics` directories).",
        f"- **Phone menu** (`INTAKE_IVR_LINES`): {ivr}.",
        f"- **Development sub-tickets** go to line `{OpenSubTicket.model_fields['line'].default}`, which serves "
        f"every client (lines without service teams: {', '.join(f'`{x}`' for x in sorted(TEAMLESS_LINES))}).",
        f"- **Auto-assignment**: an offer nobody claims within {_s(routing.claim_timeout_seconds)} is assigned to "
        "an available agent by routing (`ROUTING_CLAIM_TIMEOUT_SECONDS`, per urgency "
        f"`ROUTING_CLAIM_TIMEOUT_BY_URGENCY`); nobody available at all: routed again after "
        f"{_s(routing.retry_seconds)} (`ROUTING_RETRY_SECONDS`).",
        f"- **Reopen window**: a resolved ticket may be reopened, and a client's reply joins it, for "
        f"{_s(tickets.reopen_window_seconds)} (`TICKETS_REOPEN_WINDOW_SECONDS`; intake's "
        f"`INTAKE_REOPEN_WINDOW_SECONDS`, {_s(intake.reopen_window_seconds)}, must match); later replies open a "
        "new ticket.",
        f"- **Tokens**: the gateway accepts a JWT's times with {_s(gateway.clock_skew_seconds)} of clock skew "
        f"(`GATEWAY_CLOCK_SKEW_SECONDS`); `frontline token` mints tokens for {_s(gateway.token_ttl_seconds)} "
        f"(`GATEWAY_TOKEN_TTL_SECONDS`), and no token may live longer than {_s(gateway.max_token_lifetime_seconds)}.",
        f"- **SLA without a policy**: `{DEFAULT_POLICY.id}`, first response within "
        f"{_s(targets.first_response_seconds or 0)}, resolution within {_s(targets.resolution_seconds or 0)}, on "
        f"calendar `{DEFAULT_POLICY.calendar_id}`; escalation ladder `{DEFAULT_LADDER.id}`: {ladder}.",
        "- **External ids** (intake drops a message whose channel and external id it has seen):",
        *_external_ids(),
        "",
    ]
