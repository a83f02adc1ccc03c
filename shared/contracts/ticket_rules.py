"""The ticket's status rules every follower of ``tickets.events`` shares with the ledger, written once.

The ledger decides with them and records the outcome on the event (``StatusChange.status_after``); routing,
sla and notify read that, and use these same rules only for a record written before the ledger did.
The status groups are declared next to ``TicketStatus`` (``schemas/common.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.contracts.envelope import Message
from shared.contracts.schemas.common import TicketStatus
from shared.contracts.schemas.tickets import StatusChange, TicketReopened


def reopened_status(assignee_id: str | None) -> TicketStatus:
    """A reopened ticket goes back to whoever had it, in progress; with nobody on it, to the queue."""
    return TicketStatus.in_progress if assignee_id else TicketStatus.new


def reopen_window_open(status: TicketStatus | str, *, closed_at: datetime | None, completed_at: datetime | None,
                       now: datetime, window: timedelta) -> bool:
    """May a client's message (or an agent) still reopen a ticket in ``status``?

    A resolved ticket always may: its survey is still out. A completed or closed one only within ``window``
    of that moment (unknown: it may); after it, the client's message opens a new ticket.
    """
    if status == TicketStatus.closed:
        since = closed_at
    elif status == TicketStatus.completed:
        since = completed_at
    else:
        return True
    return since is None or now - since <= window


def status_after(ev: Message, assignee_id: str | None) -> TicketStatus | None:
    """The ticket's status after ``ev`` (None: ``ev`` leaves it as it was); ``assignee_id`` is who had it before."""
    if not isinstance(ev, StatusChange):
        return None
    if ev.status_after is not None:
        return ev.status_after
    if isinstance(ev, TicketReopened):
        return reopened_status(assignee_id)
    raise ValueError(f"{ev.TYPE} carries no status after it")  # unreachable: a one-outcome event fills it in


def same_client(a: str | None, b: str | None) -> bool:
    """Are two tickets (by their client ids) the same client's, so that merging them needs nobody's confirmation?
    Only two identified tickets of one client are: an unidentified one may be anybody's."""
    return a is not None and a == b
