"""Reading tickets: one ticket, the scoped list, and the work queues."""

from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from shared.contracts.schemas.common import Channel, TicketStatus
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import STAFF, Principal, UserRole
from ...access.scope import and_all, may_act_for, ticket_scope, visible
from ...queries.counts import count_queues
from ...queries.plan import Unsupported, find_page, row_projection
from ...queries.portal_survey import ticket_survey
from ...queries.queues import (
    DEFAULT_SORT,
    CursorError,
    Queue,
    SortField,
    after_cursor,
    check_sort,
    queue_filter,
    sort_spec,
)
from ...queries.sla_view import sla_view
from ..deps import Context, Ctx, CurrentPrincipal, forbidden
from ..models import ROW_FIELDS, QueueCounts, QueueRowPage, TicketPage, TicketView, json_response

CLIENT_HIDDEN = {"NoteAdded", "CommandRejected", "NotificationRecorded"}
READ_ERRORS = problem_responses(401, 403, 404, 422)
AgentId = Annotated[str | None, Query(description="Leads: another agent of their team (offers, mine)")]
TagFilter = Annotated[str | None, Query(max_length=50, description="Only tickets carrying this tag")]
Window = Annotated[int | None, Query(ge=1, le=60 * 24 * 30, description="time_limit: how far ahead to look")]
View = Annotated[Literal["full", "rows"], Query(description="rows: only what a queue screen's row shows (no history, "
                                                            "flags or conversation ids), read and sent cheaply")]
Cap = Annotated[int, Query(ge=1, le=10_000, description="Count each queue up to this many")]


def view(doc: dict[str, Any], p: Principal, sla: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("_id", "processed_commands")}
    out["id"] = doc["_id"]
    if "history" in out and p.role == UserRole.client:  # internal notes stay internal
        out["history"] = [h for h in out["history"] if h.get("type") not in CLIENT_HIDDEN]
    if sla is not None:
        out["sla"] = sla_view(sla).model_dump()
    return out


async def load_visible(ctx: Context, p: Principal, ticket_id: str, history: bool = False) -> dict[str, Any]:
    """The ticket if this principal may see it; otherwise 404, so existence does not leak across teams."""
    doc = await ctx.reads.ticket(ticket_id, history=history)
    if doc is None or not visible(p, doc):
        raise ProblemError(404, "Not Found", f"no ticket {ticket_id}")
    return doc


async def page(ctx: Context, p: Principal, base: dict[str, Any], queue: Queue | None, sort: SortField | None,
               order: int | None, cursor: str | None, limit: int,
               fields: Collection[str] | None = None) -> dict[str, Any]:
    """One page in the caller's scope; with ``fields``, its tickets carry only those (and ``id``)."""
    field, direction = DEFAULT_SORT[queue] if queue else (SortField.created_at, -1)
    field, direction = sort or field, order or direction
    owner = f"{p.role.value}:{p.user_id}"  # a cursor is good only for the principal it was issued to
    try:
        check_sort(queue, field)
        position = ctx.cursors.decode(cursor, field, direction, owner) if cursor else None
    except CursorError as exc:
        raise ProblemError(400, "Bad cursor or sort", str(exc)) from None
    scope = ticket_scope(p)
    try:  # one index-bounded query per branch of the filter's $or/$in, merged (see plan.py)
        docs = await find_page(ctx.reads.find, [base, scope], field.value, direction, position, limit, fields)
    except Unsupported:
        after = after_cursor(field, direction, *position) if position else {}
        projection = None if fields is None else row_projection(fields, field.value)
        docs = await ctx.reads.find(and_all(base, scope, after), sort_spec(field, direction), limit + 1, projection)
    more = len(docs) > limit
    docs = docs[:limit]
    items = [view(d, p) for d in docs] if fields is None else [{**d, "id": d["_id"]} for d in docs]
    return {"items": items, "limit": limit,
            "next_cursor": ctx.cursors.encode(docs[-1], field, direction, owner) if more and docs else None}


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["tickets"])
    Limit = Annotated[int, Query(ge=1, le=max_page, description="Page size")]
    Order = Annotated[int | None, Query(description="1 ascending, -1 descending", ge=-1, le=1)]

    @r.get("/tickets/{ticket_id}", response_model=TicketView, responses=READ_ERRORS,
           summary="One ticket (in your scope), optionally with its full history")
    async def get_ticket(ticket_id: str, p: CurrentPrincipal, ctx: Ctx, history: bool = False) -> dict[str, Any]:
        doc = await load_visible(ctx, p, ticket_id, history)
        sla = await ctx.reads.sla_clock(ticket_id) if p.role in STAFF else None
        survey = await ticket_survey(ctx.reads.db, ticket_id, ctx.clock.now(), p)
        return {**view(doc, p, sla), "survey": survey.model_dump()}

    @r.get("/tickets", response_model=TicketPage, responses=problem_responses(400, 401, 422),
           summary="Tickets in your scope, newest first by default")
    async def list_tickets(
        p: CurrentPrincipal, ctx: Ctx,
        status: TicketStatus | None = None, line: str | None = None, group_id: str | None = None,
        service_team_id: str | None = None, assignee_id: str | None = None, client_id: str | None = None,
        channel: Channel | None = None, parent_id: str | None = None, tag: TagFilter = None,
        sort: SortField | None = None, order: Order = None, cursor: str | None = None, limit: Limit = 50,
    ) -> dict[str, Any]:
        return await page(ctx, p, _filters(status, line, group_id, service_team_id, assignee_id, client_id, channel,
                                           parent_id, tag), None, sort, order or None, cursor, limit)

    @r.get("/queues/{queue}", response_model=TicketPage | QueueRowPage, tags=["queues"],
           responses=READ_ERRORS | problem_responses(400),
           summary="A work queue: offers, mine, needs_reply, time_limit, overdue, at_risk, long_ignored, lost, "
                   "unidentified, development")
    async def get_queue(
        queue: Queue, p: CurrentPrincipal, ctx: Ctx,
        agent_id: AgentId = None, window_minutes: Window = None,
        status: TicketStatus | None = None, line: str | None = None, group_id: str | None = None,
        service_team_id: str | None = None, assignee_id: str | None = None, client_id: str | None = None,
        channel: Channel | None = None, tag: TagFilter = None,
        sort: SortField | None = None, order: Order = None, cursor: str | None = None, limit: Limit = 50,
        view: View = "full",
    ) -> Response:
        base = and_all(queue_base(ctx, p, agent_id, window_minutes)(queue),
                       _filters(status, line, group_id, service_team_id, assignee_id, client_id, channel, None, tag))
        # Validated once against the view's own model and sent as is: FastAPI would validate the page again
        # against the union, trying the other model first (a third of the time of a 100-row page).
        if view == "rows":
            rows = QueueRowPage.model_validate(await page(ctx, p, base, queue, sort, order or None, cursor, limit,
                                                          ROW_FIELDS))
            return json_response(rows)
        return json_response(TicketPage.model_validate(await page(ctx, p, base, queue, sort, order or None, cursor,
                                                                  limit)))

    @r.get("/queues", response_model=QueueCounts, tags=["queues"], responses=problem_responses(401, 403, 422),
           summary="How many tickets each work queue holds for you (or, for leads, an agent of your teams)")
    async def queue_counts(p: CurrentPrincipal, ctx: Ctx, agent_id: AgentId = None,
                           window_minutes: Window = None, cap: Cap = 99) -> QueueCounts:
        """Each count is the length of the matching `GET /queues/{queue}` without filters (same queue filter,
        same scope), up to `cap`; a queue holding more is listed in `capped`."""
        of = queue_base(ctx, p, agent_id, window_minutes)
        found = await count_queues(ctx.reads.tickets, {q: of(q) for q in Queue}, ticket_scope(p), cap)
        return QueueCounts(agent_id=agent_id or p.user_id, counts={q: min(n, cap) for q, n in found.items()},
                           cap=cap, capped=[q for q in Queue if found[q] > cap])

    return r


def queue_base(ctx: Context, p: Principal, agent_id: str | None,
               window_minutes: int | None) -> Callable[[Queue], dict[str, Any]]:
    """Whose queues a staff member may look at, and each queue's filter for them (pages and counts alike)."""
    if p.role not in STAFF:
        raise forbidden("work queues are for staff")
    me = agent_id or p.user_id
    if not may_act_for(p, me):
        raise forbidden(f"{me} is not an agent of your teams")
    window = timedelta(minutes=window_minutes or ctx.settings.time_limit_window_minutes)
    now = ctx.clock.now()
    return lambda queue: queue_filter(queue, me, now, window)


def _filters(status: TicketStatus | None, line: str | None, group_id: str | None, team: str | None,
             assignee: str | None, client_id: str | None, channel: Channel | None, parent_id: str | None,
             tag: str | None = None) -> dict[str, Any]:
    pairs = {"status": status.value if status else None, "line": line, "group_id": group_id,
             "service_team_id": team, "assignee_id": assignee, "client.client_id": client_id,
             "channel": channel.value if channel else None, "parent_id": parent_id,
             "tags": tag.strip().lower() if tag else None}  # tags are stored lower-case
    return {k: v for k, v in pairs.items() if v is not None}

