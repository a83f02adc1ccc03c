"""Every fetch request a Kafka client sends, with its wait: the wire-level view the fetch-wait tests assert on."""

from __future__ import annotations

import time
from typing import Any

from aiokafka.protocol.fetch import FetchRequest


class FetchLog:
    """Wraps ``client.send`` (observed, still sent); safe to read from another thread than the client's."""

    def __init__(self, client: Any) -> None:
        self.sent: list[tuple[float, int]] = []
        send = client.send

        async def logged(node_id: int, request: Any, **kw: Any) -> Any:
            if isinstance(request, FetchRequest):
                self.sent.append((time.monotonic(), request._max_wait_ms))
            return await send(node_id, request, **kw)

        client.send = logged

    def since(self, t: float) -> list[int]:
        return [wait for at, wait in list(self.sent) if at >= t]
