"""In what order one person's notices about one ticket go out: the order of the events that caused them.

Every delivery carries ``seq``, its cause's position in the ticket's history as notify folded it: twice the
position for a ``tickets.events`` event, one more for what follows from it on another topic (a survey follows
its resolution). The dispatcher sends a delivery only when no earlier one for the same ticket and recipient is
still pending or in flight. A survey read before notify has folded its resolution has no position yet: it is
*held* until the resolution is folded (or, should that never come, until :data:`HOLD_LIMIT`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import feedback
from shared.contracts.schemas.common import FINISHED_STATUSES

from .projection import TicketView

UNDONE = ("pending", "sending")  # a delivery in one of these still holds back the later ones
HOLD_LIMIT = timedelta(minutes=10)
MAX_RESOLUTIONS = 20


def ticket_event_seq(view: TicketView) -> int:
    return 2 * view.position


def follow_up(view: TicketView | None, env: Envelope, msg: Message) -> tuple[int | None, str | None]:
    """``(seq, held_for)`` of notices caused by a routing, SLA or feedback event.

    A survey whose resolution notify has not folded yet is held for it (``held_for`` = the resolution's id).
    """
    if not isinstance(msg, feedback.SurveyRequested):
        return (2 * view.position + 1 if view is not None else None), None
    cause = env.causation_id
    if not cause:
        return None, None
    seq = after_resolution(view, cause)
    if seq is not None:
        return seq, None
    if view is not None and not view.resolutions and view.status in FINISHED_STATUSES:  # folded before positions
        return 2 * view.position + 1, None
    return None, cause


def resolution_queued(view: TicketView, env: Envelope) -> TicketView:
    """The resolution's own notices are queued: from now on what follows it (its survey) may take its place."""
    if env.id in view.resolutions:  # a redelivered resolution keeps its first position
        return view
    kept = list({**view.resolutions, env.id: view.position}.items())[-MAX_RESOLUTIONS:]
    return view.model_copy(update={"resolutions": dict(kept)})


def after_resolution(view: TicketView | None, resolved_id: str) -> int | None:
    """The ``seq`` of what follows a resolution (its survey); None while notify has not folded it."""
    return 2 * view.resolutions[resolved_id] + 1 if view is not None and resolved_id in view.resolutions else None


def first_in_line(candidates: Iterable[Mapping[str, Any]], undone: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of the candidates no earlier undone delivery to the same person about the same ticket holds back."""
    first: dict[tuple[str, str], int] = {}
    for d in undone:
        if d.get("seq") is not None:
            key = (d["ticket_id"], d["recipient"])
            first[key] = min(first.get(key, d["seq"]), d["seq"])
    return [c["_id"] for c in candidates
            if c.get("seq") is None or c["seq"] <= first.get((c["ticket_id"], c["recipient"]), c["seq"])]
