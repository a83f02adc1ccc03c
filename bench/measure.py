"""What a run costs, per process: CPU seconds from /proc and database commands from each service's metrics page.

The broker and the database are found by the port they listen on (they are not our children's children), so the
same code measures the embedded ones; given servers on other hosts are left out and said so.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from bench.common import RESULTS

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its waited-for children (fields 14-17 of /proc/pid/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK


def listener_pid(port: int) -> int | None:
    """The local process listening on ``port`` (None if none here can be seen)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{cols[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    return None


def infra_pids(env: dict[str, str]) -> dict[str, int]:
    """The broker's and the database's pids when they run on this machine."""
    out: dict[str, int] = {}
    broker = env["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].rsplit(":", 1)
    mongo = urlsplit(env["MONGODB_URI"])
    for name, host, port in (("broker", broker[0], int(broker[1])), ("database", mongo.hostname, mongo.port or 27017)):
        if host in ("127.0.0.1", "localhost", "::1"):
            pid = listener_pid(port)
            if pid is not None:
                out[name] = pid
    return out


def db_commands(metrics_url: str) -> dict[str, float]:
    """``frontline_db_commands_total`` of one service process, as {"command collection": count}."""
    with urllib.request.urlopen(metrics_url, timeout=10) as resp:  # noqa: S310 - our own service on loopback
        text = resp.read().decode()
    return {f"{s.labels['command']} {s.labels['collection']}".strip(): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name == "frontline_db_commands_total"}


class Usage:
    """CPU of each process and database commands of each service, read at ``mark`` and diffed by ``per``."""

    def __init__(self, pids: dict[str, int], metrics: dict[str, str]) -> None:
        self.pids, self.metrics = pids, metrics

    def mark(self) -> dict[str, Any]:
        return {"cpu": {n: cpu_seconds(p) for n, p in self.pids.items()},
                "db": {n: db_commands(u) for n, u in self.metrics.items()}}

    @staticmethod
    def per(before: dict[str, Any], after: dict[str, Any], items: int) -> dict[str, Any]:
        """CPU ms and database commands per item between two marks, by process and in total."""
        cpu = {n: round((after["cpu"][n] - before["cpu"][n]) * 1000 / items, 2) for n in after["cpu"]}
        by_service: dict[str, dict[str, Any]] = {}
        for name, counts in after["db"].items():
            delta = {k: v - before["db"][name].get(k, 0.0) for k, v in counts.items()}
            rows = {k: round(v / items, 2) for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v}
            by_service[name] = {"total": round(sum(delta.values()) / items, 2), "by_command": rows}
        return {"items": items, "cpu_ms": round(sum(cpu.values()), 2), "cpu_ms_by_process": cpu,
                "db_ops": round(sum(s["total"] for s in by_service.values()), 2), "db_ops_by_service": by_service}


def per_net_of_idle(window: tuple[dict[str, Any], dict[str, Any]], idle: tuple[dict[str, Any], dict[str, Any]],
                    scale: float, items: int) -> dict[str, Any]:
    """As :meth:`Usage.per`, less what the idle window's marks cost, scaled by ``scale`` (the measured window's
    length over the idle one's): the work's own cost where a desk polls while nothing happens. Exact for commands
    polled on timers; for CPU only as exact as the idle polling is the same under load (a value may go negative)."""
    def deltas(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        cpu = {n: after["cpu"][n] - before["cpu"][n] for n in after["cpu"]}
        return cpu, {s: {k: v - before["db"][s].get(k, 0.0) for k, v in counts.items()}
                     for s, counts in after["db"].items()}
    (cpu, db), (idle_cpu, idle_db) = deltas(*window), deltas(*idle)
    cpu_ms = {n: round((s - idle_cpu.get(n, 0.0) * scale) * 1000 / items, 2) for n, s in cpu.items()}
    by_service: dict[str, dict[str, Any]] = {}
    for name, counts in db.items():
        net = {k: (v - idle_db.get(name, {}).get(k, 0.0) * scale) / items for k, v in counts.items()}
        rows = {k: round(v, 2) for k, v in sorted(net.items(), key=lambda kv: -kv[1]) if round(v, 2)}
        by_service[name] = {"total": round(sum(net.values()), 2), "by_command": rows}
    return {"items": items, "cpu_ms": round(sum(cpu_ms.values()), 2), "cpu_ms_by_process": cpu_ms,
            "db_ops": round(sum(s["total"] for s in by_service.values()), 2), "db_ops_by_service": by_service}


def merge_latest(name: str, data: dict[str, Any] | None = None) -> None:
    """Put one benchmark's result (``data``, or ``results/<name>.json`` as ``write_result`` wrote it, with its time
    and machine) into latest.json, keeping the other benchmarks' figures."""
    latest = RESULTS / "latest.json"
    merged = json.loads(latest.read_text()) if latest.exists() else {"results": {}}
    merged.setdefault("results", {})[name] = data if data is not None else json.loads(
        (RESULTS / f"{name}.json").read_text())
    latest.write_text(json.dumps(merged, indent=2, default=str))
