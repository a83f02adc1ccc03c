"""Who hears of a delivery that failed for good: the agent who wrote it, in their in-app feed (pure).

The ledger records every failure (``RecordNotification``) and ``notify.events`` carries it, but an agent whose
reply never reached the client must learn it where they work, or the client waits for an answer that is not
coming. Automatic notices have no author; their failures go to the admins' failed-deliveries list only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.directory.notify import NotifyPreference
from shared.directory.routing import Staff

from .domain import Intent, notification_id, staff_language, ticket_context
from .projection import TicketView


def failure_notice(d: Mapping[str, Any], view: TicketView | None, staff: Staff,
                   prefs: Mapping[str, NotifyPreference], default_language: str,
                   ticket_url: str | None) -> Intent | None:
    """The in-app notice for failed delivery ``d``, or None when nobody wrote it or it did not fail."""
    author = d.get("author")
    if not author or d.get("status") != "failed":
        return None
    agent = staff.agents.get(author)
    context = {**ticket_context(d["ticket_id"], view, staff, ticket_url),
               "recipient_name": agent.name if agent else author, "reason": "author",
               "failed_template": d.get("template"), "channel": d.get("channel"), "address": d.get("address"),
               "error": str(d.get("last_error") or "failed")[:1000]}
    # A delivery an admin put back in the queue may fail again: that is news again.
    key = f"{d['_id']}:failed:{d.get('requeued_at') or ''}"
    return Intent(notification_id=notification_id(key, author, "in_app"), event_id=d["event_id"],
                  ticket_id=d["ticket_id"], recipient=author, channel="in_app", address=author,
                  template="delivery_failed", language=staff_language(agent, prefs.get(author), default_language),
                  context=context, audience="staff")
