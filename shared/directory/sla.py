"""SLA directories: policies, business calendars and escalation ladders.

Owned by the SLA processor (which decides with them); the gateway serves and audits
them and its reports read ``sla_clocks``. Extend additively; do not rename fields
others read. Built-in defaults (``DEFAULT_POLICY``, ``CALENDAR_24X7``,
``DEFAULT_LADDER``) apply when the directory has no entry of that id.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.directory import register
from shared.directory.custom_fields import FieldCondition

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class WorkingHours(BaseModel):
    """One working span of a weekday, local time; ``end`` may be 24:00."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM_END)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError("end must be after start (split a night span over two weekdays)")
        return self


class Span(BaseModel):
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM_END)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError("end must be after start")
        return self


class ExtraWorkingDay(BaseModel):
    """A day worked although it is a weekend or holiday (e.g. a moved working Saturday)."""

    date: date
    spans: list[Span] = Field(default_factory=lambda: [Span(start="09:00", end="18:00")])


class BusinessCalendar(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "msk-9-18", "name": {"ru": "Будни 9–18 (Москва)", "en": "Weekdays 9–18 (Moscow)"},
        "timezone": "Europe/Moscow", "always_open": False,
        "hours": [{"weekday": day, "start": "09:00", "end": "18:00"} for day in range(5)],
        "holidays": ["2025-11-03", "2025-11-04", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-05",
                     "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"],
        "extra_working_days": [{"date": "2025-11-01", "spans": [{"start": "09:00", "end": "17:00"}]}]}]})

    id: str
    name: dict[str, str] = Field(default_factory=dict, description="ru/en names")
    timezone: str = Field("UTC", description="IANA zone, e.g. Europe/Moscow")
    always_open: bool = Field(False, description="24x7: every second counts")
    hours: list[WorkingHours] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    extra_working_days: list[ExtraWorkingDay] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Targets(BaseModel):
    """Seconds of business time; None = no such target."""

    first_response_seconds: float | None = Field(None, gt=0)
    take_into_work_seconds: float | None = Field(None, gt=0)
    resolution_seconds: float | None = Field(None, gt=0)


class SlaNorm(BaseModel):
    """An extra norm inside a policy: tighter (or looser) targets for some priority / ticket type."""

    priority: str | None = None
    ticket_type: str | None = None
    service_id: str | None = None
    targets: Targets


class SlaPolicy(BaseModel):
    """Chosen by client/contract first, then client category, then service; empty selectors match all."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "premium", "name": {"ru": "Премиум: ответ за 15 минут", "en": "Premium: 15-minute response"},
        "active": True, "categories": ["premium"], "calendar_id": "msk-9-18", "ladder_id": "default",
        "targets": {"first_response_seconds": 900, "take_into_work_seconds": 1800, "resolution_seconds": 28800},
        "norms": [{"ticket_type": "complaint", "targets": {"first_response_seconds": 600, "resolution_seconds": 14400}},
                  {"priority": "high", "targets": {"resolution_seconds": 7200}}],
        "warning_share": 0.8}]})

    id: str
    name: dict[str, str] = Field(default_factory=dict)
    active: bool = True
    client_ids: list[str] = Field(default_factory=list)
    contract_ids: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="Premium / Business / Standard …")
    service_ids: list[str] = Field(default_factory=list)
    when_fields: list[FieldCondition] = Field(default_factory=list, max_length=20,
                                              description="Custom field conditions, all must hold (e.g. product = "
                                                          "tv); weighed after client, category and service")
    calendar_id: str = "24x7"
    ladder_id: str = "default"
    targets: Targets = Field(default_factory=Targets)
    norms: list[SlaNorm] = Field(default_factory=list)
    warning_share: float | None = Field(0.8, gt=0, lt=1, description="Warn when this share is used; None: no warning")


LadderRole = Literal["head_of_service", "group_lead", "head_of_division", "technical_director", "team_lead",
                     "administrator", "assignee"]


class LadderStep(BaseModel):
    """If <condition> still holds <after_seconds> after <start>, do <action> for <roles / user_ids>."""

    step: int = Field(ge=1)
    start: Literal["assigned", "breached"]
    after_seconds: float = Field(ge=0, description="Wall-clock seconds after the start")
    condition: Literal["not_in_progress", "unresolved"]
    action: Literal["notify", "add_participant"] = "notify"
    roles: list[LadderRole] = Field(default_factory=list)
    user_ids: list[str] = Field(default_factory=list)
    set_flag: str | None = None
    reason: str = ""


class EscalationLadder(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict)
    steps: list[LadderStep]

    @model_validator(mode="after")
    def _unique_steps(self) -> EscalationLadder:
        numbers = [s.step for s in self.steps]
        if len(numbers) != len(set(numbers)):
            raise ValueError("step numbers must be unique")
        return self


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


HOUR = 3600.0
CALENDAR_24X7 = BusinessCalendar(id="24x7", name={"ru": "Круглосуточно", "en": "24x7"}, always_open=True)
DEFAULT_POLICY = SlaPolicy(
    id="default", name={"ru": "Базовый SLA", "en": "Base SLA"}, calendar_id="24x7",
    targets=Targets(first_response_seconds=4 * HOUR, resolution_seconds=24 * HOUR))
DEFAULT_LADDER = EscalationLadder(
    id="default", name={"ru": "Стандартная эскалация", "en": "Default escalation"},
    steps=[
        LadderStep(step=1, start="assigned", after_seconds=15 * 60, condition="not_in_progress",
                   action="add_participant", roles=["head_of_service"], set_flag="long_ignored",
                   reason="not in progress 15 minutes after assignment"),
        LadderStep(step=2, start="breached", after_seconds=0, condition="unresolved", roles=["group_lead"],
                   reason="SLA target breached"),
        LadderStep(step=3, start="breached", after_seconds=24 * HOUR, condition="unresolved",
                   roles=["head_of_division"], reason="still unresolved 24 h after the breach"),
        LadderStep(step=4, start="breached", after_seconds=72 * HOUR, condition="unresolved",
                   roles=["technical_director"], reason="still unresolved 48 h after the division head"),
    ])
# The API's example of a ladder is the built-in one, so the two cannot drift apart.
EscalationLadder.model_config["json_schema_extra"] = {"examples": [DEFAULT_LADDER.model_dump(mode="json")]}
EscalationLadder.model_rebuild(force=True)

POLICIES = register("sla-policies", SlaPolicy, "dir_sla_policies", "sla",
                    "SLA policies: targets by client, category, service; extra norms by priority / type")
CALENDARS = register("business-calendars", BusinessCalendar, "dir_business_calendars", "sla",
                     "Business calendars: weekday hours, holidays, extra working days, time zone, 24x7")
LADDERS = register("escalation-ladders", EscalationLadder, "dir_escalation_ladders", "sla",
                   "Escalation ladders: ordered steps with condition, delay, action and roles")
