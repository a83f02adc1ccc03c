"""What ``frontline up`` tells the newcomer: progress lines while things start, then one table of addresses."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools import brokers


@dataclass
class Progress:
    """Prints one line per step, stamped with the seconds since ``make up`` began."""

    started: float = field(default_factory=time.monotonic)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", flush=True)


def address_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """``rows`` of (what, address, note) as aligned lines under a heading."""
    width = max((len(what) for what, _, _ in rows), default=0)
    addr_width = max((len(addr) for _, addr, _ in rows), default=0)
    lines = [f"  {what:<{width}}  {addr:<{addr_width}}  {note}".rstrip() for what, addr, note in rows]
    return "\n".join(lines)


def service_rows(urls: dict[str, str]) -> list[tuple[str, str, str]]:
    """The doors a newcomer uses, for the services that run (``urls``: service → base URL)."""
    rows: list[tuple[str, str, str]] = []
    if "console" in urls:
        rows.append(("console", urls["console"], "the web console: sign in as a demo agent"))
    if "gateway" in urls:
        rows.append(("gateway", urls["gateway"], f"API docs: {urls['gateway']}/docs"))
    if "intake" in urls:
        rows.append(("intake webhooks", f"{urls['intake']}/api/v1/inbound", "POST client messages here"))
    if "feedback" in urls:
        rows.append(("feedback pages", urls["feedback"], "survey links in mails point here"))
    return rows


def infra_rows(env: dict[str, str], embedded: bool, data_dir: str) -> list[tuple[str, str, str]]:
    broker, database = env.get("KAFKA_BOOTSTRAP_SERVERS", ""), env.get("MONGODB_URI", "")
    if not embedded:
        return [("broker", broker, "given by KAFKA_BOOTSTRAP_SERVERS"), ("database", database, "given by MONGODB_URI")]
    return [("broker", broker, brokers.NOTES[brokers.configured_kind(env)]),
            ("database", database.split("/?")[0], f"embedded SecantusDB, data in {data_dir}")]
