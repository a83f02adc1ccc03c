"""The services under ``frontline up``: their ports, starting, readiness and restarts."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.ports import listener_owner, proc_supported, require_free

# A service that crashes this many times before it is first ready is broken, not unlucky: `make up` gives up.
START_CRASHES = 3


@dataclass
class Service:
    name: str
    port: int
    metrics_port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    due: float = 0.0  # when a crashed service is started again (0: not waiting)
    backoff: float = 0.5
    crashes: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def last_words(self) -> str:
        """The last line the service wrote (its exception, usually), for the message that it died."""
        lines = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
        return lines[-1][:300] if lines else ""


def plan_services(names: list[str], env: dict[str, str], defaults: dict[str, int], log_dir: Path) -> dict[str, Service]:
    """Each service's ports (``<NAME>_HTTP_PORT`` / ``<NAME>_METRICS_PORT`` or the defaults), all checked free."""
    plan: dict[str, Service] = {}
    for name in names:
        prefix = name.upper()
        port = int(env.get(f"{prefix}_HTTP_PORT") or defaults[name])
        metrics = int(env.get(f"{prefix}_METRICS_PORT") or 0) or port + 1000
        require_free("127.0.0.1", port, f"{prefix}_HTTP_PORT", name)
        require_free("127.0.0.1", metrics, f"{prefix}_METRICS_PORT", f"{name} metrics")
        plan[name] = Service(name, port, metrics, log_dir / f"{name}.log")
    return plan


def spawner(env: dict[str, str]) -> Callable[[Service], None]:
    def spawn(svc: Service) -> None:
        prefix = svc.name.upper()
        with open(svc.log, "ab") as log:
            svc.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{svc.name}"], stdout=log, stderr=subprocess.STDOUT,
                env={**env, f"{prefix}_HTTP_PORT": str(svc.port), f"{prefix}_METRICS_PORT": str(svc.metrics_port)})
    return spawn


def is_ready(svc: Service) -> bool:
    """Answers /readyz with 200, and the listener is our process's, not a stranger's on the same port."""
    if svc.proc is None or svc.proc.poll() is not None:
        return False
    if proc_supported() and listener_owner(svc.proc.pid, "127.0.0.1", svc.port) != "ours":
        return False
    try:
        with urllib.request.urlopen(svc.url + "/readyz", timeout=2) as resp:  # noqa: S310 (loopback only)
            return bool(resp.status == 200)
    except OSError:
        return False


def tend(services: dict[str, Service], spawn: Callable[[Service], None], say: Callable[[str], None]) -> None:
    """Restart each crashed service after a back-off (doubling to 30 s), saying why it died."""
    now = time.monotonic()
    for svc in services.values():
        if svc.proc is None or svc.proc.poll() is None:
            continue
        if not svc.due:
            svc.crashes += 1
            svc.backoff = min(svc.backoff * 2, 30)
            svc.due = now + svc.backoff
            words = svc.last_words()
            say(f"{svc.name} exited with {svc.proc.returncode}{': ' + words if words else ''} ({svc.log}); "
                f"restarting in {svc.backoff:.0f}s")
        elif now >= svc.due:
            svc.due = 0.0
            spawn(svc)
