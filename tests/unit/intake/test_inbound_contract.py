"""The inbound.messages contract refuses what MongoDB cannot store or threading must not trust, so the door and the
consumer agree on every message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts.schemas.common import INT64_MAX
from shared.contracts.schemas.inbound import MAX_ATTACHMENTS, MAX_REFERENCES, InboundMessage

BASE: dict[str, Any] = {"channel": "email", "external_id": "<m1@client.example>", "sender": {"email": "a@b.example"}}


def make(**fields: Any) -> InboundMessage:
    return InboundMessage.model_validate({**BASE, **fields})


def fails(**fields: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        make(**fields)
    return [e["loc"] for e in caught.value.errors()]


def test_well_formed_threading_headers_pass() -> None:
    msg = make(email_message_id="<m1@client.example>", in_reply_to="<ticket.T-1.n1@frontline.local>",
               references=[f"<r{i}@client.example>" for i in range(MAX_REFERENCES)])
    assert len(msg.references) == MAX_REFERENCES


@pytest.mark.parametrize("bad", [
    "<m1@client.example>\r\nBcc: victim@else.example",  # header injection
    "<m1@client.example>\n", "<m1\x00@client.example>", "<m 1@client.example>", "m1@client.example",
    "<m1client.example>", "<m1@client.example", "<@client.example>", "<m1@>", "<" + "a" * 600 + "@x.example>",
])
def test_message_ids_must_have_the_shape_local_at_domain(bad: str) -> None:
    assert ("email_message_id",) in fails(email_message_id=bad)
    assert ("in_reply_to",) in fails(in_reply_to=bad)
    assert ("references", 0) in fails(references=[bad])


def test_references_and_attachments_are_capped() -> None:
    assert ("references",) in fails(references=[f"<r{i}@x.example>" for i in range(MAX_REFERENCES + 1)])
    attachment = {"id": "a", "filename": "f.txt", "size": 1}
    assert ("attachments",) in fails(attachments=[attachment] * (MAX_ATTACHMENTS + 1))


def test_integers_beyond_int64_are_refused() -> None:
    make(call={"duration_seconds": INT64_MAX}, attachments=[{"id": "a", "filename": "f", "size": INT64_MAX}])
    assert ("call", "duration_seconds", "constrained-int") in fails(call={"duration_seconds": INT64_MAX + 1})
    assert ("call", "duration_seconds", "constrained-int") in fails(call={"duration_seconds": -INT64_MAX - 2})
    assert ("attachments", 0, "size") in fails(attachments=[{"id": "a", "filename": "f", "size": 2**64}])


def test_the_call_record_is_small() -> None:
    assert ("call",) in fails(call={f"k{i}": i for i in range(50)})
    assert fails(call={"caller": "x" * 1000})
    assert fails(call={"k" * 100: 1})
    make(call={"call_id": "c-1", "caller": "+79120000001", "missed": True, "ivr_choice": None, "duration_seconds": 3})


def test_our_message_id_is_bounded() -> None:
    assert ("message_id",) in fails(message_id="m" * 1000)


def test_mail_with_a_long_thread_and_odd_ids_still_parses() -> None:
    """The IMAP path builds the same contract: ids it cannot trust are dropped, the newest references kept."""
    from services.intake.mailparse import parse_mail

    refs = " ".join(f"<r{i}@client.example>" for i in range(MAX_REFERENCES + 50))
    raw = (f"From: anna@client.example\r\nTo: support@desk.example\r\nSubject: again\r\n"
           f"Message-ID: <no-at-sign>\r\nIn-Reply-To: <{'x' * 600}@client.example>\r\n"
           f"References: <odd> {refs}\r\n\r\nhello\r\n").encode()
    msg = parse_mail(raw, domain="frontline.local").message
    assert msg.email_message_id is None and msg.in_reply_to is None
    assert len(msg.references) == MAX_REFERENCES and msg.references[-1] == f"<r{MAX_REFERENCES + 49}@client.example>"
