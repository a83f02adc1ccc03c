"""Agents' actions: each one a command to the ledger, answered with the ticket it produced.

The call waits up to ``action_wait_seconds`` for the ledger's event (matched by causation id):
the new ticket on success, 409 with the ledger's reason on refusal, 202 with the command id
if the ledger is slow. ``Idempotency-Key`` makes a retried call the same command.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from shared.contracts.envelope import Message
from shared.contracts.schemas import tickets
from shared.directory.line_chain import EscalationRefused, escalation_target
from shared.runtime.ids import derived_id
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import LEADS, STAFF, Principal
from ...access.scope import may_act_for, visible
from ...ledger.commands import Outcome, command_id
from ..deps import Context, Ctx, CurrentPrincipal, forbidden, require
from ..models import (
    Accepted,
    BulkBody,
    BulkItem,
    BulkResult,
    CallbackBody,
    ClassifyBody,
    EscalateBody,
    LinkClientBody,
    MessageBody,
    ReasonBody,
    ReassignBody,
    ResolveBody,
    SubTicketBody,
    TicketView,
)
from .attachments import sent_files
from .client_link import directory_client, link_command
from .tickets import load_visible, view

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "The ledger has not answered yet; the command is queued"},
    **problem_responses(401, 403, 404, 409, 422),
}
Builder = Callable[[Principal, dict[str, Any], Any, str], Awaitable[Message]]


async def respond(ctx: Context, p: Principal, outcome: Outcome) -> Any:
    if outcome.state == "rejected":
        raise ProblemError(409, "Command rejected", outcome.reason, type="urn:frontline:command-rejected",
                           code=outcome.code, command_id=outcome.command_id)
    if outcome.state == "pending":
        return JSONResponse(Accepted(command_id=outcome.command_id, ticket_id=outcome.ticket_id).model_dump(),
                            status_code=202)
    # the hub read the ticket after the ledger published its answer; a no-op's answer (no event) reads it here
    doc = outcome.ticket or await ctx.reads.ticket(outcome.ticket_id)
    if doc is None:  # pragma: no cover - the ledger saves before it publishes
        raise ProblemError(404, "Not Found", f"no ticket {outcome.ticket_id}")
    return view(doc, p)


async def run_action(ctx: Context, p: Principal, ticket_id: str, body: Any, key: str | None, name: str,
                     build: Builder, roles: frozenset[Any] = STAFF) -> Any:
    require(p, roles, name)
    doc = await load_visible(ctx, p, ticket_id)
    cmd_id = command_id(p, key, ticket_id, name)
    msg = await build(p, doc, body, cmd_id)
    return await respond(ctx, p, await ctx.commander.send(p, ticket_id, msg, cmd_id))


async def escalate_to(ctx: Context, current: str | None, requested: str | None) -> str:
    """The line the lines directory's chain allows (``shared.directory.line_chain``), else a 409 with the reason."""
    try:
        return escalation_target({ln.id: ln for ln in await ctx.reads.all_lines()}, current, requested)
    except EscalationRefused as exc:
        raise ProblemError(409, "Escalation refused", exc.reason, type="urn:frontline:command-rejected",
                           code=exc.code) from None


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/tickets", tags=["actions"])
    ok: dict[str, Any] = {"response_model": TicketView, "responses": ACTION_RESPONSES}

    @r.post("/{ticket_id}/claim", summary="Claim a ticket offered to you (first claim wins)", **ok)
    async def claim(ticket_id: str, p: CurrentPrincipal, ctx: Ctx, key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: Any, cid: str) -> Message:
            return tickets.ClaimTicket(agent_id=p.user_id)
        return await run_action(ctx, p, ticket_id, None, key, "claim", b)

    @r.post("/{ticket_id}/start", summary="Take into work", **ok)
    async def start(ticket_id: str, p: CurrentPrincipal, ctx: Ctx, key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: Any, cid: str) -> Message:
            return tickets.StartWork(agent_id=p.user_id)
        return await run_action(ctx, p, ticket_id, None, key, "start", b)

    @r.post("/{ticket_id}/reply", summary="Reply to the client (with files you uploaded to the ticket)", **ok)
    async def reply(ticket_id: str, body: MessageBody, p: CurrentPrincipal, ctx: Ctx,
                    key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: MessageBody, cid: str) -> Message:
            files = await sent_files(ctx, p, ticket_id, body.attachment_ids)
            return tickets.ReplyToClient(agent_id=p.user_id, text=body.text, attachments=files)
        return await run_action(ctx, p, ticket_id, body, key, "reply", b)

    @r.post("/{ticket_id}/notes", summary="Internal note (never shown to the client, nor are its files)", **ok)
    async def note(ticket_id: str, body: MessageBody, p: CurrentPrincipal, ctx: Ctx,
                   key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: MessageBody, cid: str) -> Message:
            files = await sent_files(ctx, p, ticket_id, body.attachment_ids)
            return tickets.AddNote(author_id=p.user_id, text=body.text, attachments=files)
        return await run_action(ctx, p, ticket_id, body, key, "note", b)

    @r.post("/{ticket_id}/hold", summary="Put on hold: waiting for the customer", **ok)
    async def hold(ticket_id: str, body: ReasonBody, p: CurrentPrincipal, ctx: Ctx, key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ReasonBody, cid: str) -> Message:
            return tickets.PutOnHold(reason=body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "hold", b)

    @r.post("/{ticket_id}/resume", summary="Resume work after waiting for the customer", **ok)
    async def resume(ticket_id: str, body: ReasonBody, p: CurrentPrincipal, ctx: Ctx,
                     key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ReasonBody, cid: str) -> Message:
            return tickets.ResumeWork(reason=body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "resume", b)

    @r.post("/{ticket_id}/classification", summary="Change topic/type/product, ticket type, urgency", **ok)
    async def classify(ticket_id: str, body: ClassifyBody, p: CurrentPrincipal, ctx: Ctx,
                       key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ClassifyBody, cid: str) -> Message:
            return tickets.ClassifyTicket(classification=body.classification, ticket_type=body.ticket_type,
                                          urgency=body.urgency, priority=body.priority)
        return await run_action(ctx, p, ticket_id, body, key, "classify", b)

    @r.post("/{ticket_id}/escalate", summary="Hand over to the line this one escalates to (409 past the last)",
            **ok)
    async def escalate(ticket_id: str, body: EscalateBody, p: CurrentPrincipal, ctx: Ctx,
                       key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: EscalateBody, cid: str) -> Message:
            to_line = await escalate_to(ctx, d.get("line"), body.to_line)
            return tickets.EscalateLine(to_line=to_line, handed_by=p.user_id, reason=body.reason,
                                        group_id=body.group_id)
        return await run_action(ctx, p, ticket_id, body, key, "escalate", b)

    @r.post("/{ticket_id}/subtickets", summary="Open a development sub-ticket (see the parent's `children`)", **ok)
    async def sub_ticket(ticket_id: str, body: SubTicketBody, p: CurrentPrincipal, ctx: Ctx,
                         key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: SubTicketBody, cid: str) -> Message:
            return tickets.OpenSubTicket(child_id=f"{ticket_id}-dev-{derived_id(cid, 'child')[:8]}",
                                         opened_by=p.user_id, summary=body.summary, group_id=body.group_id)
        return await run_action(ctx, p, ticket_id, body, key, "subticket", b)

    @r.post("/{ticket_id}/reassign", summary="Leads: give the ticket to another agent of their team", **ok)
    async def reassign(ticket_id: str, body: ReassignBody, p: CurrentPrincipal, ctx: Ctx,
                       key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ReassignBody, cid: str) -> Message:
            if not may_act_for(p, body.agent_id):
                raise forbidden(f"{body.agent_id} is not an agent of your teams")
            return tickets.AssignTicket(agent_id=body.agent_id, mode="reassign", reason=body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "reassign", b, LEADS)

    @r.post("/{ticket_id}/resolve", summary="Resolve: both fields are required (409 if blank)", **ok)
    async def resolve(ticket_id: str, body: ResolveBody, p: CurrentPrincipal, ctx: Ctx,
                      key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ResolveBody, cid: str) -> Message:
            return tickets.ResolveTicket(agent_id=p.user_id, problem=body.problem, solution=body.solution)
        return await run_action(ctx, p, ticket_id, body, key, "resolve", b)

    @r.post("/{ticket_id}/reopen", summary="Reopen within the allowed window", **ok)
    async def reopen(ticket_id: str, body: ReasonBody, p: CurrentPrincipal, ctx: Ctx,
                     key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ReasonBody, cid: str) -> Message:
            return tickets.ReopenTicket(reason=body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "reopen", b)

    @r.post("/{ticket_id}/close", summary="Close a resolved or completed ticket (a parent with open development "
            "sub-tickets needs a reason: 409 without one)", **ok)
    async def close(ticket_id: str, body: ReasonBody, p: CurrentPrincipal, ctx: Ctx,
                    key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: ReasonBody, cid: str) -> Message:
            return tickets.CloseTicket(reason=body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "close", b)

    @r.post("/{ticket_id}/link-client", summary="Link an unidentified sender's ticket to a client (422: no such "
            "client; 409: already identified, unless a lead re-links it with a reason)", **ok)
    async def link_client(ticket_id: str, body: LinkClientBody, p: CurrentPrincipal, ctx: Ctx,
                          key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: LinkClientBody, cid: str) -> Message:
            return link_command(p, d, await directory_client(ctx, body.client), body.reason)
        return await run_action(ctx, p, ticket_id, body, key, "link", b)

    @r.post("/{ticket_id}/callbacks", summary="Log a call-back attempt (answered or not, with a comment)", **ok)
    async def callback(ticket_id: str, body: CallbackBody, p: CurrentPrincipal, ctx: Ctx,
                       key: IdempotencyKey = None) -> Any:
        async def b(p: Principal, d: dict[str, Any], body: CallbackBody, cid: str) -> Message:
            return tickets.LogCallback(agent_id=p.user_id, answered=body.answered, comment=body.comment,
                                       phone=body.phone)
        return await run_action(ctx, p, ticket_id, body, key, "callback", b)

    @r.post("/bulk/status", response_model=BulkResult, responses=problem_responses(401, 403, 422),
            summary="Change the status of several tickets; one result per ticket")
    async def bulk(body: BulkBody, p: CurrentPrincipal, ctx: Ctx, key: IdempotencyKey = None) -> dict[str, Any]:
        require(p, STAFF, "bulk status change")
        if len(body.ticket_ids) > ctx.settings.bulk_max_tickets:
            raise ProblemError(422, "Too many tickets", f"at most {ctx.settings.bulk_max_tickets} per call")
        results: dict[str, BulkItem] = {}
        items: list[tuple[str, Message, str]] = []
        for tid in dict.fromkeys(body.ticket_ids):
            doc = await ctx.reads.ticket(tid)
            if doc is None or not visible(p, doc):
                results[tid] = BulkItem(ticket_id=tid, outcome="not_found")
                continue
            items.append((tid, _bulk_command(p, body), command_id(p, key, tid, "bulk", body.action)))
        for o in await ctx.commander.send_many(p, items) if items else []:
            item = BulkItem(ticket_id=o.ticket_id, outcome=o.state, command_id=o.command_id,  # type: ignore[arg-type]
                            reason=o.reason, code=o.code)
            if o.state == "done":
                doc = o.ticket or await ctx.reads.ticket(o.ticket_id)
                item.status = doc["status"] if doc else None
            results[o.ticket_id] = item
        return {"results": [results[tid] for tid in dict.fromkeys(body.ticket_ids)]}

    return r


def _bulk_command(p: Principal, body: BulkBody) -> Message:
    match body.action:
        case "start":
            return tickets.StartWork(agent_id=p.user_id)
        case "hold":
            return tickets.PutOnHold(reason=body.reason)
        case "resume":
            return tickets.ResumeWork(reason=body.reason)
        case "resolve":
            return tickets.ResolveTicket(agent_id=p.user_id, problem=body.problem, solution=body.solution)
        case "reopen":
            return tickets.ReopenTicket(reason=body.reason)
        case "close":
            return tickets.CloseTicket(reason=body.reason)
    raise ValueError(body.action)  # pragma: no cover
