"""Articles' images and attachments: editors upload one for an article; whoever may read the article reads its files
(one 404 for a file of an article he may not see and for no file at all)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from shared.contracts.knowledge_api import FileOut
from shared.runtime.file_types import download_headers, served_type
from shared.runtime.problems import ProblemError, problem_responses

from ..files import ArticleFiles
from ..library import Hidden, Library
from .common import CurrentViewer, answered, not_found

Id = Annotated[str, Path(min_length=1, max_length=200)]
FILE_NAME = "X-File-Name"  # the cleaned name, percent-encoded: the gateway builds its own download headers from it


def router(lib: Library, files: ArticleFiles) -> APIRouter:
    r = APIRouter()

    @r.post("/articles/{article_id}/files", response_model=FileOut, status_code=201,
            responses=problem_responses(401, 404, 413, 415, 422),
            summary="Editors: store the request body as an image or attachment of the article")
    async def upload(article_id: Id, request: Request, v: CurrentViewer,
                     actor: Annotated[str, Query(min_length=1, max_length=200)],
                     filename: Annotated[str | None, Query(max_length=1000)] = None,
                     declared: Annotated[str | None, Query(max_length=200)] = None) -> FileOut:
        if v.audience != "editor":
            raise not_found(article_id)
        async with answered(article_id):
            await lib.visible(v, article_id)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > files.max_bytes:
                break
        return await files.save(article_id, bytes(data), filename, declared, actor, lib.clock.now())

    @r.get("/files/{file_id}", response_class=Response, responses=problem_responses(401, 404, 422),
           summary="A file of an article the viewer may read, as a download that runs nothing")
    async def download(file_id: Id, v: CurrentViewer) -> Response:
        missing = ProblemError(404, "Not Found", f"no file {file_id}")
        article_id = await files.article_of(file_id)
        if article_id is None:
            raise missing
        try:
            await lib.visible(v, article_id)
        except Hidden:
            raise missing from None  # not the article's 404: that would name the article
        stored = await files.read(file_id)
        if stored is None:
            raise missing
        return Response(stored.data, media_type=served_type(stored.content_type),
                        headers={**download_headers(stored.filename), FILE_NAME: quote(stored.filename, safe="")})

    return r
