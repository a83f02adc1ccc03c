"""Who a sender is: e-mail keys as the mail system sees them, look-alikes, and who may continue a ticket."""

from __future__ import annotations

import pytest

from services.intake.domain import conversation_key
from services.intake.identity import email_key, lookalike_probe, may_continue, normalise_sender
from shared.contracts.schemas.common import ClientRef, Sender
from shared.contracts.schemas.inbound import InboundMessage

KNOWN = "office@acme.example"
# compatibility/case folding would make each of these the known address; each is a different mailbox
LOOKALIKES = {
    "ligature fi": "of\ufb01ce@acme.example",           # oﬁce
    "Kelvin sign": "\u212aate@acme.example",             # Kate with U+212A
    "long s": "\u017fales@acme.example",                 # ſales
    "sharp s": "gro\u00df@acme.example",                  # groß vs gross
}


def test_ascii_addresses_are_lower_cased_and_the_domain_is_idna() -> None:
    assert email_key(" Anna@ACME.Example ") == "anna@acme.example"
    assert email_key("<x@y.org>") == "x@y.org"
    assert email_key("anna@B\u00fccher.example") == "anna@xn--bcher-kva.example"
    assert email_key("anna@\ufb01rm.example") == "anna@firm.example"  # DNS resolves the same name
    assert email_key("not-an-email") is None and email_key("a@b") is None and email_key(None) is None
    assert email_key("x@bad..example") is None


@pytest.mark.parametrize("name", list(LOOKALIKES))
def test_compatibility_variants_are_not_the_same_mailbox(name: str) -> None:
    address = LOOKALIKES[name]
    key = email_key(address)
    assert key is not None and key.isascii() is False
    assert key not in {"office@acme.example", "kate@acme.example", "sales@acme.example", "gross@acme.example"}
    # ... but their skeleton is the plain address: the probe that finds the contact they imitate
    assert lookalike_probe(key) is not None and lookalike_probe(key).isascii()  # type: ignore[union-attr]
    assert normalise_sender(Sender(email=address), "RU").email == key


def test_the_four_variants_probe_for_the_known_contacts() -> None:
    probes = {name: lookalike_probe(email_key(a) or "") for name, a in LOOKALIKES.items()}
    assert probes == {"ligature fi": "office@acme.example", "Kelvin sign": "kate@acme.example",
                      "long s": "sales@acme.example", "sharp s": "gross@acme.example"}
    assert lookalike_probe(email_key(KNOWN) or "") is None  # a plain address imitates nobody


def test_look_alike_senders_do_not_share_a_conversation_with_the_real_one() -> None:
    def key(email: str) -> str:
        sender = normalise_sender(Sender(email=email), "RU")
        return conversation_key(InboundMessage(channel="email", external_id="m", sender=sender), None, "contact")
    assert key("Kate@acme.example") == "sender:kate@acme.example"
    assert key(LOOKALIKES["Kelvin sign"]) != key("Kate@acme.example")


ANNA = ClientRef(client_id="acme", contact_id="anna")
BORIS = ClientRef(client_id="acme", contact_id="boris")
GRETA = ClientRef(client_id="globex", contact_id="greta")
ACME_TICKET = {"client": {"client_id": "acme"}, "sender": {"email": "anna@acme.example"}}
UNKNOWN_TICKET = {"client": None, "sender": {"email": "stranger@nowhere.example", "phone": "+79990000000"}}


def test_the_ticket_owner_and_her_colleagues_may_continue_it() -> None:
    assert may_continue(ACME_TICKET, Sender(email="anna@acme.example"), ANNA)
    assert may_continue(ACME_TICKET, Sender(email="boris@acme.example"), BORIS)  # a contact of the same client
    # the very address the ticket was opened from, even before the directory knows it
    assert may_continue(ACME_TICKET, Sender(email="anna@acme.example"), None)
    assert may_continue(UNKNOWN_TICKET, Sender(phone="+79990000000"), None)


def test_strangers_and_other_clients_may_not() -> None:
    assert not may_continue(ACME_TICKET, Sender(email="it@partner.example"), None)
    assert not may_continue(ACME_TICKET, Sender(email="greta@globex.example"), GRETA)
    # naming the client's contract identifies the client but not a person of it: not enough to write in
    assert not may_continue(ACME_TICKET, Sender(email="x@evil.example"), ClientRef(client_id="acme"))
    # nobody but its own sender continues an unidentified ticket, whoever they are
    assert not may_continue(UNKNOWN_TICKET, Sender(email="greta@globex.example"), GRETA)
    assert not may_continue(UNKNOWN_TICKET, Sender(), None)
    assert not may_continue({"client": None, "sender": {}}, Sender(), None)
    assert not may_continue(ACME_TICKET, Sender(email=email_key(LOOKALIKES["ligature fi"])), None)


def test_conversation_keys_a_sender_controls_never_reach_another_senders_ticket() -> None:
    def mail(sender: str, **kw: object) -> InboundMessage:
        return InboundMessage.model_validate({"channel": "email", "external_id": "x", "sender": {"email": sender},
                                              "conversation_id": "<m1@acme.example>", **kw})
    # per conversation, an e-mail thread id comes from the sender's own References: it is keyed per sender
    assert conversation_key(mail("anna@acme.example"), None, "conversation") != \
        conversation_key(mail("it@partner.example"), None, "conversation")
    chat = InboundMessage.model_validate({"channel": "chat", "external_id": "c", "conversation_id": "tg:s-1",
                                         "sender": {"chat_id": "tg:1"}})
    assert conversation_key(chat, None, "conversation") == "conversation:chat:tg:s-1"  # the channel's own id
    # per contract, only a known person of the client shares the contract's ticket, not whoever names the contract
    named = ClientRef(client_id="acme", contract_number="C-100")
    assert conversation_key(mail("x@evil.example"), named, "contract") == "sender:x@evil.example"
    assert conversation_key(mail("anna@acme.example"), ANNA.model_copy(update={"contract_number": "C-100"}),
                            "contract") == "contract:C-100"
