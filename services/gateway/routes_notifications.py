"""People's in-app notification feed and the notification templates' previews.

The feed is notify's collection (``notify_inbox``): the gateway reads the caller's own items and,
as the door people use, sets the read flag on them, the one field notify never changes after
writing an item. Previews render notify's templates (pure code) with what administrators saved in
the ``templates`` directory, or with a draft they are trying before saving it.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field
from pymongo import DESCENDING

from services.notify.store import INBOX
from services.notify.templates import (
    LANGUAGES,
    PreviewIn,
    PreviewOut,
    draft_override,
    preview_out,
    template_names,
)
from shared.directory import DirectoryStore
from shared.directory.notify import TEMPLATES, TemplateOverride, template_key
from shared.runtime.problems import ProblemError, problem_responses

from .deps import Ctx, CurrentPrincipal, require
from .principal import LEADS, STAFF, UserRole

ADMIN = frozenset({UserRole.administrator})
TemplateName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class Notification(BaseModel):
    id: str
    ticket_id: str | None = None
    template: str
    language: str
    subject: str
    text: str
    reason: str | None = Field(None, description="Why you got it: assignee, team_lead, escalation, …")
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[Notification]


class TemplateInfo(BaseModel):
    name: str
    overridden: list[str] = Field(description="Languages whose wording administrators changed")


class TemplateList(BaseModel):
    items: list[TemplateInfo]
    languages: list[str]


async def _override(ctx: Ctx, name: str, language: str) -> TemplateOverride | None:
    return await DirectoryStore(ctx.reads.db, TEMPLATES).get(template_key(name, language))


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.get("/me/notifications", response_model=NotificationPage, tags=["people"],
           responses=problem_responses(401, 403), summary="My in-app notifications, newest first")
    async def my_notifications(p: CurrentPrincipal, ctx: Ctx, unread: bool = False,
                               limit: int = Query(50, ge=1, le=max_page)) -> NotificationPage:
        require(p, STAFF, "the notification feed")
        query: dict[str, object] = {"user_id": p.user_id} | ({"read": False} if unread else {})
        cursor = ctx.reads.db[INBOX].find(query).sort("created_at", DESCENDING).limit(limit)
        return NotificationPage(items=[Notification(id=d["_id"], **{k: v for k, v in d.items() if k != "_id"})
                                       async for d in cursor])

    @r.post("/me/notifications/{item_id}/read", status_code=204, tags=["people"],
            responses=problem_responses(401, 403, 404), summary="Mark one of my notifications read")
    async def mark_read(item_id: Annotated[str, Path(max_length=200)], p: CurrentPrincipal, ctx: Ctx) -> Response:
        require(p, STAFF, "the notification feed")
        res = await ctx.reads.db[INBOX].update_one({"_id": item_id, "user_id": p.user_id},
                                                   {"$set": {"read": True, "read_at": ctx.clock.now()}})
        if res.matched_count != 1:
            raise ProblemError(404, "Not Found", f"you have no notification {item_id}")
        return Response(status_code=204)

    @r.get("/templates", response_model=TemplateList, tags=["templates"], responses=problem_responses(401, 403),
           summary="Notification templates, and which languages administrators reworded")
    async def templates(p: CurrentPrincipal, ctx: Ctx) -> TemplateList:
        require(p, LEADS, "templates")
        saved = {o.id for o in await DirectoryStore(ctx.reads.db, TEMPLATES).list(limit=10_000)}
        return TemplateList(languages=list(LANGUAGES), items=[
            TemplateInfo(name=n, overridden=[lang for lang in LANGUAGES if template_key(n, lang) in saved])
            for n in template_names()])

    @r.get("/templates/{name}/preview", response_model=PreviewOut, tags=["templates"],
           responses=problem_responses(401, 403, 404, 422), summary="A template as it will be sent (sample data)")
    async def preview(name: TemplateName, p: CurrentPrincipal, ctx: Ctx,
                      language: Literal["ru", "en"] = "ru") -> PreviewOut:
        require(p, LEADS, "template previews")
        return preview_out(name, language, None, await _override(ctx, name, language))

    @r.post("/templates/{name}/preview", response_model=PreviewOut, tags=["templates"],
            responses=problem_responses(401, 403, 404, 422),
            summary="Try a template with your own data or an unsaved draft (save it under /directories/templates)")
    async def preview_draft(name: TemplateName, p: CurrentPrincipal, ctx: Ctx,
                            body: PreviewIn = Body(...)) -> PreviewOut:
        require(p, ADMIN, "drafting templates")
        override = (draft_override(name, body.language, body.draft) if body.draft
                    else await _override(ctx, name, body.language))
        return preview_out(name, body.language, body.context, override)

    return r
