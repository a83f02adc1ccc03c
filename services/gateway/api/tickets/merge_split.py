"""Merge a duplicate into another ticket, split client messages off into a new ticket (issue 22).

Both are ledger commands like every other action (``run_action``): staff only, and a ticket outside the caller's
scope, as source or as target, is a 404. Merging tickets of different clients (or an unidentified one) needs
``confirm_cross_client`` from a team lead or an administrator; the ledger checks that a confirmation is there and
refuses the rest (a finished source, a merged or finished target, the same ticket, a sub-ticket and its parent).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets
from shared.contracts.schemas.tickets import MAX_SPLIT_MESSAGES
from shared.contracts.ticket_rules import same_client
from shared.runtime.ids import derived_id
from shared.runtime.problems import ProblemError

from ...access.principal import Principal
from ..deps import Ctx, CurrentPrincipal, forbidden
from ..models import TicketView
from .actions import ACTION_RESPONSES, IdempotencyKey, run_action
from .tickets import load_visible

MessageId = Annotated[str, Field(min_length=1, max_length=200)]


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"target_id": "7d6f3c1e-…", "reason": "the same outage, reported by phone and by e-mail"}]})

    target_id: str = Field(min_length=1, max_length=200, description="The ticket that keeps the work")
    reason: str | None = Field(None, max_length=2000)
    confirm_cross_client: bool = Field(False, description="Leads: merge although the clients differ (or one ticket "
                                       "is unidentified)")


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"message_ids": ["m-2", "m-3"], "subject": "Invoice for March"}]})

    message_ids: list[MessageId] = Field(min_length=1, max_length=MAX_SPLIT_MESSAGES,
                                         description="Client messages of this ticket (`content.message_id` of its "
                                                     "MessageReceived entries)")
    subject: str | None = Field(None, max_length=1000, description="Default: \"Split from #N: <subject>\"")


def _client_id(doc: dict[str, Any]) -> str | None:
    return (doc.get("client") or {}).get("client_id")


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["actions"])
    ok: dict[str, Any] = {"response_model": TicketView, "responses": ACTION_RESPONSES}

    @r.post("/tickets/{ticket_id}/merge", summary="Merge this ticket into another (staff in scope of both; across "
            "clients a lead confirms): it is closed as merged and its messages, files and watchers move", **ok)
    async def merge(ticket_id: str, body: MergeBody, p: CurrentPrincipal, ctx: Ctx,
                    key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: MergeBody, cid: str) -> Message:
            target = await load_visible(ctx, p, body.target_id)
            cross = not same_client(_client_id(d), _client_id(target))
            if cross and not body.confirm_cross_client:
                raise ProblemError(409, "Merge across clients", f"ticket #{d.get('number')} and ticket "
                                   f"#{target.get('number')} are not of the same client; a team lead may merge them "
                                   "with confirm_cross_client", type="urn:frontline:command-rejected",
                                   code="cross_client")
            if cross and not p.is_lead:
                raise forbidden("only a team lead or an administrator may confirm merging tickets of different "
                                "clients")
            return tickets.MergeTicket(target_id=body.target_id, merged_by=p.user_id, reason=body.reason,
                                       cross_client_confirmed_by=p.user_id if cross else None)
        return await run_action(ctx, p, ticket_id, body, key, "merge", b)

    @r.post("/tickets/{ticket_id}/split", summary="Split client messages off into a new ticket (same client and "
            "line, linked both ways; the answer is this ticket, its `split_into` names the new one)", **ok)
    async def split(ticket_id: str, body: SplitBody, p: CurrentPrincipal, ctx: Ctx,
                    key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: SplitBody, cid: str) -> Message:
            return tickets.SplitTicket(new_ticket_id=derived_id(cid, "split"), message_ids=body.message_ids,
                                       subject=body.subject, split_by=p.user_id)
        return await run_action(ctx, p, ticket_id, body, key, "split", b)

    return r
