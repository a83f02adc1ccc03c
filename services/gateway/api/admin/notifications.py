"""People's in-app notification feed and the notification templates' previews, both through notify's API.

The feed is notify's (``clients/notify.py``): the gateway asks for the caller's own items and marks them read
by the caller's id, never one taken from the request. Previews are rendered by notify with what administrators
saved in the ``templates`` directory, or with a draft they try before saving it.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field

from shared.contracts.language import Language
from shared.contracts.notify_api import InboxItem, PreviewIn, PreviewOut
from shared.directory import DirectoryStore
from shared.directory.notify import TEMPLATES, template_key
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import LEADS, STAFF, UserRole
from ..deps import Ctx, CurrentPrincipal, require

ADMIN = frozenset({UserRole.administrator})
TemplateName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
UPSTREAM = (502, 503)  # notify failing or unreachable


class NotificationPage(BaseModel):
    items: list[InboxItem]


class TemplateInfo(BaseModel):
    name: str
    overridden: list[str] = Field(description="Languages whose wording administrators changed")


class TemplateList(BaseModel):
    items: list[TemplateInfo]
    languages: list[str]


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.get("/me/notifications", response_model=NotificationPage, tags=["people"],
           responses=problem_responses(401, 403, *UPSTREAM), summary="My in-app notifications, newest first")
    async def my_notifications(p: CurrentPrincipal, ctx: Ctx, unread: bool = False,
                               limit: int = Query(50, ge=1, le=max_page)) -> NotificationPage:
        require(p, STAFF, "the notification feed")
        return NotificationPage(items=await ctx.notify.inbox(p.user_id, unread, limit))

    @r.post("/me/notifications/{item_id}/read", status_code=204, tags=["people"],
            responses=problem_responses(401, 403, 404, *UPSTREAM), summary="Mark one of my notifications read")
    async def mark_read(item_id: Annotated[str, Path(max_length=200)], p: CurrentPrincipal, ctx: Ctx) -> Response:
        require(p, STAFF, "the notification feed")
        if not await ctx.notify.mark_read(p.user_id, item_id):
            raise ProblemError(404, "Not Found", f"you have no notification {item_id}")
        return Response(status_code=204)

    @r.get("/templates", response_model=TemplateList, tags=["templates"],
           responses=problem_responses(401, 403, *UPSTREAM),
           summary="Notification templates, and which languages administrators reworded")
    async def templates(p: CurrentPrincipal, ctx: Ctx) -> TemplateList:
        require(p, LEADS, "templates")
        shipped = await ctx.notify.template_names()
        saved = {o.id for o in await DirectoryStore(ctx.reads.db, TEMPLATES).list(limit=10_000)}
        return TemplateList(languages=shipped.languages, items=[
            TemplateInfo(name=n, overridden=[lang for lang in shipped.languages if template_key(n, lang) in saved])
            for n in shipped.items])

    @r.get("/templates/{name}/preview", response_model=PreviewOut, tags=["templates"],
           responses=problem_responses(401, 403, 404, 422, *UPSTREAM),
           summary="A template as it will be sent (sample data)")
    async def preview(name: TemplateName, p: CurrentPrincipal, ctx: Ctx, language: Language = "ru") -> PreviewOut:
        require(p, LEADS, "template previews")
        return await ctx.notify.saved_preview(name, language)

    @r.post("/templates/{name}/preview", response_model=PreviewOut, tags=["templates"],
            responses=problem_responses(401, 403, 404, 422, *UPSTREAM),
            summary="Try a template with your own data or an unsaved draft (save it under /directories/templates)")
    async def preview_draft(name: TemplateName, p: CurrentPrincipal, ctx: Ctx,
                            body: PreviewIn = Body(...)) -> PreviewOut:
        require(p, ADMIN, "drafting templates")
        return await ctx.notify.preview(name, body)

    return r
