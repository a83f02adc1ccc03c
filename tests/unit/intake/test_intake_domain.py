"""Intake rules without I/O: identities, conversation keys, threading, joinability, the command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.domain import (
    can_join,
    conversation_key,
    dedupe_key,
    identities,
    is_own_mail,
    message_id,
    normalise_email,
    normalise_phone,
    normalise_sender,
    own_ticket,
    subject_number,
    thread_refs,
    ticket_type_of,
    to_command,
)
from shared.contracts.schemas.common import Classification, ClientRef, Sender, TicketType
from shared.contracts.schemas.inbound import InboundMessage

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ACME = ClientRef(client_id="acme", contract_number="C-100", contact_id="anna")


def msg(**kw: object) -> InboundMessage:
    data: dict[str, object] = {"channel": "chat", "external_id": "m1", "sender": {"chat_id": "tg:1"}}
    data.update(kw)
    return InboundMessage.model_validate(data)


def test_phones_become_e164_and_emails_are_case_folded() -> None:
    assert normalise_phone("8 (912) 345-67-89", "RU") == "+79123456789"
    assert normalise_phone("+7 912 345 67 89") == "+79123456789"
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"
    assert normalise_phone("12") is None and normalise_phone("call me") is None and normalise_phone("") is None
    assert normalise_email(" Anna@ACME.Example ") == "anna@acme.example"
    assert normalise_email("<x@y.org>") == "x@y.org"
    assert normalise_email("not-an-email") is None
    s = normalise_sender(Sender(email="A@B.org", phone="89123456789", chat_id="tg:1"), "RU")
    assert (s.email, s.phone) == ("a@b.org", "+79123456789")
    assert identities(s) == [("emails", "a@b.org"), ("phones", "+79123456789"), ("chat_ids", "tg:1")]


def test_same_channel_and_external_id_is_the_same_message() -> None:
    a, b = msg(), msg(text="again", message_id=None)
    assert message_id(a) == message_id(b) and dedupe_key(a) == dedupe_key(b) == "chat:m1"
    assert message_id(msg(channel="web")) != message_id(a)
    assert dedupe_key(msg(message_id="given")) == "chat:m1"


def test_conversation_key_follows_the_configured_rule() -> None:
    m = msg(conversation_id="session-1")
    assert conversation_key(m, ACME, "contact") == "contact:anna"
    assert conversation_key(m, ACME, "contract") == "contract:C-100"
    assert conversation_key(m, ACME, "conversation") == "conversation:chat:session-1"
    # unknown senders: by their identity, then by the conversation
    assert conversation_key(m, None, "contact") == "sender:tg:1"
    assert conversation_key(m, None, "contract") == "sender:tg:1"
    assert conversation_key(msg(sender={}), None, "contact") == "conversation:chat:m1"
    assert conversation_key(msg(sender={"email": "X@Y.org"}), None) == "sender:x@y.org"


def test_threading_prefers_in_reply_to_then_newest_reference() -> None:
    m = msg(channel="email", in_reply_to="<c@x>", references=["<a@x>", "<b@x>", "<c@x>"])
    assert thread_refs(m) == ["<c@x>", "<b@x>", "<a@x>"]
    refs = ["<a@x>", "<ticket.T-1.n9@frontline.local>"]
    assert own_ticket(refs, "frontline.local") == "T-1"
    assert own_ticket(refs, "other.example") is None
    assert subject_number("Re: Router [#1042] again") == 1042
    assert subject_number("Re: #1042") is None and subject_number(None) is None
    assert is_own_mail(msg(email_message_id="<ticket.T-1.n2@frontline.local>"), "frontline.local")
    assert not is_own_mail(msg(email_message_id="<m@client.example>"), "frontline.local")


def test_a_ticket_closed_beyond_the_reopen_window_takes_no_more_messages() -> None:
    window = timedelta(minutes=5)
    assert can_join("in_progress", None, None, NOW, window)
    assert can_join("resolved", None, None, NOW, window)  # the ledger reopens it
    assert can_join("closed", NOW - timedelta(minutes=4), None, NOW, window)
    assert not can_join("closed", NOW - timedelta(minutes=6), None, NOW, window)
    assert not can_join("completed", None, NOW - timedelta(days=2), NOW, window)


def test_ticket_type_is_the_highest_of_every_question() -> None:
    assert ticket_type_of(msg()) == TicketType.request
    several = msg(classification=Classification(topic="t", type="consultation"),
                  questions=[Classification(topic="t", type="complaint"), Classification(topic="u", type="request")])
    assert ticket_type_of(several) == TicketType.complaint
    assert ticket_type_of(msg(classification=Classification(topic="t", type="consultation"))) == TicketType.consultation


def test_command_carries_client_line_urgency_and_content() -> None:
    m = msg(conversation_id="s-1", text="hi", requested_line="plain", subject="Help")
    cmd = to_command(m, received_at=NOW, client=ACME, urgency="urgent")
    assert cmd.client == ACME and cmd.urgency == "urgent" and cmd.requested_line == "plain"
    assert cmd.content.message_id == message_id(m) and cmd.content.received_at == NOW
    assert cmd.content.conversation_id == "s-1" and cmd.subject == "Help"
