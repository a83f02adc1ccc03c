"""The ``frontline`` command: run one service, the embedded infrastructure, or everything.

Subcommands of other packages (e.g. ``frontline import contacts``) register through
:data:`EXTRA_COMMANDS` lazily, so this module imports no service code at start.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

# service name → default HTTP port (each service's settings carry the same default)
SERVICES: dict[str, int] = {
    "tickets": 8002,
    "intake": 8001,
    "routing": 8003,
    "sla": 8004,
    "notify": 8005,
    "feedback": 8006,
    "gateway": 8000,
}

# "group name" → "module:function(argv) -> int" for commands other packages own.
EXTRA_COMMANDS: dict[str, str] = {
    "import": "services.intake.importer:cli",
    "asyncapi": "shared.asyncapi:cli",
    "k8s": "shared.k8s:cli",
    "token": "services.gateway.auth:cli",
    "config-docs": "shared.settings_docs:config_cli",
    "demo": "shared.demo.run:cli",
}


def available_services() -> list[str]:
    return [name for name in SERVICES if importlib.util.find_spec(f"services.{name}.__main__") is not None]


def cmd_run(args: argparse.Namespace) -> int:
    if args.service not in SERVICES:
        print(f"unknown service {args.service!r}; choose from {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"services.{args.service}.__main__")
    module.main()
    return 0


def cmd_infra(args: argparse.Namespace) -> int:
    from shared.infra import EmbeddedInfra

    infra = EmbeddedInfra(data_dir=Path(args.data) if args.data else None, kafka_port=args.kafka_port,
                          mongo_port=args.mongo_port).start()
    for k, v in infra.env.items():
        print(f"export {k}={v}")
    sys.stdout.flush()
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        infra.stop()
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from shared.kafka import ensure_topics
    from shared.settings import CommonSettings

    asyncio.run(ensure_topics(CommonSettings()))
    print("topics ensured")
    return 0


def _wait_ready(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback only)
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def cmd_up(args: argparse.Namespace) -> int:
    """One supervisor: broker, database, every service; restarts a crashed service; Ctrl-C stops all."""
    from shared.infra import EmbeddedInfra

    var = Path(args.var).resolve()
    (var / "log").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    infra: EmbeddedInfra | None = None
    if not (env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("MONGODB_URI")):
        infra = EmbeddedInfra(data_dir=var, log_dir=var / "log", kafka_port=args.kafka_port,
                              mongo_port=args.mongo_port).start()
        env.update(infra.env)
        print(f"embedded broker on {infra.env['KAFKA_BOOTSTRAP_SERVERS']}, "
              f"database on {infra.env['MONGODB_URI']} (data in {var / 'mongo'})", flush=True)
    subprocess.run([sys.executable, "-m", "shared.cli", "topics"], env=env, check=True, stdout=subprocess.DEVNULL)
    names = [n for n in (args.services or available_services()) if n in SERVICES]
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(name: str) -> None:
        log = open(var / "log" / f"{name}.log", "ab")  # noqa: SIM115
        procs[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env,
                                       stdout=log, stderr=subprocess.STDOUT)

    for name in names:
        spawn(name)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    def url(name: str) -> str:
        return f"http://127.0.0.1:{os.environ.get(f'{name.upper()}_HTTP_PORT', SERVICES[name])}"

    not_ready = [n for n in names if not _wait_ready(url(n) + "/readyz", procs)]
    if not_ready:
        print(f"not ready: {', '.join(not_ready)} (see {var / 'log'})", flush=True)
    elif "gateway" in names:
        print(f"Frontline is up. Gateway: {url('gateway')}  (API docs: {url('gateway')}/docs)", flush=True)
    print(f"services: {', '.join(names)}; logs in {var / 'log'}; Ctrl-C stops everything", flush=True)
    restarts: dict[str, float] = {}
    try:
        while not stop:
            for name, proc in list(procs.items()):
                if proc.poll() is not None and not stop:
                    delay = min(restarts.get(name, 0.5) * 2, 30)
                    restarts[name] = delay
                    print(f"{name} exited with {proc.returncode}; restarting in {delay:.0f}s", flush=True)
                    time.sleep(delay)
                    spawn(name)
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if infra:
            infra.stop()
        print("stopped", flush=True)
    return 0


def _load(target: str) -> Callable[[list[str]], int]:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in EXTRA_COMMANDS:
        return _load(EXTRA_COMMANDS[argv[0]])(argv[1:])
    parser = argparse.ArgumentParser(prog="frontline", description="Frontline customer-service desk")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one service in the foreground")
    p.add_argument("service", choices=sorted(SERVICES))
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("infra", help="start the embedded broker and database and print their addresses")
    p.add_argument("--data", help="keep the database here (default: a temp dir)")
    p.add_argument("--kafka-port", type=int, default=0)
    p.add_argument("--mongo-port", type=int, default=0)
    p.set_defaults(fn=cmd_infra)
    p = sub.add_parser("up", help="broker, database and every service under one supervisor")
    p.add_argument("--var", default="var", help="data and logs (default ./var)")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("FRONTLINE_KAFKA_PORT", 19092)))
    p.add_argument("--mongo-port", type=int, default=int(os.environ.get("FRONTLINE_MONGO_PORT", 27027)))
    p.add_argument("services", nargs="*", help="only these services (default: all)")
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("topics", help="create missing topics")
    p.set_defaults(fn=cmd_topics)
    for name in EXTRA_COMMANDS:
        sub.add_parser(name, help=f"see `frontline {name} --help`")
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
