"""A ticket's SLA targets as staff see them, from the clock the SLA service publishes (``sla_clocks``).

The SLA service computes every due instant on the ticket's business calendar; the gateway only passes them
on, so a countdown in the console is wall-clock arithmetic to ``due_at`` and never re-derives business time.
A paused target keeps its last ``due_at`` in the clock document, which no longer holds: it is shown as frozen
(the business seconds it has left) instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SlaTargetView(BaseModel):
    target_seconds: float = Field(description="The target in business seconds (from the SLA policy)")
    started_at: datetime = Field(description="When the target started counting")
    running: bool = Field(description="The clock counts now; false while paused (on hold, waiting for the client) "
                                      "and once the target is met")
    due_at: datetime | None = Field(None, description="While running: the wall-clock instant the target's business "
                                                      "time runs out (computed by the SLA service on the business "
                                                      "calendar); count down to it. Null while paused or met")
    warn_at: datetime | None = Field(None, description="While running: when the SLA warning fires")
    paused_seconds_left: float | None = Field(None, description="While paused: the business seconds left when the "
                                                                "clock stopped (the countdown is frozen at this)")
    business_seconds_used: float = Field(description="Business seconds used up to the last pause or stop")
    warned: bool = Field(description="The warning fired (most of the target used)")
    breached: bool = Field(description="The target's time ran out before it was met")
    breached_at: datetime | None = None
    met: bool | None = Field(None, description="Null while open; true: met in time; false: met late")
    met_at: datetime | None = None


class SlaView(BaseModel):
    """The SLA service's clock for one ticket (documented fields only; its bookkeeping stays inside)."""

    policy_id: str = Field(description="The SLA policy chosen for the ticket")
    calendar_id: str = Field(description="The business calendar its due instants are computed on")
    paused: bool = Field(False, description="Every pausable target is stopped (on hold, waiting for the client)")
    deadline: datetime | None = Field(None, description="The client's own deadline, if one was set")
    targets: dict[str, SlaTargetView] = Field(
        default_factory=dict, description="By target: first_response, take_into_work, resolution")


def _target(doc: dict[str, Any]) -> SlaTargetView:
    running = doc.get("running_since") is not None and doc.get("met_at") is None
    open_ = doc.get("met_at") is None
    left = max(float(doc["target_seconds"]) - float(doc.get("used_before") or 0.0), 0.0)
    return SlaTargetView(
        target_seconds=doc["target_seconds"], started_at=doc["started_at"], running=running,
        due_at=doc.get("due_at") if running else None, warn_at=doc.get("warn_at") if running else None,
        paused_seconds_left=left if open_ and not running else None,
        business_seconds_used=float(doc.get("used_before") or 0.0), warned=bool(doc.get("warned")),
        breached=bool(doc.get("breached")), breached_at=doc.get("breached_at"), met=doc.get("met"),
        met_at=doc.get("met_at"))


def sla_view(doc: dict[str, Any]) -> SlaView:
    return SlaView(policy_id=doc.get("policy_id") or "", calendar_id=doc.get("calendar_id") or "",
                   paused=bool(doc.get("paused")), deadline=doc.get("deadline"),
                   targets={name: _target(t) for name, t in (doc.get("targets") or {}).items()})
