"""The per-ticket clock record (collection ``sla_clocks``; the gateway's reports read this shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.directory.sla import (
    CALENDAR_24X7,
    DEFAULT_LADDER,
    DEFAULT_POLICY,
    BusinessCalendar,
    EscalationLadder,
    SlaPolicy,
)
from shared.runtime.clock import as_utc

from .calendar import Calendar

TARGETS = ("first_response", "take_into_work", "resolution")
APPLIED_KEEP = 200


class TargetClock(BaseModel):
    target_seconds: float
    started_at: datetime
    due_at: datetime | None = None
    warn_at: datetime | None = None
    running_since: datetime | None = Field(None, description="None while paused or stopped")
    used_before: float = Field(0.0, description="Business seconds used before running_since")
    met_at: datetime | None = None
    met: bool | None = Field(None, description="None while open; True met in time; False met late")
    breached: bool = False
    breached_at: datetime | None = None
    warned: bool = False
    business_seconds_used: float = 0.0
    epoch: int = Field(0, description="Bumped whenever due_at moves: timer ids carry it")

    @property
    def running(self) -> bool:
        return self.running_since is not None and self.met_at is None


class SlaClock(BaseModel):
    id: str
    policy_id: str
    calendar_id: str
    ladder_id: str = "default"
    client_id: str | None = None
    contract_id: str | None = None
    category: str | None = None
    service_id: str | None = None
    product: str | None = None
    ticket_type: str | None = None
    priority: str | None = None
    group_id: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict, description="For policies' field conditions")
    opened_at: datetime
    status: str = "new"
    paused: bool = False
    paused_at: datetime | None = None
    targets: dict[str, TargetClock] = Field(default_factory=dict)
    warning_share: float | None = 0.8
    assigned_at: datetime | None = None
    assignee_id: str | None = None
    assign_epoch: int = 0
    work_started_at: datetime | None = None
    breach_started_at: datetime | None = Field(None, description="First breach: anchors breach ladder steps")
    ladder_fired: dict[str, datetime] = Field(default_factory=dict, description="'step:anchor' -> due time")
    deadline: datetime | None = None
    deadline_set_at: datetime | None = None
    reminders_sent: list[float] = Field(default_factory=list)
    at_risk_flagged: bool = Field(False, description="What the ledger was last told about the sla_at_risk flag")
    applied: list[str] = Field(default_factory=list, description="Recent event ids: redelivery is a no-op")
    outbox: list[dict[str, Any]] = Field(
        default_factory=list, description="Envelopes a firing recorded with its state, published after the save")
    outbox_timers: list[str] = Field(
        default_factory=list, description="The timers whose firing wrote the outbox: once they are marked fired "
        "it has been published (a timer pass writes no second clock write to clear it). Empty: an event's "
        "outbox, pending until cleared")
    partition: int = -1
    version: int = 0

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump()
        doc["_id"] = doc.pop("id")
        if self.outbox and not self.outbox_timers:  # only then: the sweep's sparse index holds just these clocks
            doc["outbox_pending"] = True
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SlaClock:
        data = dict(doc)
        data["id"] = data.pop("_id")
        data.pop("outbox_pending", None)
        return cls.model_validate(_utc(data))


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(v) for v in value]
    return value


@dataclass(frozen=True)
class TimerPlan:
    id: str
    due_at: datetime
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    """A snapshot of the SLA directories, so decisions stay pure."""

    policies: tuple[SlaPolicy, ...] = ()
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    ladders: dict[str, EscalationLadder] = field(default_factory=dict)
    default_policy: SlaPolicy = field(default_factory=lambda: DEFAULT_POLICY)
    reminder_offsets: tuple[float, ...] = (24 * 3600.0, 3600.0)
    default_warning_share: float | None = 0.8

    def calendar(self, calendar_id: str) -> Calendar:
        entry = self.calendars.get(calendar_id) or (CALENDAR_24X7 if calendar_id == "24x7" else None)
        return Calendar.from_entry(entry) if entry else Calendar.always()

    def ladder(self, ladder_id: str) -> EscalationLadder:
        return self.ladders.get(ladder_id, DEFAULT_LADDER)
