"""Who a sender is, and who may continue a ticket (no I/O).

The keys themselves (e-mail, phone) are ``shared/directory/identity.py``'s, shared with the contacts importer.
An e-mail address identifies by its key: the domain as DNS resolves it (IDNA, UTS #46) and the local part with
ASCII letters lower-cased and every other character kept as sent. Case-folding or NFKC on the local part would
make ``ﬁ``, the Kelvin sign, ``ſ`` or ``ß`` equal to plain letters, i.e. different mailboxes equal; that
folding only builds the skeleton used to find the known contact a look-alike imitates, never an identity.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from shared.contracts.schemas.common import ClientRef, Sender
from shared.directory.identity import email_key as email_key
from shared.directory.identity import normalise_phone as normalise_phone


def lookalike_probe(key: str) -> str | None:
    """The address a reader would take ``key`` for, when folding changes it (a known contact's there is a
    look-alike); None for an address that imitates nobody."""
    skeleton = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", key).casefold())
    return skeleton if skeleton != key else None


def normalise_sender(sender: Sender, region: str) -> Sender:
    """Keep what the channel gave, normalised; an unparseable address or phone is kept as typed."""
    email = email_key(sender.email) or (sender.email.strip() if sender.email else None)
    phone = normalise_phone(sender.phone, region) or (sender.phone.strip() if sender.phone else None)
    return Sender(name=sender.name, email=email, phone=phone, chat_id=sender.chat_id)


def identities(sender: Sender) -> list[tuple[str, str]]:
    """Directory fields to look the sender up by, most specific first."""
    out: list[tuple[str, str]] = []
    if sender.email:
        out.append(("emails", sender.email))
    if sender.phone:
        out.append(("phones", sender.phone))
    if sender.chat_id:
        out.append(("chat_ids", sender.chat_id))
    return out


def may_continue(ticket: Mapping[str, Any], sender: Sender, client: ClientRef | None) -> bool:
    """May a message that cites ``ticket`` (subject tag, threading headers) join it?

    Only its own client: the very identity the ticket was opened from, or a known contact of the client
    organisation the ticket is linked to (colleagues already read each other's tickets in the client portal,
    so this exposes nothing new). A sender identified only by naming a contract is not a contact. Everyone
    else, another client's contacts included, opens a ticket of their own.
    """
    owner = (ticket.get("client") or {}).get("client_id")
    if owner and client is not None and client.contact_id and client.client_id == owner:
        return True
    opened_by = Sender.model_validate(ticket.get("sender") or {})
    return bool(set(identities(opened_by)) & set(identities(sender)))
