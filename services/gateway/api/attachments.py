"""Files on tickets: upload one (staff who may act on the ticket, or its own client), send it with a reply, a note or
a portal message (``attachment_ids``), and download any file the ticket's history names to whoever may see it.

A file is reached only through its ticket's history, so seeing a ticket is the one permission; a client never
reaches a note's file. What is stored is what the bytes prove; what is served is a download that runs nothing
(``file_types.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import Response

from shared.contracts.schemas.common import Attachment
from shared.runtime.problems import ProblemError, problem_responses

from ..access.principal import STAFF, Principal, UserRole
from ..queries.attachments import TicketFiles, named_file
from .deps import Context, Ctx, CurrentPrincipal, forbidden, require
from .file_types import disposition, safe_filename, served_type, sniff
from .tickets import CLIENT_HIDDEN, load_visible

Id = Annotated[str, Path(min_length=1, max_length=200)]
UPLOAD_RESPONSES = problem_responses(401, 403, 404, 413, 415, 422)
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, always as a download (`Content-Disposition: attachment`)",
          "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    **problem_responses(401, 404, 422)}


def files(ctx: Context) -> TicketFiles:
    return TicketFiles(ctx.reads.db)


def uploader(p: Principal) -> str:
    return f"{p.role.value}:{p.user_id}"


async def sent_files(ctx: Context, p: Principal, ticket_id: str, ids: list[str]) -> list[Attachment]:
    """The files a reply, note or portal message names: this caller's uploads for this ticket, else a 422."""
    taken = await files(ctx).take(ids, ticket_id, uploader(p)) if ids else []
    if taken is None:
        raise ProblemError(422, "Unknown attachment", "attachment_ids must name files you uploaded to this ticket "
                           "(POST /api/v1/tickets/{ticket_id}/attachments)")
    return taken


async def _stored(ctx: Context, p: Principal, upload: UploadFile, ticket_id: str | None) -> Attachment:
    limit = ctx.settings.attachment_max_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ProblemError(413, "Attachment too large", f"a file may have at most {limit} bytes", limit=limit)
    kind = sniff(data, upload.content_type)
    if kind is None or kind.allowed_as not in ctx.settings.attachment_types:
        raise ProblemError(415, "File type not accepted", "the file's content is none of: "
                           f"{', '.join(ctx.settings.attachment_types)} (its name and declared type prove nothing)",
                           accepted=list(ctx.settings.attachment_types))
    return await files(ctx).save(data, safe_filename(upload.filename), kind.content_type, ticket_id=ticket_id,
                                 uploader=uploader(p), at=ctx.clock.now())


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["attachments"])

    @r.post("/tickets/{ticket_id}/attachments", response_model=Attachment, status_code=201,
            responses=UPLOAD_RESPONSES, summary="Upload one file to a ticket (staff in scope, or the ticket's client); "
            "send it with a reply, a note or a portal message by its id")
    async def upload(ticket_id: Id, p: CurrentPrincipal, ctx: Ctx, file: Annotated[UploadFile, File()]) -> Attachment:
        require(p, STAFF | {UserRole.client}, "attaching files")
        await load_visible(ctx, p, ticket_id)
        return await _stored(ctx, p, file, ticket_id)

    @r.post("/portal/attachments", response_model=Attachment, status_code=201, tags=["portal"],
            responses=UPLOAD_RESPONSES, summary="Clients: upload one file for a request not opened yet (send it with "
            "POST /portal/tickets; it then belongs to that ticket)")
    async def portal_upload(p: CurrentPrincipal, ctx: Ctx, file: Annotated[UploadFile, File()]) -> Attachment:
        if p.role != UserRole.client or not p.client_id:
            raise forbidden("the portal is for clients (a token with role client and a client_id claim)")
        return await _stored(ctx, p, file, None)

    @r.get("/tickets/{ticket_id}/attachments/{file_id}", response_class=Response, responses=DOWNLOAD_RESPONSES,
           summary="Download a file the ticket's history names (a client: not a note's)")
    async def download(ticket_id: Id, file_id: Id, p: CurrentPrincipal, ctx: Ctx) -> Response:
        doc = await load_visible(ctx, p, ticket_id, history=True)
        hidden = CLIENT_HIDDEN if p.role == UserRole.client else frozenset()
        found = named_file(doc.get("history") or [], file_id, hidden)
        data = await files(ctx).content(ticket_id, file_id) if found else None
        if found is None or data is None:
            raise ProblemError(404, "Not Found", f"no file {file_id} on ticket {ticket_id}")
        return Response(data, media_type=served_type(found.content_type), headers={
            "Content-Disposition": disposition(found.filename), "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"})

    return r
