"""Notifications delivered per second to a local SMTP server, end to end.

Events on ``tickets.events`` (a client e-mail ticket, then an agent's reply) → notify plans,
renders and enqueues → e-mail workers deliver over SMTP to a real aiosmtpd server. Notify runs as its
own OS process; the SMTP server runs in this one. The clock starts when the first reply is published
(once notify has projected every ticket) and stops when the SMTP server has accepted them all. Across the
same span it reads what each e-mail cost (``bench.measure``: notify's database commands, CPU of notify, the
broker, the database and this process, whose SMTP server is the other end of every mail), then notify's
database commands per second over ``--idle-seconds`` with no traffic.

    .venv/bin/python -m bench.notify_throughput [--messages 1000] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import infra, write_result  # noqa: E402
from bench.measure import Usage, db_commands, infra_pids, merge_latest  # noqa: E402
from services.notify.settings import NotifySettings  # noqa: E402
from services.notify.store import DELIVERIES, TICKETS  # noqa: E402
from shared.contracts.envelope import envelope_for  # noqa: E402
from shared.contracts.schemas import tickets as t  # noqa: E402
from shared.contracts.schemas.common import Channel, Sender  # noqa: E402
from shared.contracts.topics import TICKETS_EVENTS  # noqa: E402
from shared.runtime.clock import as_utc  # noqa: E402
from shared.runtime.ids import new_id  # noqa: E402
from shared.runtime.kafka import KafkaBus, ensure_topics  # noqa: E402
from shared.runtime.mongo import database, mongo_client  # noqa: E402
from tests.support.testing import eventually, isolated_env, make_settings  # noqa: E402
from tools.infra import free_port  # noqa: E402
from tools.processes import ServiceProcess  # noqa: E402


class Counter:
    """Counts accepted messages per recipient (the SMTP server runs in its own thread)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_rcpt: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                self.by_rcpt[rcpt] = self.by_rcpt.get(rcpt, 0) + 1
        return "250 OK"


async def _count(col: Any, want: int) -> bool:
    return bool(await col.count_documents({}) >= want)


async def _timeline(deliveries: Any, started_at: datetime) -> dict[str, float | None]:
    """Seconds from the first reply published until the first and last delivery was enqueued and marked sent:
    whether planning (the consumers) or sending (the e-mail workers) sets the pace."""
    def span(field: str, first: bool) -> Any:
        return deliveries.find({field: {"$ne": None}}, {field: 1}).sort(field, 1 if first else -1).limit(1)
    out: dict[str, float | None] = {}
    for field in ("created_at", "sent_at"):
        for first in (True, False):
            found = [d async for d in span(field, first)]
            at = as_utc(found[0][field]) if found else None
            out[f"{'first' if first else 'last'}_{field.removesuffix('_at')}"] = \
                round((at - started_at).total_seconds(), 3) if at else None
    return out


async def idle_rate(metrics_url: str, seconds: float) -> dict[str, Any]:
    """Notify's database commands per second while nothing happens (its delivery loops and sweeper at rest)."""
    before = await asyncio.to_thread(db_commands, metrics_url)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(db_commands, metrics_url)
    delta = {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}
    return {"seconds": seconds, "per_s": round(sum(delta.values()) / seconds, 2),
            "by_command_per_s": {k: round(v / seconds, 2) for k, v in sorted(delta.items(), key=lambda kv: -kv[1])}}


async def run(env: dict[str, str], messages: int, workers: int, logs: Path, idle_seconds: float) -> dict[str, Any]:
    sink, port = Counter(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    service_env = {**env, "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(port),
                   "NOTIFY_SMTP_STARTTLS": "false", "NOTIFY_EMAIL_CONCURRENCY": str(workers),
                   "NOTIFY_POLL_INTERVAL": "0.05", "NOTIFY_DIRECTORY_CACHE_SECONDS": "30",
                   "FRONTLINE_LOG_LEVEL": "WARNING"}
    settings = make_settings(NotifySettings, service_env)
    await ensure_topics(settings)
    notify = ServiceProcess("notify", service_env, logs)
    await asyncio.to_thread(notify.start().wait_ready, 120)
    assert notify.proc is not None
    # "bench" is this process: the SMTP server (and the bench's own waiting), the other end of every mail
    usage = Usage({"notify": notify.proc.pid, "bench": os.getpid(), **infra_pids(env)}, {"notify": notify.metrics_url})
    bus = KafkaBus(settings, "bench")
    await bus.start()
    now = datetime.now(UTC)
    tickets = [new_id() for _ in range(messages)]
    opened = [envelope_for(t.TicketOpened(channel=Channel.email, number=i, subject=f"Bench {i}", text="hello",
                                          sender=Sender(email=f"client{i}@bench.test")), tid, occurred_at=now)
              for i, tid in enumerate(tickets)]
    replies = [envelope_for(t.ReplySent(agent_id="a", text="Answer", channel=Channel.email), tid, occurred_at=now)
               for tid in tickets]
    client = mongo_client(settings)
    projected = database(client, settings)[TICKETS]
    try:
        await bus.publish_many(TICKETS_EVENTS, opened)
        # the clock starts once notify knows every ticket (its projection), so it times the replies alone
        await eventually(lambda: _count(projected, messages), timeout=300, interval=0.2,
                         message="notify projected every ticket")
        before = sink.count  # whatever TicketOpened caused (nothing: no staff in the directory)
        mark = await asyncio.to_thread(usage.mark)
        started_at, t0 = datetime.now(UTC), time.perf_counter()
        await bus.publish_many(TICKETS_EVENTS, replies)
        published = time.perf_counter() - t0
        deadline = time.monotonic() + 300
        while sink.count - before < messages and time.monotonic() < deadline:  # noqa: ASYNC110 (SMTP thread)
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - t0
        cost = Usage.per(mark, await asyncio.to_thread(usage.mark), max(sink.count - before, 1))
        timeline = await _timeline(database(client, settings)[DELIVERIES], started_at)
        await asyncio.sleep(1.0)  # any duplicate would arrive now
        idle = await idle_rate(notify.metrics_url, idle_seconds)
    finally:
        await bus.stop()
        await client.close()
        notify.stop()
        controller.stop()
    delivered = sink.count - before
    clients = {f"client{i}@bench.test" for i in range(messages)}
    return {"messages": messages, "delivered": delivered, "delivered_before_replies": before,
            "clients_reached_once": sum(1 for c in clients if sink.by_rcpt.get(c) == 1),
            "duplicates": sum(max(sink.by_rcpt.get(c, 0) - 1, 0) for c in clients),
            "email_workers": workers, "seconds": round(elapsed, 3), "publish_seconds": round(published, 3),
            "notifications_per_second": round(delivered / elapsed, 1) if elapsed else None,
            "db_ops_per_email": cost["db_ops"], "db_ops_per_email_by_command": cost["db_ops_by_service"]["notify"],
            "cpu_ms_per_email": cost["cpu_ms"], "cpu_ms_per_email_by_process": cost["cpu_ms_by_process"],
            "timeline_seconds": timeline, "idle_db_commands": idle, "load_average": list(os.getloadavg()),
            "path": "ReplySent on tickets.events → notify (plan, render, enqueue in MongoDB) → e-mail workers → "
                    "aiosmtpd on loopback"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        result = asyncio.run(run({**base, **isolated_env()}, args.messages, args.workers, Path(logs),
                                 args.idle_seconds))
    print(f"notify: {result['delivered']}/{result['messages']} e-mails in {result['seconds']} s "
          f"= {result['notifications_per_second']} notifications/s ({result['email_workers']} SMTP workers), "
          f"{result['db_ops_per_email']} database commands and {result['cpu_ms_per_email']} CPU ms per e-mail; "
          f"idle {result['idle_db_commands']['per_s']} commands/s")
    write_result("notify_throughput", result)
    merge_latest("notify_throughput")
    if result["clients_reached_once"] != args.messages:
        raise SystemExit("not every client got exactly one e-mail")


if __name__ == "__main__":
    main()
