"""``routing.events``: alerts routing raises for people (notify delivers, the gateway shows)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Message, message


@message("LeadAlerted")
class LeadAlerted(Message):
    lead_ids: list[str]
    reason: Literal["assignee_unavailable", "nobody_available", "auto_assigned_to_night_shift",
                    "auto_assigned_to_lead", "unclaimed"]
    assignee_id: str | None = None
    detail: str | None = None
    service_team_id: str | None = None


@message("NobodyAvailable")
class NobodyAvailable(Message):
    line: str
    group_id: str | None = None
    fallback: Literal["night_shift", "team_lead", "none"] = "none"
    agent_id: str | None = Field(None, description="Who it fell back to")
