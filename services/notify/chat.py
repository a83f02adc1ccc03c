"""Chat: POST the message to the chat platform's webhook for the conversation.

The platform gets an ``Idempotency-Key`` (our notification id), so a retry after a lost
response does not post the message twice on platforms that honour it.

Body (JSON)::

    {"conversation_id": "...", "text": "...", "ticket_id": "...", "notification_id": "...", "language": "ru",
     "buttons": [{"label": "Хорошо", "url": "https://..."}, ...]}

``buttons`` is present only when the notice has some (the CSAT survey's three answers): the
platform shows each ``label`` as a button that opens ``url``. ``text`` still carries the links,
so a platform without buttons loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from .errors import permanent, transient
from .settings import NotifySettings


class ChatWebhook:
    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient | None = None) -> None:
        self.s = settings
        self.client = client or httpx.AsyncClient(timeout=settings.chat_timeout)

    def url(self, conversation_id: str) -> str:
        template = self.s.chat_webhook_url or ""  # set: without it notify runs a sink, not this (sinks.py)
        return template.format(conversation_id=quote(conversation_id, safe=""))

    async def send(self, d: Mapping[str, Any]) -> str:
        conversation = d.get("address")
        if not conversation:
            raise permanent("no chat conversation for this client")
        headers = {"Idempotency-Key": d["_id"]}
        if self.s.chat_token:
            headers["Authorization"] = f"Bearer {self.s.chat_token}"
        body: dict[str, Any] = {"conversation_id": conversation, "text": d["text"].strip(),
                                "ticket_id": d["ticket_id"], "notification_id": d["_id"], "language": d.get("language")}
        buttons = [{"label": b["label"], "url": b["url"]} for b in d.get("buttons") or []]
        if buttons:
            body["buttons"] = buttons
        try:
            resp = await self.client.post(self.url(conversation), json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise transient(f"chat webhook unreachable: {exc!r}"[:500]) from exc
        if resp.is_success:
            return resp.text[:200]
        reason = f"chat webhook {resp.status_code}: {resp.text[:300]}"
        if resp.status_code in (404, 410, 400, 422):
            raise permanent(reason)  # the conversation is gone or the payload will never be accepted
        raise transient(reason)

    async def close(self) -> None:
        await self.client.aclose()
