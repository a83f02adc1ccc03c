"""The portal's onboarding guide (administrators write it in the console, clients read it), its feedback form, and
accepting an invitation to the portal. Accepting works like the sign-in link: the link's page only shows a button
and redeeming is a POST with the double-submit form token, so neither a mail scanner nor another site spends it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.runtime.problems import ProblemError

from ..gateway import GatewayProblem, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm, CurrentSession
from ..views.kb import field_errors
from .portal import _client
from .portal_sign_in import link_form, spend_link

router = APIRouter()
TOPICS = ("question", "suggestion", "complaint", "praise", "other")


@router.get("/portal/guide", response_class=HTMLResponse)
async def guide(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    found = await api.get("/portal/guide", params={"language": lang_of(request, session)})
    return render(request, session, "kb/guide.html", guide=found)


@router.get("/portal/guide/edit", response_class=HTMLResponse)
async def guide_editor(request: Request, session: CurrentSession, api: UserApi) -> HTMLResponse:
    if session.role != "administrator":
        raise ProblemError(403, "Forbidden", t("kb.admins_only", lang_of(request, session)))
    ru, en = await asyncio.gather(*(api.get("/portal/guide", params={"language": lang}) for lang in ("ru", "en")))
    return render(request, session, "kb/guide_edit.html", values={"ru": ru["markdown"], "en": en["markdown"]},
                  errors={})


@router.post("/portal/guide/edit")
async def save_guide(request: Request, session: CsrfForm, api: UserApi) -> Response:
    if session.role != "administrator":
        raise ProblemError(403, "Forbidden", t("kb.admins_only", lang_of(request, session)))
    form = await request.form()
    values = {lang: str(form.get(lang) or "") for lang in ("ru", "en")}
    try:
        await api.put("/admin/portal/guide", json=values)
    except GatewayProblem as exc:
        if exc.status != 422:
            raise
        return render(request, session, "kb/guide_edit.html", 422, values=values, errors=field_errors(exc.errors))
    return RedirectResponse("/portal/guide?done=saved", status_code=303)


@router.get("/portal/feedback", response_class=HTMLResponse)
async def feedback_page(request: Request, session: CurrentSession) -> HTMLResponse:
    _client(request, session)
    return render(request, session, "kb/feedback.html", values={}, errors={}, topics=TOPICS,
                  sent=bool(request.query_params.get("sent")))


@router.post("/portal/feedback", response_class=HTMLResponse)
async def send_feedback(request: Request, session: CsrfForm, api: UserApi) -> Response:
    _client(request, session)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors = {} if values.get("text") else {"text": "portal.field.required"}
    body = {"topic": values.get("topic") or "other", "text": values.get("text", "")[:5000],
            "rating": int(values["rating"]) if values.get("rating", "").isdigit() else None}
    if not errors:
        try:
            await api.post("/portal/feedback", json=body)
        except GatewayProblem as exc:
            if exc.status not in (422, 429):
                raise
            errors = field_errors(exc.errors) or {"text": exc.detail or exc.title}
        else:
            return RedirectResponse("/portal/feedback?sent=1", status_code=303)
    return render(request, session, "kb/feedback.html", 422 if "text" in errors else 429, values=values,
                  errors=errors, topics=TOPICS, sent=False)


@router.get("/portal/invitation", response_class=HTMLResponse)
async def invitation_page(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return link_form(request, token, "kb/invitation.html", "kb.invitation")


@router.post("/portal/invitation", response_class=HTMLResponse)
async def accept(request: Request, token: Annotated[str, Form(max_length=200)],
                 form_token: Annotated[str, Form(max_length=100)]) -> Response:
    return await spend_link(request, token, form_token, "kb/invitation.html", "kb.invitation",
                            "/portal/invitations/accept", "/portal/guide")
