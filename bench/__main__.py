"""`make bench`: run every benchmark (small sizes by default) and merge results into latest.json.

Each benchmark is its own process, so one crashing does not hide the others' figures.
``python -m bench --full`` uses the issues' full sizes (1,000,000 SLA clocks, 100,000 tickets).
``python -m bench [--full] pipeline sla_clocks`` runs only those (the others keep their figures in
latest.json); ``python -m bench --collect`` runs nothing and merges every ``results/<name>.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, machine

# module → (small args, full args)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench.pipeline": (["--messages", "300", "--sustain-seconds", "20"], ["--messages", "1000"]),
    "bench.journey": (["--tickets", "20"], ["--tickets", "50"]),  # open to feedback, every service's commands
    "bench.routing_latency": ([], []),
    "bench.notify_throughput": (["--messages", "300"], ["--messages", "1000"]),
    "bench.gateway_queries": (["--tickets", "20000", "--budget", "5"], ["--tickets", "100000", "--budget", "8"]),
    "bench.sla_clocks": (["--tickets", "100000"], ["--tickets", "1000000"]),
    "bench.console": (["--tickets", "1000", "--requests", "100"], ["--tickets", "1000", "--requests", "200"]),
    "bench.brokers": ([], []),  # every broker kind in one run (about a minute)
    "bench.transactions": ([], ["--records", "10000"]),  # KAFKA_TRANSACTIONS' cost, on noida-db
    "bench.faust_recovery": ([], []),  # the SLA worker's restart to ready, on tansu-s3 and tansu-memory
}


def main() -> int:
    full = "--full" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    collect = "--collect" in sys.argv
    merged: dict[str, object] = {"at": datetime.now(UTC).isoformat(), "machine": machine(), "results": {}}
    latest = RESULTS / "latest.json"
    if (only or collect) and latest.exists():  # a partial run keeps the other benchmarks' last figures
        merged["results"] = json.loads(latest.read_text()).get("results", {})
    failures = 0
    for module, (small, large) in BENCHMARKS.items():
        name = module.split(".")[1]
        if only and name not in only:
            continue
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"== {name}: not present, skipped")
            continue
        if collect:  # merge what each benchmark last wrote (e.g. run one by one with custom sizes)
            result = RESULTS / f"{name}.json"
            if result.exists():
                merged["results"][name] = json.loads(result.read_text())  # type: ignore[index]
            continue
        print(f"== {name}", flush=True)
        result = RESULTS / f"{name}.json"
        started = time.time()
        args = large if full else small
        rc = subprocess.call([sys.executable, "-m", module, *args])
        fresh = result.exists() and result.stat().st_mtime >= started
        if rc:
            failures += 1
        if fresh:  # a run that wrote figures and then failed a check keeps its figures, marked
            merged["results"][name] = {**json.loads(result.read_text()), "args": args,  # type: ignore[index]
                                       **({"error": f"exit code {rc}"} if rc else {})}
        else:
            merged["results"][name] = {"error": f"exit code {rc}, no result written", "args": args}  # type: ignore[index]
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest.write_text(json.dumps(merged, indent=2, default=str))
    print(f"wrote {RESULTS / 'latest.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
