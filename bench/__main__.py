"""`make bench`: run every benchmark (small sizes by default) and merge results into latest.json.

Each benchmark is its own process, so one crashing does not hide the others' figures.
``python -m bench --full`` uses the issues' full sizes (1,000,000 SLA clocks, 100,000 tickets).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, machine

# module → (small args, full args)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench.pipeline": (["--messages", "2000"], ["--messages", "10000"]),
    "bench.routing_latency": ([], []),
    "bench.notify_throughput": ([], []),
    "bench.gateway_queries": (["--tickets", "20000"], ["--tickets", "100000"]),
    "bench.sla_clocks": (["--tickets", "100000"], ["--tickets", "1000000"]),
}


def main() -> int:
    full = "--full" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    merged: dict[str, object] = {"at": datetime.now(UTC).isoformat(), "machine": machine(), "results": {}}
    failures = 0
    for module, (small, large) in BENCHMARKS.items():
        name = module.split(".")[1]
        if only and name not in only:
            continue
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, "-m", module, *(large if full else small)])
        result = RESULTS / f"{name}.json"
        if rc == 0 and result.exists():
            merged["results"][name] = json.loads(result.read_text())  # type: ignore[index]
        else:
            failures += 1
            merged["results"][name] = {"error": f"exit code {rc}"}  # type: ignore[index]
    (RESULTS / "latest.json").write_text(json.dumps(merged, indent=2, default=str))
    print(f"wrote {RESULTS / 'latest.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
