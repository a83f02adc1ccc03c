"""``sla.events``: what time demands (notify tells people; the gateway shows and reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Message, message

Target = Literal["first_response", "take_into_work", "resolution"]


@message("SlaWarning")
class SlaWarning(Message):
    target: Target
    due_at: datetime
    policy_id: str
    share: float = Field(description="Share of the target used when the warning fired, e.g. 0.8")


@message("SlaBreached")
class SlaBreached(Message):
    target: Target
    due_at: datetime
    policy_id: str


@message("EscalationStepFired")
class EscalationStepFired(Message):
    ladder_id: str
    step: int
    action: str = Field(description="notify | add_participant | set_flag | …")
    user_ids: list[str] = Field(default_factory=list, description="People the step names, resolved from roles")
    roles: list[str] = Field(default_factory=list)
    reason: str


@message("DeadlineReminder")
class DeadlineReminder(Message):
    deadline: datetime
    remaining_seconds: float
