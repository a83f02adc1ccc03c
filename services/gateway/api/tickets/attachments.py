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

from shared.contracts.envelope import envelope_for
from shared.contracts.schemas.common import Attachment
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clamd import scanner
from shared.runtime.file_scan import INFECTED, PENDING, quarantine_flag, scan_status, signature_of
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import STAFF, Principal, UserRole
from ...queries.attachments import TicketFiles, named_file
from ..deps import Context, Ctx, CurrentPrincipal, forbidden, require
from .file_types import download_headers, safe_filename, served_type, sniff
from .tickets import CLIENT_HIDDEN, load_visible

Id = Annotated[str, Path(min_length=1, max_length=200)]
UPLOAD_RESPONSES = problem_responses(401, 403, 404, 413, 415, 422, 423)
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, always as a download (`Content-Disposition: attachment`)",
          "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    **problem_responses(401, 404, 409, 422, 423)}
SCAN_HEADER = "X-Scan-Status"  # on an upload: clean, or pending while the scanner has not answered


def files(ctx: Context) -> TicketFiles:
    return TicketFiles(ctx.reads.db, scanner(ctx.settings), ctx.settings.attachment_max_bytes)


def being_scanned(file_id: str) -> ProblemError:
    return ProblemError(409, "Attachment being scanned", f"file {file_id} has not been scanned for malware yet; "
                        "try again shortly", file_id=file_id)


def quarantined(file_id: str) -> ProblemError:
    return ProblemError(423, "Attachment quarantined", f"file {file_id} contains malware: it is kept for the "
                        "operators and never served or sent", file_id=file_id)


async def refuse_unclean(ctx: Context, entry: dict[str, Any]) -> None:
    """A pending file is a 409, an infected one a 423, once its ticket's history says it is quarantined."""
    status = scan_status(entry.get("metadata"))
    if status == PENDING:
        raise being_scanned(entry["_id"])
    if status == INFECTED:
        await flag_quarantined(ctx, entry)
        raise quarantined(entry["_id"])


async def flag_quarantined(ctx: Context, entry: dict[str, Any]) -> None:
    """Record an infected upload in its ticket's history (once: the command id derives from the file)."""
    meta = entry.get("metadata") or {}
    ticket_id = meta.get("ticket_id")
    if not ticket_id or (meta.get("scan") or {}).get("flagged"):
        return
    cmd, cmd_id = quarantine_flag(entry["_id"], entry.get("filename") or "attachment", signature_of(meta))
    await ctx.commander.bus.publish(TICKETS_COMMANDS, envelope_for(cmd, ticket_id, occurred_at=ctx.clock.now(),
                                                                   actor="gateway", id=cmd_id))
    await files(ctx).scans.flagged(entry["_id"])


def uploader(p: Principal) -> str:
    return f"{p.role.value}:{p.user_id}"


async def sent_files(ctx: Context, p: Principal, ticket_id: str, ids: list[str]) -> list[Attachment]:
    """The files a reply, note or portal message names: this caller's uploads for this ticket, else a 422."""
    taken = await files(ctx).take(ids, ticket_id, uploader(p)) if ids else []
    if taken is None:
        raise ProblemError(422, "Unknown attachment", "attachment_ids must name files you uploaded to this ticket "
                           "(POST /api/v1/tickets/{ticket_id}/attachments)")
    for entry in await files(ctx).scanned([a.id for a in taken], ctx.clock.now()):
        await refuse_unclean(ctx, entry)
    return taken


async def _stored(ctx: Context, p: Principal, upload: UploadFile, ticket_id: str | None,
                  response: Response) -> Attachment:
    limit = ctx.settings.attachment_max_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ProblemError(413, "Attachment too large", f"a file may have at most {limit} bytes", limit=limit)
    kind = sniff(data, upload.content_type)
    if kind is None or kind.allowed_as not in ctx.settings.attachment_types:
        raise ProblemError(415, "File type not accepted", "the file's content is none of: "
                           f"{', '.join(ctx.settings.attachment_types)} (its name and declared type prove nothing)",
                           accepted=list(ctx.settings.attachment_types))
    saved, entry = await files(ctx).save(data, safe_filename(upload.filename), kind.content_type,
                                         ticket_id=ticket_id, uploader=uploader(p), at=ctx.clock.now())
    status = scan_status(entry.get("metadata"))
    if status == INFECTED:
        await refuse_unclean(ctx, entry)
    response.headers[SCAN_HEADER] = status
    return saved


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["attachments"])

    @r.post("/tickets/{ticket_id}/attachments", response_model=Attachment, status_code=201,
            responses=UPLOAD_RESPONSES, summary="Upload one file to a ticket (staff in scope, or the ticket's client); "
            "send it with a reply, a note or a portal message by its id")
    async def upload(ticket_id: Id, p: CurrentPrincipal, ctx: Ctx, file: Annotated[UploadFile, File()],
                     response: Response) -> Attachment:
        require(p, STAFF | {UserRole.client}, "attaching files")
        await load_visible(ctx, p, ticket_id)
        return await _stored(ctx, p, file, ticket_id, response)

    @r.post("/portal/attachments", response_model=Attachment, status_code=201, tags=["portal"],
            responses=UPLOAD_RESPONSES, summary="Clients: upload one file for a request not opened yet (send it with "
            "POST /portal/tickets; it then belongs to that ticket)")
    async def portal_upload(p: CurrentPrincipal, ctx: Ctx, file: Annotated[UploadFile, File()],
                            response: Response) -> Attachment:
        if p.role != UserRole.client or not p.client_id:
            raise forbidden("the portal is for clients (a token with role client and a client_id claim)")
        return await _stored(ctx, p, file, None, response)

    @r.get("/tickets/{ticket_id}/attachments/{file_id}", response_class=Response, responses=DOWNLOAD_RESPONSES,
           summary="Download a file the ticket's history names (a client: not a note's)")
    async def download(ticket_id: Id, file_id: Id, p: CurrentPrincipal, ctx: Ctx) -> Response:
        doc = await load_visible(ctx, p, ticket_id, history=True)
        hidden = CLIENT_HIDDEN if p.role == UserRole.client else frozenset()
        found = named_file(doc.get("history") or [], file_id, hidden)
        moved = [*(doc.get("merged_from") or []), *([doc["split_from"]] if doc.get("split_from") else [])]
        state = await files(ctx).state(ticket_id, file_id, ctx.clock.now(), moved) if found else None
        if state is not None:
            await refuse_unclean(ctx, state[1])
        data = await files(ctx).content(ticket_id, file_id, moved) if state else None
        if found is None or data is None:
            raise ProblemError(404, "Not Found", f"no file {file_id} on ticket {ticket_id}")
        return Response(data, media_type=served_type(found.content_type), headers=download_headers(found.filename))

    return r
