"""What the container image runs: ``python -m shared.runtime.run <service>`` (developer tooling is not in the image)."""

from __future__ import annotations

import importlib
import sys

# service name → default HTTP port (each service's settings carry the same default)
SERVICES: dict[str, int] = {
    "tickets": 8002,
    "intake": 8001,
    "routing": 8003,
    "sla": 8004,
    "notify": 8005,
    "feedback": 8006,
    "gateway": 8000,
    "console": 8007,
    "search": 8009,
    "knowledge": 8010,
}


def run(service: str) -> int:
    if service not in SERVICES:
        print(f"unknown service {service!r}; choose from {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    importlib.import_module(f"services.{service}.__main__").main()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m shared.runtime.run <{'|'.join(SERVICES)}>", file=sys.stderr)
        return 2
    return run(args[0])


if __name__ == "__main__":
    sys.exit(main())
