"""Tags and custom field values on a ticket (staff in scope), and the custom fields agents may fill in.

Both actions are ledger commands like every other (``run_action``): a ticket outside the caller's scope is a 404,
and the ledger checks values against the custom-fields directory; its refusal of a value is a 422 in its words.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import TicketType
from shared.contracts.schemas.tickets import MAX_FIELDS_PER_COMMAND, MAX_TAGS_PER_TICKET, FieldId, FieldValue, Tag
from shared.directory import DirectoryStore
from shared.directory.custom_fields import CUSTOM_FIELDS, CustomField
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import STAFF, Principal
from ..deps import Ctx, CurrentPrincipal, require
from ..models import TicketView
from .actions import ACTION_RESPONSES, IdempotencyKey, run_action

# The ledger's codes for values that do not fit their definitions: the request was wrong, not the ticket's state.
INVALID_VALUE_CODES = frozenset({"invalid_custom_field"})


class TagsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"add": ["vip", "outage"],
                                                                                "remove": ["billing"]}]})

    add: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)
    remove: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)

    @model_validator(mode="after")
    def _something(self) -> TagsBody:
        if not self.add and not self.remove:
            raise ValueError("name a tag to add or to remove")
        return self


class FieldsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"values": {"product": "internet", "devices": 3, "since": "2026-03-01", "modules": ["a", "b"],
                    "note": None}}]})

    values: dict[FieldId, FieldValue] = Field(min_length=1, max_length=MAX_FIELDS_PER_COMMAND,
                                              description="By field id; null clears a field")


async def _with_words(call: Any) -> Any:
    try:
        return await call
    except ProblemError as exc:
        if exc.status == 409 and exc.extra.get("code") in INVALID_VALUE_CODES:
            raise ProblemError(422, "Invalid custom field values", exc.detail, type=exc.type, **exc.extra) from None
        raise


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["actions"])
    ok: dict[str, Any] = {"response_model": TicketView, "responses": ACTION_RESPONSES}

    @r.post("/tickets/{ticket_id}/tags", summary="Add and remove tags (letters, digits, - _ . : / # +; at most "
            f"{MAX_TAGS_PER_TICKET} per ticket: 409 beyond)", **ok)
    async def change_tags(ticket_id: str, body: TagsBody, p: CurrentPrincipal, ctx: Ctx,
                          key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: TagsBody, cid: str) -> Message:
            return tickets.ChangeTags(add=body.add, remove=body.remove, by=p.user_id)
        return await run_action(ctx, p, ticket_id, body, key, "tags", b)

    @r.post("/tickets/{ticket_id}/fields", summary="Set ticket-level custom field values (422 in words when one "
            "does not fit its definition; null clears a field)", **ok)
    async def set_fields(ticket_id: str, body: FieldsBody, p: CurrentPrincipal, ctx: Ctx,
                         key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: FieldsBody, cid: str) -> Message:
            return tickets.SetCustomFields(values=body.values, set_by=p.user_id)
        return await _with_words(run_action(ctx, p, ticket_id, body, key, "fields", b))

    @r.get("/custom-fields", response_model=list[CustomField], tags=["tickets"],
           responses=problem_responses(401, 403, 422), summary="The active custom fields (staff), optionally those "
           "of one ticket type")
    async def definitions(p: CurrentPrincipal, ctx: Ctx, ticket_type: TicketType | None = None) -> list[CustomField]:
        require(p, STAFF, "custom fields")
        found = await DirectoryStore(ctx.reads.db, CUSTOM_FIELDS).list({"active": True})
        return sorted((f for f in found if ticket_type is None or f.applies_to(ticket_type.value)), key=lambda f: f.id)

    return r
