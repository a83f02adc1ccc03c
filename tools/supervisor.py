"""``frontline up`` (what ``make up`` runs): broker, database and every service under one supervisor.

A port that answers proves nothing: every port is checked free before anything starts (a taken one fails,
naming the variable that moves it), and a component counts as started only when the process we started holds
its listener. The broker and database are watched like the services: when one dies, everything stops with a
non-zero exit rather than keep running on nothing (the broker's storage process, where its kind has one, counts
as the broker: ``EmbeddedInfra.exited`` reports either).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools import brokers
from tools.infra import EmbeddedInfra
from tools.ports import PortInUse
from tools.up_report import Progress, address_table, infra_rows, service_rows
from tools.up_services import START_CRASHES, Service, is_ready, plan_services, spawner, tend


@dataclass
class Companion:
    """A process ``make up`` runs beside the services (e.g. the mail catcher): supervised like the broker, its
    ``url`` listed in the final table, its ``env`` given to every service."""

    name: str
    url: str
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""


# label → "module:function(var: Path, env: dict[str, str]) -> Companion": processes other modules add to `make up`
# (the mail catcher). One whose module is not there is skipped.
COMPANIONS: dict[str, str] = {"mail catcher": "tools.mailcatcher:companion"}


def _start_companions(var: Path, env: dict[str, str], started: list[Companion]) -> None:
    """Start each companion whose module is there, appending as it goes (so a later failure stops the earlier)."""
    for target in COMPANIONS.values():
        module, func = target.split(":")
        if importlib.util.find_spec(module) is not None:
            started.append(getattr(importlib.import_module(module), func)(var, env))


def run_up(var: Path, names: list[str], defaults: dict[str, int], kafka_port: int, mongo_port: int,
           ready_timeout: float = 300, demo: bool = False) -> int:
    """Start, report, supervise; returns the exit code (0 after Ctrl-C, 1 when the broker or database died,
    2 when something could not start)."""
    say = Progress().say
    (var / "log").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    infra: EmbeddedInfra | None = None
    companions: list[Companion] = []
    services: dict[str, Service] = {}
    loader: subprocess.Popen[bytes] | None = None

    def dead_infra() -> list[str]:
        dead = infra.exited() if infra else []
        return dead + [f"{c.name} (pid {c.proc.pid}) exited with {c.proc.returncode}" for c in companions
                       if c.proc is not None and c.proc.poll() is not None]

    try:
        services = plan_services(names, env, defaults, var / "log")
        if "feedback" in services:
            env.setdefault("FEEDBACK_PUBLIC_BASE_URL", services["feedback"].url)
        if "notify" in services:  # the gateway reads people's feeds and previews through notify's API
            env.setdefault("GATEWAY_NOTIFY_URL", services["notify"].url)
        if "search" in services:  # the gateway's full-text search; the embedded index kept under var/
            env.setdefault("GATEWAY_SEARCH_URL", services["search"].url)
            env.setdefault("SEARCH_INDEX_DIR", str(var / "search"))
        if "knowledge" in services:  # the gateway's knowledge base API calls the knowledge service
            env.setdefault("GATEWAY_KNOWLEDGE_URL", services["knowledge"].url)
        if "console" in services:  # the web console calls the gateway's API; `make up` is the one place its
            # development sign-in is switched on (a one-machine desk of demo people)
            env.setdefault("CONSOLE_DEV_SIGN_IN", "true")
            env.setdefault("CONSOLE_PUBLIC_URL", services["console"].url)
            env.setdefault("GATEWAY_PORTAL_URL", services["console"].url)  # where mailed sign-in links point
            env.setdefault("NOTIFY_PORTAL_URL", services["console"].url)  # an SMS/chat reply's files are there
            if "gateway" in services:
                env.setdefault("CONSOLE_GATEWAY_URL", services["gateway"].url)
        embedded = not (env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("MONGODB_URI"))
        if embedded:
            say(f"starting the embedded broker ({brokers.configured_kind(env)}) and database (SecantusDB)")
            infra = EmbeddedInfra.for_make_up(var, env, kafka_port, mongo_port)
            env.update(infra.env)
            assert infra.broker is not None and infra.database is not None
            say(f"broker ready on {infra.host}:{infra.kafka_port} (pid {infra.broker.pid})")
            say(f"database ready on {infra.host}:{infra.mongo_port} (pid {infra.database.pid}); data in {var}/mongo")
        _start_companions(var, env, companions)
        for c in companions:
            env.update(c.env)
            say(f"{c.name} ready on {c.url}" + (f" (pid {c.proc.pid})" if c.proc else ""))
        say("creating topics")
        subprocess.run([sys.executable, "-m", "tools.cli", "topics"], env=env, check=True, stdout=subprocess.DEVNULL,
                       timeout=180)
    except (PortInUse, RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
        print(f"frontline up: cannot start: {exc}", file=sys.stderr, flush=True)
        _shutdown(services, infra, companions)
        return 2
    spawn = spawner(env)
    try:
        for svc in services.values():
            spawn(svc)
        say(f"starting {len(services)} services: {', '.join(services)} (logs in {var / 'log'})")
        code = _await_services(services, dead_infra, stop, spawn, say, ready_timeout)
        if code is None:
            rows = service_rows({n: s.url for n, s in services.items()})
            rows += [(c.name, c.url, c.note) for c in companions]
            rows += infra_rows(env, infra is not None, str(var / "mongo"))
            print(f"Frontline is up.\n{address_table(rows)}\nlogs in {var / 'log'}; Ctrl-C stops everything",
                  flush=True)
            if demo:
                loader = _load_demo(services, env, var / "log" / "demo.log")
                say(f"loading the demo desk in the background (pid {loader.pid}, log in {var / 'log' / 'demo.log'})")
            code = _supervise(services, dead_infra, stop, spawn, say)
    finally:
        if loader is not None and loader.poll() is None:
            loader.terminate()
        _shutdown(services, infra, companions)
        say("stopped")
    return code


def _load_demo(services: dict[str, Service], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``frontline demo`` against this desk's own addresses; it only talks to the public APIs."""
    urls = [arg for name in ("gateway", "intake", "notify") if name in services
            for arg in (f"--{name}", services[name].url)]
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tools.cli", "demo", *urls], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _await_services(services: dict[str, Service], dead_infra: Callable[[], list[str]], stop: list[int],
                    spawn: Callable[[Service], None], say: Callable[[str], None], timeout: float) -> int | None:
    """Report each service as it becomes ready; None when all are, else the exit code to stop with."""
    pending, deadline = dict(services), time.monotonic() + timeout
    while pending and not stop:
        if dead := dead_infra():
            say(f"{'; '.join(dead)}: stopping everything")
            return 1
        tend(services, spawn, say)
        for name, svc in list(pending.items()):
            if svc.crashes >= START_CRASHES:
                say(f"{name} crashed {svc.crashes} times while starting; giving up (see {svc.log})")
                return 2
            if is_ready(svc):
                assert svc.proc is not None
                say(f"{name} ready on {svc.url} (pid {svc.proc.pid})")
                del pending[name]
        if time.monotonic() > deadline:
            say(f"not ready after {timeout:.0f}s: {', '.join(f'{n} ({s.log})' for n, s in pending.items())}")
            return 2
        time.sleep(0.3)
    return 0 if stop else None


def _supervise(services: dict[str, Service], dead_infra: Callable[[], list[str]], stop: list[int],
               spawn: Callable[[Service], None], say: Callable[[str], None]) -> int:
    """Restart a crashed service; stop everything when the broker, the database or a companion dies."""
    while not stop:
        dead = dead_infra()
        if stop:  # Ctrl-C reaches the children too: what exits now is stopping, not crashing
            break
        if dead:
            say(f"{'; '.join(dead)}: stopping everything (run `make up` again)")
            return 1
        tend(services, spawn, say)
        time.sleep(0.3)
    return 0


def _shutdown(services: dict[str, Service], infra: EmbeddedInfra | None, companions: list[Companion]) -> None:
    procs = [s.proc for s in services.values() if s.proc is not None and s.proc.poll() is None]
    procs += [c.proc for c in companions if c.proc is not None and c.proc.poll() is None]
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if infra:
        infra.stop()
