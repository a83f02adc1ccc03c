"""Shared benchmark plumbing: infrastructure, percentiles, machine facts, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"count": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"), "max_ms": round(max(ms, default=0), 2)}


def machine() -> dict[str, Any]:
    mem = ""
    try:
        mem = next(line.split(":")[1].strip() for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    cpu = ""
    try:
        cpu = next(line.split(":")[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(), "broker": "embedded Tansu" if not os.environ.get(
                "KAFKA_BOOTSTRAP_SERVERS") else os.environ["KAFKA_BOOTSTRAP_SERVERS"],
            "database": "embedded SecantusDB" if not os.environ.get("MONGODB_URI") else "MONGODB_URI"}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "at": datetime.now(UTC).isoformat(), "machine": machine(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(json.dumps(data, indent=2, default=str))
    return path


# The embedded Tansu broker holds every fetch for up to the consumer's fetch wait (Kafka answers as soon
# as a record arrives), so on it the services' consumers use a short one. Given servers keep their own.
EMBEDDED_BROKER_ENV = {"KAFKA_FETCH_MAX_WAIT_MS": "10"}


@contextmanager
def infra() -> Iterator[dict[str, str]]:
    """Given servers (env) or the embedded ones, with the test suite's fast group timings."""
    from tests.support.testing import infra_env

    with infra_env() as env:
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            env = {**EMBEDDED_BROKER_ENV, **env}
        if os.environ.get("KAFKA_FETCH_MAX_WAIT_MS"):
            env = {**env, "KAFKA_FETCH_MAX_WAIT_MS": os.environ["KAFKA_FETCH_MAX_WAIT_MS"]}
        yield env
