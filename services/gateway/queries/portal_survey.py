"""The client's own survey on the portal ticket: its state, and the signed link feedback made for it.

Read-only from feedback's read model (``feedback_surveys``): the gateway neither signs links nor holds the key.
The link answers in the client's name, so only the ticket's client gets it; staff see the state alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import FEEDBACK_SURVEYS
from shared.runtime.clock import as_utc

from ..access.principal import Principal, UserRole
from ..api.models import PortalSurvey, SurveyState

_FIELDS = {"status": 1, "expires_at": 1, "url": 1}


def survey_state(doc: dict[str, Any] | None, now: datetime) -> SurveyState:
    """Feedback's statuses as the client sees them: cancelled (reopened), closed or stale surveys are none."""
    status = doc.get("status") if doc else None
    if doc is None or status not in ("pending", "answered", "timed_out"):
        return "none"
    if status == "pending" and as_utc(doc["expires_at"]) > now:
        return "pending"
    return "answered" if status == "answered" else "expired"


def portal_survey(doc: dict[str, Any] | None, now: datetime, p: Principal) -> PortalSurvey:
    state = survey_state(doc, now)
    own = p.role == UserRole.client and state in ("pending", "answered")  # the answered page takes a comment
    return PortalSurvey(state=state, url=(doc or {}).get("url") if own else None)


async def ticket_survey(db: AsyncDatabase, ticket_id: str, now: datetime, p: Principal) -> PortalSurvey:
    """The latest resolution's survey of a ticket the caller may already see."""
    doc = await db[FEEDBACK_SURVEYS].find_one({"ticket_id": ticket_id}, _FIELDS, sort=[("resolved_at", -1)])
    return portal_survey(doc, now, p)
