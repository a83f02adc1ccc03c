"""Our outbound e-mail Message-IDs carry the ticket id, so a client's reply threads back statelessly."""

from __future__ import annotations

import re

_OURS = re.compile(r"<?ticket\.(?P<ticket>[A-Za-z0-9-]+)\.(?P<id>[A-Za-z0-9-]+)@(?P<domain>[^>\s]+)>?")


def outbound_message_id(ticket_id: str, notification_id: str, domain: str) -> str:
    return f"<ticket.{ticket_id}.{notification_id}@{domain}>"


def ticket_of_message_id(message_id: str, domain: str) -> str | None:
    """The ticket id inside one of our own Message-IDs, or None for anyone else's."""
    m = _OURS.fullmatch(message_id.strip())
    return m["ticket"] if m and m["domain"].lower() == domain.lower() else None
