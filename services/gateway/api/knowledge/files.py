"""Articles' images and attachments through the gateway: administrators upload one for an article (kept by the
knowledge service, which proves its type by the bytes); whoever may read the article downloads it, served like a
ticket's attachment (a download that runs nothing: ``shared/runtime/file_types.py``). The upload path ends in
``/attachments``, so the gateway's body limit for uploads applies to it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from shared.contracts import knowledge_api as k
from shared.runtime.file_types import download_headers, served_type
from shared.runtime.problems import ProblemError, problem_responses

from ..deps import Ctx, CurrentPrincipal, require
from ..tickets.attachments import DOWNLOAD_RESPONSES
from .articles import ARTICLES, WRITERS, Id, api, viewer

FILE_NAME = "X-File-Name"  # how the knowledge service names the file it sends (percent-encoded)


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["knowledge"])

    @r.post(ARTICLES + "/{article_id}/attachments", response_model=k.FileOut, status_code=201,
            responses=problem_responses(401, 403, 404, 413, 415, 422, 502, 503),
            summary="Administrators: an image or file for an article; put its url in the body (![alt](url))")
    async def upload(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx,
                     file: Annotated[UploadFile, File()]) -> k.FileOut:
        require(p, WRITERS, "adding files to articles")
        limit = ctx.settings.attachment_max_bytes
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise ProblemError(413, "File too large", f"a file may have at most {limit} bytes", limit=limit)
        return await api(request).call(k.FileOut, "POST", f"/articles/{article_id}/files", await viewer(ctx, p),
                                       params={"actor": p.user_id, "filename": file.filename,
                                               "declared": file.content_type}, content=data)

    @r.get(k.FILE_URL_PREFIX.removeprefix("/api/v1") + "{file_id}", response_class=Response,
           responses={200: DOWNLOAD_RESPONSES[200], **problem_responses(401, 404, 422, 502, 503)},
           summary="A file of an article you may read (404 otherwise), always as a download")
    async def download(file_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> Response:
        got = await api(request).request("GET", f"/files/{file_id}", await viewer(ctx, p))
        name = unquote(got.headers.get(FILE_NAME, ""))
        return Response(got.content, media_type=served_type(got.headers.get("content-type")),
                        headers=download_headers(name))

    return r
