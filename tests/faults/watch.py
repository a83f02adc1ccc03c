"""What the fault runs see on the topics: SLA steps and where each ticket is, read from the beginning.

Why from the topics: a run of thousands of tickets must not be slowed by its own watching. Asking the embedded
database where every ticket is reads every ticket (with its history) on each poll, and did starve the services
under test; the events cost the database nothing. The database stays the judge: a run settles only when its
full check (checks.unsettled, checks.verify) passes, asked once the events say so (and now and then anyway, for
a broker restart that loses records).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from shared.contracts.envelope import Envelope
from shared.contracts.topics import SLA_EVENTS, TICKETS_EVENTS
from shared.runtime.settings import CommonSettings
from tests.support.testing import Tap

from .checks import FULL_MAILS, LIGHT_MAILS, SLA_STEPS, final_status

if TYPE_CHECKING:
    from .desk import Plan

# The ledger's events that move a ticket in this run, and the status each leaves it in.
STATUS = {"TicketOpened": "new", "TicketOffered": "offered", "TicketAssigned": "assigned",
          "WorkStarted": "in_progress", "TicketResolved": "resolved", "TicketCompleted": "completed",
          "TicketClosed": "closed"}


def sla_kind(e: Envelope) -> str:
    if e.type == "EscalationStepFired":
        return f"{e.type}:{e.payload['step']}"
    return f"{e.type}:{e.payload.get('target')}"


class SlaSeen(Tap):
    """Every record of sla.events, by ticket, deduplicated by id (a re-fire after a crash repeats ids; readers
    dedupe by id)."""

    def __init__(self, settings: CommonSettings) -> None:
        super().__init__(settings, SLA_EVENTS)
        self.by_ticket: dict[str, dict[str, str]] = {}

    def take(self, item: Envelope) -> None:
        self.by_ticket.setdefault(item.ticket_id, {})[item.id] = sla_kind(item)

    def update(self) -> dict[str, dict[str, str]]:
        return self.by_ticket

    def complete(self, ticket_id: str) -> bool:
        return set(self.by_ticket.get(ticket_id, {}).values()) >= SLA_STEPS


class TicketsSeen(Tap):
    """Each ticket's sender, client, status, assignee and recorded notifications, folded from tickets.events."""

    def __init__(self, settings: CommonSettings) -> None:
        super().__init__(settings, TICKETS_EVENTS)
        self.ticket_of: dict[str, str] = {}  # sender e-mail → ticket id
        self.client: dict[str, str | None] = {}
        self.status: dict[str, str] = {}
        self.assignee: dict[str, str] = {}
        self.recorded: dict[str, set[str]] = {}
        self._seen: set[str] = set()

    def take(self, item: Envelope) -> None:
        # The ledger re-publishes a killed batch's events (same ids) after newer ones: first copy only.
        if item.id in self._seen:
            return
        self._seen.add(item.id)
        tid, payload = item.ticket_id, item.payload
        if item.type == "TicketOpened":
            self.ticket_of[(payload.get("sender") or {}).get("email") or ""] = tid
            self.client[tid] = (payload.get("client") or {}).get("client_id")
        if item.type == "TicketAssigned":
            self.assignee[tid] = payload["agent_id"]
        if item.type == "NotificationRecorded":
            self.recorded.setdefault(tid, set()).add(payload["notification_id"])
        if item.type in STATUS:
            self.status[tid] = STATUS[item.type]

    def to_resolve(self) -> list[tuple[str, str]]:
        """Assigned tickets of the client on the full path, with their assignee."""
        return [(tid, self.assignee[tid]) for tid, status in self.status.items()
                if status == "assigned" and self.client.get(tid) == "acme" and tid in self.assignee]

    def unfinished(self) -> int:
        """Tickets not yet where the run leaves them (acme: completed; the others: assigned)."""
        return sum(1 for tid, status in self.status.items()
                   if status != final_status(self.client.get(tid) == "acme"))

    def unsettled(self, plan: Plan, received: set[str]) -> str | None:
        """What the events say is still missing for ``plan`` (None: nothing; the database then confirms)."""
        where: Counter[str] = Counter()
        for i in plan.indices:
            tid = self.ticket_of.get(plan.sender(i))
            full = plan.full(i)
            if tid is None:
                where["not opened"] += 1
                continue
            status, recorded = self.status.get(tid, "?"), self.recorded.get(tid, set())
            if status != final_status(full):
                where[status] += 1
            elif len(recorded) < len(FULL_MAILS if full else LIGHT_MAILS) or not recorded <= received:
                where[f"{status}, mails not all recorded and received"] += 1
        return f"by their events, tickets not done: {dict(where)}" if where else None

    def summary(self) -> dict[str, int]:
        return dict(Counter(self.status.values()))
