"""Notifications delivered per second to a local SMTP server, end to end.

Events on ``tickets.events`` (a client e-mail ticket, then an agent's reply) → notify plans,
renders and enqueues → e-mail workers deliver over SMTP to a real aiosmtpd server. The clock
starts when the first reply is published and stops when the SMTP server has accepted them all.

    .venv/bin/python bench/notify_throughput.py [--messages 1000] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.notify.app import create_app  # noqa: E402
from services.notify.settings import NotifySettings  # noqa: E402
from shared.envelope import envelope_for  # noqa: E402
from shared.ids import new_id  # noqa: E402
from shared.infra import free_port  # noqa: E402
from shared.kafka import KafkaBus, ensure_topics  # noqa: E402
from shared.schemas import tickets as t  # noqa: E402
from shared.schemas.common import Channel, Sender  # noqa: E402
from shared.testing import infra_env, isolated_env, make_settings, running  # noqa: E402
from shared.topics import TICKETS_EVENTS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "notify_throughput.json"


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


async def run(env: dict[str, str], messages: int, workers: int) -> dict[str, Any]:
    sink, port = Counter(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = make_settings(NotifySettings, env, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                             email_concurrency=workers, poll_interval=0.05, directory_cache_seconds=30.0)
    await ensure_topics(settings)
    bus = KafkaBus(settings, "bench")
    await bus.start()
    now = datetime.now(UTC)
    tickets = [new_id() for _ in range(messages)]
    opened = [envelope_for(t.TicketOpened(channel=Channel.email, number=i, subject=f"Bench {i}", text="hello",
                                          sender=Sender(email=f"client{i}@bench.test")), tid, occurred_at=now)
              for i, tid in enumerate(tickets)]
    replies = [envelope_for(t.ReplySent(agent_id="a", text="Answer", channel=Channel.email), tid, occurred_at=now)
               for tid in tickets]
    try:
        async with running(create_app(settings)):
            await bus.publish_many(TICKETS_EVENTS, opened)
            await asyncio.sleep(1.0)
            t0 = time.perf_counter()
            await bus.publish_many(TICKETS_EVENTS, replies)
            published = time.perf_counter() - t0
            deadline = time.monotonic() + 300
            while sink.count < messages and time.monotonic() < deadline:  # noqa: ASYNC110 (counted in another thread)
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - t0
    finally:
        await bus.stop()
        controller.stop()
    return {"name": "notify_throughput", "messages": messages, "delivered": sink.count, "email_workers": workers,
            "seconds": round(elapsed, 3), "publish_seconds": round(published, 3),
            "notifications_per_second": round(sink.count / elapsed, 1) if elapsed else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with infra_env() as infra:
        result = asyncio.run(run({**infra, **isolated_env()}, args.messages, args.workers))
    print(f"notify: {result['delivered']}/{result['messages']} e-mails in {result['seconds']} s "
          f"= {result['notifications_per_second']} notifications/s ({result['email_workers']} SMTP workers)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
