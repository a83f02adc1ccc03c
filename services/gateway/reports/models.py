"""Response models of the reports: one flat ``rows`` table per report so JSON, CSV and XLSX say the same thing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from .feedback_models import FraudAgentRow, FraudAlertRow, Granularity
from .ticket_filters import field_match

SlaTarget = Literal["first_response", "take_into_work", "resolution"]
SlaDimension = Literal["overall", "service", "product", "category"]
PeopleDimension = Literal["overall", "line", "agent"]
CsatDimension = Literal["overall", "line", "group", "agent"]
CategoryGroupBy = Literal["service", "topic", "client_category"]


class ReportFilters(BaseModel):
    """Ticket-level narrowing shared by every report; the gateway fills it from the caller's role scope too."""

    lines: list[str] | None = Field(None, description="Only tickets currently on these lines")
    group_ids: list[str] | None = None
    service_team_ids: list[str] | None = None
    client_ids: list[str] | None = None
    client_categories: list[str] | None = None
    channels: list[str] | None = None
    tags: list[str] | None = Field(None, description="Only tickets carrying any of these tags")
    fields: list[str] | None = Field(None, description="Custom field values as id=value: values of one field are "
                                                       "alternatives, different fields must all hold")
    include_subtickets: bool = Field(False, description="Count development sub-tickets (parent_id set) too")

    @field_validator("fields")
    @classmethod
    def _field_pairs(cls, value: list[str] | None) -> list[str] | None:
        field_match(value)  # refuses a malformed pair in words
        return value


class Report(BaseModel):
    """Base of every report: the half-open period [period_start, period_end) and one table of rows."""

    ROW: ClassVar[type[BaseModel]]
    NAME: ClassVar[str]

    period_start: datetime
    period_end: datetime

    def table(self) -> list[BaseModel]:
        rows: list[BaseModel] = getattr(self, "rows")  # noqa: B009 - every subclass declares typed rows
        return rows

    def summary(self) -> dict[str, Any]:
        """Scalar fields (period, totals) shown above the table in exports."""
        return self.model_dump(exclude={"rows"})


class SlaComplianceRow(BaseModel):
    dimension: SlaDimension
    key: str | None = Field(description="Service id, product or client category; null = not set (or overall)")
    target: SlaTarget
    total: int = Field(description="Clocks carrying this target")
    met: int
    breached: int
    pending: int = Field(description="Neither met nor breached yet")
    met_share: float | None = Field(description="met / (met + breached); null when nothing is decided")
    breached_share: float | None


class SlaComplianceReport(Report):
    """Targets of the SLA clocks of tickets opened in the period."""

    ROW: ClassVar[type[BaseModel]] = SlaComplianceRow
    NAME: ClassVar[str] = "sla-compliance"
    rows: list[SlaComplianceRow]


class WorkloadRow(BaseModel):
    agent_id: str
    in_work: int = Field(description="Assigned to the agent now (assigned, in progress, waiting for customer)")
    closed: int = Field(description="Resolved by the agent in the period")
    breached: int = Field(description="Of those counted, tickets flagged sla_breached")


class WorkloadReport(Report):
    ROW: ClassVar[type[BaseModel]] = WorkloadRow
    NAME: ClassVar[str] = "workload"
    total_in_work: int
    total_closed: int
    total_breached: int
    rows: list[WorkloadRow]


class CategoryRow(BaseModel):
    group: str | None = Field(description="service_id, topic or client category (see group_by)")
    subgroup: str | None = Field(description="sub_service_id or subtopic; null for client categories")
    total: int
    open: int
    done: int = Field(description="Resolved, completed or closed")
    share: float = Field(description="total / all tickets of the report")


class TicketsByCategoryReport(Report):
    """Tickets opened in the period."""

    ROW: ClassVar[type[BaseModel]] = CategoryRow
    NAME: ClassVar[str] = "tickets-by-category"
    group_by: CategoryGroupBy
    total: int
    rows: list[CategoryRow]


class TrendRow(BaseModel):
    day: str = Field(description="YYYY-MM-DD in the report's time zone")
    opened: int
    resolved: int
    median_resolution_seconds: float | None = Field(description="Calendar seconds from opening to resolution")


class ResolutionTrendReport(Report):
    ROW: ClassVar[type[BaseModel]] = TrendRow
    NAME: ClassVar[str] = "resolution-trend"
    timezone: str
    opened_total: int
    resolved_total: int
    median_resolution_seconds: float | None
    rows: list[TrendRow]


class SatisfactionRow(BaseModel):
    dimension: CsatDimension
    key: str | None = Field(description="Line, group or resolving agent at resolution; null = not set (or overall)")
    period: str | None = Field(None, description="Local day, ISO week (2026-W10), month or year; null = whole period")
    good: int
    bad: int
    not_mine: int
    total: int
    csat: float | None = Field(description="good / (good + bad); null when there are none")


class SatisfactionReport(Report):
    """Survey answers given in the period (feedback's surveys, joined to the tickets the reader may see)."""

    ROW: ClassVar[type[BaseModel]] = SatisfactionRow
    NAME: ClassVar[str] = "satisfaction"
    granularity: Granularity | None = Field(None, description="Rows per local period when set")
    timezone: str
    rows: list[SatisfactionRow]


class FraudAlertsReport(Report):
    """"I did not open this request" answers whose alert was raised in the period, newest first."""

    ROW: ClassVar[type[BaseModel]] = FraudAlertRow
    NAME: ClassVar[str] = "fraud-alerts"
    limit: int
    truncated: bool = Field(description="More alerts than `limit` were raised: narrow the period or the filters")
    rows: list[FraudAlertRow]


class FraudAgentsReport(Report):
    """Fraud alerts per agent who opened the tickets (the suspected agent), most alerts first."""

    ROW: ClassVar[type[BaseModel]] = FraudAgentRow
    NAME: ClassVar[str] = "fraud-alerts-per-agent"
    total_alerts: int
    rows: list[FraudAgentRow]


class FirstResponseRow(BaseModel):
    agent_id: str | None = Field(description="Who sent the first reply; null = overall row")
    answered: int
    median_seconds: float
    p90_seconds: float
    max_seconds: float
    over_threshold: int
    over_threshold_share: float


class FirstResponseReport(Report):
    """Tickets whose first reply went out in the period; slowest agents first."""

    ROW: ClassVar[type[BaseModel]] = FirstResponseRow
    NAME: ClassVar[str] = "first-response"
    threshold_seconds: float
    rows: list[FirstResponseRow]


class LongIgnoredRow(BaseModel):
    dimension: PeopleDimension
    key: str | None = Field(description="Line or current assignee; null = none (or overall)")
    total: int
    long_ignored: int
    share: float


class LongIgnoredReport(Report):
    """Tickets opened in the period."""

    ROW: ClassVar[type[BaseModel]] = LongIgnoredRow
    NAME: ClassVar[str] = "long-ignored"
    rows: list[LongIgnoredRow]


class ChannelRow(BaseModel):
    channel: str
    total: int
    open: int
    done: int
    share: float


class ChannelReport(Report):
    """Tickets opened in the period."""

    ROW: ClassVar[type[BaseModel]] = ChannelRow
    NAME: ClassVar[str] = "channels"
    total: int
    rows: list[ChannelRow]


class HistoryRow(BaseModel):
    at: str = Field(description="occurred_at as recorded (ISO 8601, UTC)")
    type: str
    actor: str | None
    summary: str


class TicketHistory(BaseModel):
    ticket_id: str
    number: int | None
    rows: list[HistoryRow]
