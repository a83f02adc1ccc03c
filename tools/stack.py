"""The whole system as separate OS processes: end-to-end scenarios, fault tests, benchmarks.

``Stack`` starts every service (or a named subset) as its own :class:`~tools.processes.ServiceProcess`
against the broker and database named in ``env`` and waits until each answers ``/readyz``::

    with Stack(env, tmp_path / "logs", extra_env={"NOTIFY_SMTP_PORT": "2525"}) as stack:
        httpx.post(stack.url("intake") + "/api/v1/inbound", json=...)
        stack.restart("tickets")   # kill -9, start again on the same port, wait ready

Ports (each service's HTTP port, and its metrics port: :meth:`Stack.metrics_url`) are chosen before anything
starts, so settings that name another service's address can point at it: ``FEEDBACK_PUBLIC_BASE_URL`` (the
links in survey mails) defaults to the feedback process's own URL, ``GATEWAY_NOTIFY_URL`` to notify's. Every
process gets the same env (``env`` + ``extra_env``); put ``FRONTLINE_CLOCK_FILE`` there to move all their clocks
at once with :meth:`shared.runtime.clock.FileClock.write`. Logs go to ``log_dir/<service>.log`` (appended across
restarts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from tools.cli import SERVICES
from tools.infra import free_port
from tools.processes import ServiceProcess

# Every service, in `make up`'s start order: the ledger first, so the commands the others send find it consuming.
ALL: tuple[str, ...] = tuple(SERVICES)


class Stack:
    """Services as real processes; a context manager that stops them all on exit."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, services: Iterable[str] = ALL,
                 extra_env: Mapping[str, str] | None = None, ready_timeout: float = 90.0,
                 ensure_topics: bool = True) -> None:
        names = list(dict.fromkeys(services))
        unknown = [n for n in names if n not in ALL]
        if unknown:
            raise ValueError(f"unknown services {unknown}; choose from {ALL}")
        self.log_dir, self.ready_timeout, self._ensure_topics = Path(log_dir), ready_timeout, ensure_topics
        ports = {name: free_port() for name in names}
        self.env: dict[str, str] = {**env, **(extra_env or {})}
        if "feedback" in ports:
            self.env.setdefault("FEEDBACK_PUBLIC_BASE_URL", f"http://127.0.0.1:{ports['feedback']}")
        if "notify" in ports:  # the gateway reads people's feeds and previews through notify's API
            self.env.setdefault("GATEWAY_NOTIFY_URL", f"http://127.0.0.1:{ports['notify']}")
        if "search" in ports:  # the gateway's full-text search; each stack's embedded index in its own folder
            self.env.setdefault("GATEWAY_SEARCH_URL", f"http://127.0.0.1:{ports['search']}")
            self.env.setdefault("SEARCH_INDEX_DIR", str(self.log_dir / "search-index"))
        if "knowledge" in ports:  # the gateway's knowledge base API calls the knowledge service
            self.env.setdefault("GATEWAY_KNOWLEDGE_URL", f"http://127.0.0.1:{ports['knowledge']}")
        if "console" in ports:  # the console's links point at itself; it reads everything through the gateway
            self.env.setdefault("CONSOLE_PUBLIC_URL", f"http://127.0.0.1:{ports['console']}")
            if "gateway" in ports:
                self.env.setdefault("CONSOLE_GATEWAY_URL", f"http://127.0.0.1:{ports['gateway']}")
                self.env.setdefault("GATEWAY_PORTAL_URL", self.env["CONSOLE_PUBLIC_URL"])  # mailed sign-in links
        self.procs: dict[str, ServiceProcess] = {
            name: ServiceProcess(name, self.env, self.log_dir, port=port) for name, port in ports.items()}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every process, then wait until all are ready; on failure stop what started."""
        try:
            if self._ensure_topics:
                # one process creates the topics up front (as `make up` does), so the services
                # starting together do not race each other creating them
                subprocess.run([sys.executable, "-m", "tools.cli", "topics"], env={**os.environ, **self.env},
                               check=True, stdout=subprocess.DEVNULL, timeout=self.ready_timeout)
            for proc in self.procs.values():
                proc.start()
            for proc in self.procs.values():
                proc.wait_ready(self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM every running process (reverse start order); kill -9 one that does not exit."""
        for proc in reversed(self.procs.values()):
            try:
                proc.stop()
            except subprocess.TimeoutExpired:
                proc.kill()

    def kill(self, name: str) -> None:
        """kill -9 one service and reap it."""
        self[name].kill()

    def restart(self, name: str, timeout: float | None = None) -> None:
        """kill -9 one service, start it again on the same port with the same env, wait until ready."""
        proc = self[name]
        proc.kill()
        proc.start().wait_ready(timeout or self.ready_timeout)

    def start_service(self, name: str, timeout: float | None = None) -> None:
        """Start one service that was killed or stopped (same port, same env) and wait until ready."""
        proc = self[name]
        if self.running(name):
            raise RuntimeError(f"{name} is already running")
        proc.start().wait_ready(timeout or self.ready_timeout)

    # -- access ----------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> ServiceProcess:
        try:
            return self.procs[name]
        except KeyError:
            raise KeyError(f"{name} is not part of this stack ({', '.join(self.procs)})") from None

    def url(self, name: str) -> str:
        """``http://127.0.0.1:<port>`` of one service (stable across restarts)."""
        return self[name].url

    def metrics_url(self, name: str) -> str:
        """One service's Prometheus page, on its metrics port (stable across restarts)."""
        return self[name].metrics_url

    def running(self, name: str) -> bool:
        proc = self[name].proc
        return proc is not None and proc.poll() is None

    def log(self, name: str) -> str:
        """What the service has written to its log so far (for assertion messages)."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
