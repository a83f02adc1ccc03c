"""Refuse oversize request bodies with a 413 problem naming the limit, before anything buffers or parses them.

Every HTTP service that accepts bodies from outside mounts it (intake's webhooks, the gateway's API): without
it FastAPI reads a body whole into memory before validation, so one caller could make a process buffer
gigabytes, even an unauthenticated one (bodies are read before the dependencies that check credentials).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime.problems import PROBLEM_JSON


class BodyLimit:
    """ASGI middleware; ``limit(path)`` gives the largest body accepted on that path, in bytes."""

    def __init__(self, app: ASGIApp, limit: Callable[[str], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, limit)
            return
        seen, too_large, refused = 0, False, False

        async def counted() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # no (or a false) Content-Length: count while streaming
                    # Raising here would reach the app as a body-parsing error (a 400, or a 500 through
                    # middleware task groups); to the app the client went away instead, and we answer.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal refused
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start" and not refused:
                refused = True  # whatever the app answers to the "disconnect", the client gets the 413
                await self._refuse(scope, send, limit)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not too_large:
                raise
        if too_large and not refused:
            await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        body: dict[str, Any] = {"type": "about:blank", "title": "Content Too Large", "status": 413,
                                "detail": f"request bodies are limited to {limit} bytes", "limit": limit,
                                "instance": scope.get("path")}
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})
