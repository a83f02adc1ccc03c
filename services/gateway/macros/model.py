"""What a macro is: a reply text in ru and en (Jinja2) and the actions it takes, personal or shared.

Every text is checked when the macro is written (``render.check``), so a saved macro never carries an escape
payload or a variable its context lacks. The actions are the individual actions' bodies, in their own words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.schemas.common import MAX_TEXT, Classification, TicketType
from shared.contracts.schemas.tickets import MAX_FIELDS_PER_COMMAND, MAX_TAGS_PER_TICKET, FieldId, FieldValue, Tag

from .render import MacroTemplateError, check

MacroScope = Literal["personal", "shared"]
Ids = list[str]


def _template(value: str | None) -> str | None:
    if value is not None:
        try:
            check(value)
        except MacroTemplateError as exc:
            raise ValueError(str(exc)) from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyText(_Strict):
    """The reply to the client per language; the client's language picks one (``plan.language_for``)."""

    ru: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    en: str | None = Field(None, min_length=1, max_length=MAX_TEXT)

    _checked = field_validator("ru", "en")(_template)

    @model_validator(mode="after")
    def _one(self) -> ReplyText:
        if self.ru is None and self.en is None:
            raise ValueError("a reply needs its text in ru, en or both")
        return self


class ClassifyAction(_Strict):
    classification: Classification
    ticket_type: TicketType | None = None
    urgency: str | None = Field(None, max_length=100)
    priority: str | None = Field(None, max_length=100)


class HoldAction(_Strict):
    reason: str | None = Field(None, max_length=2000)


class ResolveAction(_Strict):
    """Both fields the ledger requires; each may use the macro's variables (e.g. ``{{ subject }}``)."""

    problem: str = Field(max_length=MAX_TEXT)
    solution: str = Field(max_length=MAX_TEXT)

    _checked = field_validator("problem", "solution")(_template)

    @model_validator(mode="after")
    def _both(self) -> ResolveAction:
        if not self.problem.strip() or not self.solution.strip():
            raise ValueError("resolving needs both the problem and the solution")
        return self


class MacroActions(_Strict):
    classify: ClassifyAction | None = None
    add_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)
    fields: dict[FieldId, FieldValue] = Field(default_factory=dict, max_length=MAX_FIELDS_PER_COMMAND,
                                              description="Ticket-level custom field values; null clears one")
    hold: HoldAction | None = Field(None, description="Put on hold: waiting for the customer")
    resolve: ResolveAction | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MacroActions:
        if self.hold is not None and self.resolve is not None:
            raise ValueError("a macro may hold or resolve the ticket, not both")
        if set(self.add_tags) & set(self.remove_tags):
            raise ValueError("a tag cannot be both added and removed")
        return self

    def empty(self) -> bool:
        return not (self.classify or self.add_tags or self.remove_tags or self.fields or self.hold or self.resolve)


class MacroIn(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Waiting for logs", "scope": "shared", "line_ids": ["first"],
        "reply": {"ru": "Здравствуйте, {{ contact_name }}! Пришлите, пожалуйста, журналы по обращению №{{ number }}.",
                  "en": "Hello {{ contact_name }}, please send us the logs for request #{{ number }}."},
        "actions": {"add_tags": ["waiting-logs"], "hold": {"reason": "waiting for the client's logs"}}}]})

    name: str = Field(min_length=1, max_length=200)
    scope: MacroScope = Field("personal", description="personal: yours only; shared: administrators write them, "
                                                      "staff use them")
    reply: ReplyText | None = None
    actions: MacroActions = Field(default_factory=MacroActions)
    line_ids: Ids = Field(default_factory=list, max_length=100, description="Shared only: offered only to staff of "
                                                                              "these lines (empty: every line)")
    team_ids: Ids = Field(default_factory=list, max_length=100, description="Shared only: and of these teams")

    @model_validator(mode="after")
    def _meaningful(self) -> MacroIn:
        if self.reply is None and self.actions.empty():
            raise ValueError("the macro does nothing: give it a reply or an action")
        if self.scope == "personal" and (self.line_ids or self.team_ids):
            raise ValueError("a personal macro is its owner's alone: it has no lines or teams")
        return self


class Macro(MacroIn):
    id: str
    owner_id: str | None = Field(None, description="Personal macros: the agent they belong to")
    version: int = Field(description="Starts at 1, one up on every change; send it as If-Match to change safely")
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
