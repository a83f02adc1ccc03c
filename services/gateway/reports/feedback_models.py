"""Rows of the reports over feedback's surveys (CSAT, fraud alerts), as the pipelines return them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Dimension = Literal["agent", "group", "line", "service_team", "overall"]
Granularity = Literal["day", "week", "month", "year"]


class CsatRow(BaseModel):
    dimension: Dimension
    key: str | None = Field(description="Agent, group, line or service team id; null = not set (or overall)")
    period: str | None = Field(None, description="Local day / ISO week / month / year, when grouped by period")
    good: int
    bad: int
    not_mine: int
    answered: int
    csat: float | None = Field(description="good / (good + bad); null when there are none")


class FraudAlertRow(BaseModel):
    ticket_id: str
    ticket_number: int
    survey_id: str
    alerted_at: datetime
    suspected_agent_id: str | None = Field(description="Who opened the ticket in the client's name")
    resolved_by: str | None
    lead_ids: list[str]
    line: str | None
    group_id: str | None


class FraudAgentRow(BaseModel):
    suspected_agent_id: str | None
    alerts: int
    ticket_ids: list[str]
    last_at: datetime
