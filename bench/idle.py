"""What a desk doing nothing costs: every service up on the embedded broker and database, no traffic.

After the services are ready and a settling pause, reads each process's CPU (the broker and the database
included) and each service's database commands (``frontline_db_commands_total``) over ``--seconds`` of idle, and
reports CPU as a percentage of one core, in total and per process, and database commands per second by service
and command: what polls when nothing happens. The consumers keep ``make up``'s group timings (tools/infra.py), not the
test suite's fast ones, whose heartbeats three times a second are no desk's idle cost.

    python -m bench.idle [--seconds 30] [--settle 10] [--skip SERVICE ...] [--set VARIABLE=VALUE ...]
                         [--mongo-options OPTION=VALUE&...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import infra, write_result
from bench.measure import Usage, infra_pids, merge_latest
from tests.support.testing import FAST_GROUPS, isolated_env
from tools.cli import available_services
from tools.infra import EmbeddedInfra
from tools.stack import Stack


def desk_groups() -> dict[str, str]:
    """``make up``'s consumer group timings instead of the test fixtures' (FAST_GROUPS)."""
    desk = EmbeddedInfra().env  # only formats settings: nothing is started
    return {name: desk[name] for name in FAST_GROUPS}


def measure(seconds: float, settle: float, skip: list[str], overrides: dict[str, str],
            mongo_options: str = "") -> dict[str, Any]:
    with infra() as base, tempfile.TemporaryDirectory() as logs:
        env = {**base, **isolated_env(), "FRONTLINE_LOG_LEVEL": "WARNING", **desk_groups(), **overrides}
        if mongo_options:  # the database's port is known only now
            env["MONGODB_URI"] += ("&" if "?" in env["MONGODB_URI"] else "?") + mongo_options
        services = [s for s in available_services() if s not in skip]
        with Stack(env, Path(logs), services=services) as stack:
            usage = Usage({**{n: p.proc.pid for n, p in stack.procs.items() if p.proc}, **infra_pids(env)},
                          {n: p.metrics_url for n, p in stack.procs.items()})
            time.sleep(settle)  # start-up work (indexes, first group joins) is not idle cost
            before = usage.mark()
            t0 = time.monotonic()
            time.sleep(seconds)  # the measured window: nothing is sent
            after = usage.mark()
            elapsed = time.monotonic() - t0
    # per second of idle: CPU ms per second / 10 is the percentage of one core
    cost = Usage.per(before, after, 1)
    by_process = {n: round(ms / elapsed / 10, 2) for n, ms in cost["cpu_ms_by_process"].items()}
    by_service = {n: {"total": round(s["total"] / elapsed, 2),
                      "by_command": {k: round(v / elapsed, 2) for k, v in s["by_command"].items()}}
                  for n, s in cost["db_ops_by_service"].items()}
    return {"seconds": round(elapsed, 1), "settle_seconds": settle, "services": sorted(stack.procs),
            "group_timings": desk_groups(), "overrides": overrides, "mongo_options": mongo_options,
            "load_average": os.getloadavg(),
            "cpu_percent_of_one_core": round(sum(by_process.values()), 2),
            "cpu_percent_of_one_core_by_process": by_process,
            "db_commands_per_s": round(sum(s["total"] for s in by_service.values()), 2),
            "db_commands_per_s_by_service": by_service}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the idle window measured")
    parser.add_argument("--settle", type=float, default=10.0, help="pause after every service is ready")
    parser.add_argument("--skip", nargs="*", default=[], help="services left out (say, one not finished yet)")
    parser.add_argument("--set", nargs="*", default=[], metavar="VARIABLE=VALUE",
                        help="environment for every service (a lever to try: KAFKA_FETCH_IDLE_WAIT_MS=2000)")
    parser.add_argument("--mongo-options", default="", help="added to the services' MONGODB_URI query")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    result = measure(args.seconds, args.settle, args.skip, overrides, args.mongo_options)
    write_result("idle", result)
    merge_latest("idle")


if __name__ == "__main__":
    main()
