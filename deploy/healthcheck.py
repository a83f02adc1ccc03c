"""Container HEALTHCHECK: GET /healthz of the service this container runs.

The image runs any service (``python -m shared.runtime.run <service>``), so the port is found from PID 1's
command line and the ``<SERVICE>_HTTP_PORT`` setting, defaulting to the service's usual port.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence

from shared.runtime.run import SERVICES


def port_for(cmdline: Sequence[str], environ: Mapping[str, str]) -> int:
    service = next((a for a in cmdline if a in SERVICES), "gateway")
    return int(environ.get(f"{service.upper()}_HTTP_PORT", SERVICES[service]))


def main() -> int:
    with open("/proc/1/cmdline", "rb") as f:
        cmdline = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    url = f"http://127.0.0.1:{port_for(cmdline, os.environ)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:  # noqa: S310 (loopback only)
            return 0 if resp.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
