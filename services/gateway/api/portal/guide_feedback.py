"""The portal's onboarding guide (administrators write Markdown in ru and en; it is shown rendered by the one safe
renderer) and its feedback form (clients write, rate-limited per client; leads read their teams' clients' entries,
administrators all). Feedback text is stored and returned as the client wrote it: it is data, never markup."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.contracts.language import Language
from shared.contracts.schemas.common import Strict
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS
from shared.runtime.clock import as_utc
from shared.runtime.ids import new_id
from shared.runtime.markdown import render_markdown
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import LEADS, Principal, UserRole
from ...queries.portal_store import PortalStore
from ..deps import Ctx, CurrentPrincipal, forbidden, require

MAX_GUIDE = 50_000  # characters per language: a guide, not a manual
FEEDBACK_PER_HOUR = 10  # entries one client organisation may send per hour
MAX_SERVED_CLIENTS = 10_000  # clients one lead's teams serve, read per feedback page
CURSOR = re.compile(r"^(\d{1,15})\.([A-Za-z0-9-]{1,100})$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Topic = Literal["question", "suggestion", "complaint", "praise", "other"]


class GuideBody(Strict):
    model_config = {"json_schema_extra": {"examples": [{"ru": "# Добро пожаловать\n\nОткройте заявку…",
                                                        "en": "# Welcome\n\nOpen a request…"}]}}

    ru: str = Field("", max_length=MAX_GUIDE, description="Markdown")
    en: str = Field("", max_length=MAX_GUIDE, description="Markdown")


class GuideView(BaseModel):
    language: Language
    markdown: str = Field(description="The source as the administrator wrote it")
    html: str = Field(description="The Markdown rendered to safe HTML (an allow-list of elements; no script)")
    updated_at: datetime | None = None


class FeedbackBody(Strict):
    model_config = {"json_schema_extra": {"examples": [{"topic": "suggestion", "text": "Please add SMS alerts",
                                                        "rating": 4}]}}

    topic: Topic
    text: str = Field(min_length=1, max_length=5000)
    rating: int | None = Field(None, ge=1, le=5)


class FeedbackEntry(BaseModel):
    id: str
    client_id: str
    client_name: str | None = None
    contact_id: str
    name: str | None = None
    topic: Topic
    text: str = Field(description="As the client wrote it: plain text, never to be rendered as HTML")
    rating: int | None = None
    at: datetime


class FeedbackPage(BaseModel):
    items: list[FeedbackEntry]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for older entries; null on the last page")


def _guide(doc: dict[str, Any] | None, language: Language) -> GuideView:
    texts = (doc or {}).get("markdown", {})
    text = texts.get(language) or ""
    return GuideView(language=language, markdown=text, html=render_markdown(text) if text else "",
                     updated_at=(doc or {}).get("updated_at"))


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["portal"])

    @r.get("/portal/guide", response_model=GuideView, responses=problem_responses(401, 422),
           summary="The onboarding guide for portal users, rendered (empty until an administrator writes it)")
    async def guide(p: CurrentPrincipal, ctx: Ctx, language: Language = "ru") -> GuideView:
        return _guide(await PortalStore(ctx.reads.db).guide(), language)

    @r.put("/admin/portal/guide", response_model=list[GuideView], tags=["admin"],
           responses=problem_responses(401, 403, 422), summary="Administrators: write the portal's onboarding guide")
    async def write_guide(body: GuideBody, p: CurrentPrincipal, ctx: Ctx) -> list[GuideView]:
        require(p, {UserRole.administrator}, "writing the portal guide")
        doc = await PortalStore(ctx.reads.db).save_guide({"ru": body.ru, "en": body.en}, p.user_id, ctx.clock.now())
        return [_guide(doc, "ru"), _guide(doc, "en")]

    @r.post("/portal/feedback", status_code=201, response_model=FeedbackEntry, responses=problem_responses(
            401, 403, 422, 429), summary="Clients: send the support team feedback (rate-limited per client)")
    async def send_feedback(body: FeedbackBody, p: CurrentPrincipal, ctx: Ctx) -> FeedbackEntry:
        client_id = _client(p)
        store, now = PortalStore(ctx.reads.db), ctx.clock.now()
        recent = await store.feedback_since(client_id, now - timedelta(hours=1), FEEDBACK_PER_HOUR)
        if len(recent) >= FEEDBACK_PER_HOUR:
            wait = max(1, int((as_utc(min(recent)) + timedelta(hours=1) - now).total_seconds()) + 1)
            raise ProblemError(429, "Too Many Requests", f"your organisation has sent {FEEDBACK_PER_HOUR} feedback "
                               f"entries this hour; try again in {wait} s", headers={"Retry-After": str(wait)})
        client = await DirectoryStore(ctx.reads.db, CLIENTS).get(client_id)
        entry = FeedbackEntry(id=new_id(), client_id=client_id, client_name=client.name if client else None,
                              contact_id=p.user_id, name=p.name, topic=body.topic, text=body.text,
                              rating=body.rating, at=now)
        await store.add_feedback({"_id": entry.id, **entry.model_dump(exclude={"id"}),
                                  "service_team_id": client.service_team_id if client else None})
        return entry

    @r.get("/portal/feedback", response_model=FeedbackPage, responses=problem_responses(401, 403, 422),
           summary="Leads (their teams' clients) and administrators (all): the portal's feedback, newest first")
    async def list_feedback(p: CurrentPrincipal, ctx: Ctx, cursor: Annotated[str | None, Query(max_length=120)] = None,
                            limit: Annotated[int, Query(ge=1, le=max_page)] = 50) -> FeedbackPage:
        require(p, LEADS, "reading the portal's feedback")
        after = _after(cursor)
        clients = None
        if not p.is_admin:
            served = await DirectoryStore(ctx.reads.db, CLIENTS).list({"service_team_id": {"$in": p.team_ids}},
                                                                     limit=MAX_SERVED_CLIENTS)
            clients = [c.id for c in served]
        docs = await PortalStore(ctx.reads.db).list_feedback(clients, after, limit + 1)
        more, docs = len(docs) > limit, docs[:limit]
        items = [FeedbackEntry(id=d["_id"], **{k: v for k, v in d.items() if k in FeedbackEntry.model_fields})
                 for d in docs]
        last = docs[-1] if more and docs else None
        return FeedbackPage(items=items, next_cursor=(
            f"{(as_utc(last['at']) - EPOCH) // timedelta(milliseconds=1)}.{last['_id']}" if last else None))

    return r


def _client(p: Principal) -> str:
    if p.role != UserRole.client or not p.client_id:
        raise forbidden("the portal's feedback form is for clients (a token with role client and a client_id claim)")
    return p.client_id


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    found = CURSOR.match(cursor)
    if found is None:
        raise ProblemError(422, "Unprocessable Content", "cursor is not one this list gave")
    return EPOCH + timedelta(milliseconds=int(found.group(1))), found.group(2)
