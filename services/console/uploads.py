"""Files attached to a reply or a note: each uploaded to the gateway, which judges them (size, kind by the bytes),
then sent by id. And how large a body the console accepts at all (``BodyLimit`` in app.py): without a bound a
signed-in user could make the console spool any amount to disk before a form is even read."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile

from .gateway import Api, GatewayProblem

MAX_FILES = 20  # the gateway's attachments per message (shared.contracts.schemas.tickets.MAX_ATTACHMENTS)
FILE_BYTES = 10_000_000  # the gateway's default attachment_max_bytes; a larger file it would refuse anyway
FORM_BYTES = 1_000_000  # any other form: texts of up to 100,000 characters, some fields


def body_limit(path: str) -> int:
    """Largest request body the console takes on ``path``: a reply, a note or a client's request or message may
    carry files."""
    if path.startswith("/tickets/") and path.rstrip("/").endswith(("/reply", "/note")) or path == "/portal/new" \
            or path.startswith("/portal/tickets/") and path.rstrip("/").endswith("/messages"):
        return MAX_FILES * FILE_BYTES + FORM_BYTES
    return FORM_BYTES


def chosen_files(values: list[Any]) -> list[UploadFile]:
    """The files the form really carries (a file input left empty sends one nameless, empty part)."""
    return [v for v in values if isinstance(v, UploadFile) and v.filename][:MAX_FILES + 1]


async def upload(api: Api, path: str, files: list[UploadFile],
                 too_many: str = "ticket.form.too_many_files") -> tuple[list[str], dict[str, str]]:
    """Each file to the gateway at ``path``, which judges it (size, kind by its bytes); the ids, or the first
    refusal in the gateway's words under ``files`` (``too_many``: the catalogue key when there are too many)."""
    if len(files) > MAX_FILES:
        return [], {"files": too_many}
    ids: list[str] = []
    for f in files:
        data = await f.read(FILE_BYTES + 1)
        try:
            kind = f.content_type or "application/octet-stream"
            stored = await api.post(path, files={"file": (f.filename, data, kind)})
        except GatewayProblem as exc:
            if exc.status in (401, 403, 404) or exc.status >= 500:
                raise
            return [], {"files": f"{f.filename}: {exc.detail or exc.title}"}
        ids.append(str(stored["id"]))
    return ids, {}
