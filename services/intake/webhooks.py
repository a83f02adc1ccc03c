"""Channel webhooks: web form / portal, chat platform, phone/CTI call events, bot; attachment upload.

Each door authenticates its kind of sender (doors.py); each payload is validated, turned into an
:class:`InboundMessage` and published to ``inbound.messages`` (the same door other systems use). 202 means the
message will be processed: one that could not be (invalid, over the topic's size) is a 4xx problem instead. A
retried webhook carries the same external id, so it adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from shared.contracts.schemas.common import Attachment
from shared.contracts.schemas.inbound import InboundMessage
from shared.runtime.ids import derived_id
from shared.runtime.problems import ProblemError, problem_responses, reported_errors

from .doors import Caller, Door, Doors
from .doors_payloads import (
    Accepted,
    BotMessage,
    CallEvent,
    ChatMessage,
    FormSubmission,
    bot_message,
    call_message,
    chat_message,
    form_message,
)
from .settings import IntakeSettings
from .store import IntakeStore

DOOR_PROBLEMS = problem_responses(401, 403, 413, 422, 429, 503)


def converted(build: Callable[[], InboundMessage]) -> InboundMessage:
    """A payload valid at the door may still make an invalid message (a long platform prefix on a user id)."""
    try:
        return build()
    except ValidationError as exc:
        raise ProblemError(422, "Invalid request", "the message this request becomes is invalid",
                           **reported_errors(exc.errors())) from exc


class IntakeApi(Protocol):
    """What the routes need of the running service (the wiring's ``IntakeService``)."""

    settings: IntakeSettings
    doors: Doors
    store: IntakeStore

    async def accept(self, msg: InboundMessage) -> str: ...


def router(intake: IntakeApi) -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=DOOR_PROBLEMS)

    def door(name: Door) -> Caller:
        return Depends(intake.doors.guard(name))  # type: ignore[no-any-return]

    async def attachments(ids: list[str]) -> list[Attachment]:
        out = []
        for file_id in ids:
            found = await intake.store.attachment(file_id)
            if found is None:
                raise ProblemError(422, "Unknown attachment", f"no uploaded attachment {file_id!r}; "
                                   "upload it to /api/v1/attachments first")
            out.append(found)
        return out

    async def accepted(msg: InboundMessage) -> JSONResponse:
        return JSONResponse({"message_id": await intake.accept(msg)}, status_code=202)

    @api.post("/inbound", status_code=202, response_model=Accepted, tags=["inbound"],
              summary="Accept one message from any channel or system (the inbound.messages schema); X-API-Key")
    async def inbound(msg: InboundMessage, _: Caller = door("inbound")) -> JSONResponse:
        return await accepted(msg)

    @api.post("/webhooks/form", status_code=202, response_model=Accepted, tags=["webhooks"],
              summary="Web form / portal submission; signed by the portal, or public with X-Captcha-Token")
    async def form(body: FormSubmission, _: Caller = door("form")) -> JSONResponse:
        files = await attachments(body.attachment_ids)
        return await accepted(converted(lambda: form_message(body, files)))

    @api.post("/webhooks/chat", status_code=202, response_model=Accepted, tags=["webhooks"],
              summary="Chat platform message (session id = conversation); signed")
    async def chat(body: ChatMessage, _: Caller = door("chat")) -> JSONResponse:
        files = await attachments(body.attachment_ids)
        return await accepted(converted(lambda: chat_message(body, files)))

    @api.post("/webhooks/call", status_code=202, response_model=Accepted, tags=["webhooks"],
              summary="Phone/CTI call event: caller, call id, IVR choice, missed call; signed")
    async def call(body: CallEvent, _: Caller = door("call")) -> JSONResponse:
        return await accepted(converted(lambda: call_message(body, intake.settings.ivr_lines)))

    @api.post("/webhooks/bot", status_code=202, response_model=Accepted, tags=["webhooks"],
              summary="Bot hand-over: a conversation the bot could not finish; signed")
    async def bot(body: BotMessage, _: Caller = door("bot")) -> JSONResponse:
        return await accepted(converted(lambda: bot_message(body)))

    @api.post("/attachments", status_code=201, response_model=Attachment, tags=["attachments"],
              summary="Upload one attachment (stored in GridFS); reference its id from a webhook. X-API-Key, "
                      "a channel signature over the file's bytes, or the public form's limits")
    async def upload(request: Request, file: UploadFile = File(...)) -> Attachment:
        limit = intake.settings.max_attachment_bytes
        data = await file.read(limit + 1)
        caller = await intake.doors.check("attachments", request, data)
        if len(data) > limit:
            raise ProblemError(413, "Attachment too large", f"attachments are limited to {limit} bytes", limit=limit)
        intake.doors.charge_upload(caller, len(data))
        file_id = derived_id("attachment", hashlib.sha256(data).hexdigest(), file.filename or "")
        return await intake.store.save_attachment(file_id, (file.filename or "attachment")[:500],
                                                  file.content_type or "application/octet-stream", data)

    return api
