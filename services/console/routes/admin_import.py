"""Administrators' import of clients, contracts and contacts: the file goes to the gateway's import (the same one
``frontline import contacts`` runs), and its report comes back row by row."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from ..gateway import GatewayProblem, UserApi
from ..i18n import t
from ..pages import lang_of, render
from ..session import CsrfForm
from ..uploads import FORM_BYTES
from .admin import Admin

router = APIRouter(prefix="/admin/import")


@router.get("", response_class=HTMLResponse)
async def import_page(request: Request, session: Admin) -> HTMLResponse:
    return render(request, session, "admin/import.html", report=None)


@router.post("", response_class=HTMLResponse)
async def import_file(request: Request, session: CsrfForm, _: Admin, api: UserApi) -> HTMLResponse:
    form = await request.form()
    upload = form.get("file")
    lang = lang_of(request, session)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, session, "admin/import.html", status_code=422, report=None,
                      error=t("admin.import_no_file", lang))
    data = await upload.read(FORM_BYTES + 1)
    try:
        report = await api.post("/admin/import/contacts", files={
            "file": (upload.filename, data, upload.content_type or "application/octet-stream")})
    except GatewayProblem as exc:
        if exc.status not in (413, 422):
            raise
        return render(request, session, "admin/import.html", status_code=exc.status, report=None,
                      error=t("admin.import_refused", lang, detail=exc.detail or exc.title))
    return render(request, session, "admin/import.html", report=report)
