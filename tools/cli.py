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
import sys
from collections.abc import Callable
from pathlib import Path

from shared.runtime.run import SERVICES, run

# "group name" → "module:function(argv) -> int" for commands other packages own.
EXTRA_COMMANDS: dict[str, str] = {
    "import": "services.intake.importer:cli",
    "asyncapi": "tools.asyncapi:cli",
    "k8s": "tools.k8s:cli",
    "token": "services.gateway.access.auth:cli",
    "config-docs": "tools.settings_docs:config_cli",
    "demo": "tools.demo.run:cli",
    "search": "services.search.cli:cli",
}


def available_services() -> list[str]:
    return [name for name in SERVICES if importlib.util.find_spec(f"services.{name}.__main__") is not None]


def cmd_run(args: argparse.Namespace) -> int:
    return run(args.service)


def cmd_infra(args: argparse.Namespace) -> int:
    from tools import brokers
    from tools.infra import EmbeddedInfra
    from tools.ports import PortInUse

    try:  # the broker kind `make up` runs (FRONTLINE_BROKER, default the durable one)
        infra = EmbeddedInfra(data_dir=Path(args.data) if args.data else None, kafka_port=args.kafka_port,
                              mongo_port=args.mongo_port, broker_kind=brokers.configured_kind()).start()
    except (PortInUse, RuntimeError, TimeoutError) as exc:
        print(f"frontline infra: cannot start: {exc}", file=sys.stderr)
        return 2
    for k, v in infra.env.items():
        print(f"export {k}={v}")
    sys.stdout.flush()
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        infra.stop()
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from shared.runtime.kafka import ensure_topics
    from shared.runtime.settings import CommonSettings

    asyncio.run(ensure_topics(CommonSettings()))
    print("topics ensured")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """One supervisor: broker, database, every service (tools/supervisor.py); Ctrl-C stops all."""
    from tools.supervisor import run_up

    names = [n for n in (args.services or available_services()) if n in SERVICES]
    return run_up(Path(args.var).resolve(), names, SERVICES, args.kafka_port, args.mongo_port, demo=args.demo)


def _port_default(variable: str) -> int:
    """The port a variable pins, or 0: a free port is chosen."""
    return int(os.environ.get(variable) or 0)


def _load(target: str) -> Callable[[list[str]], int]:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in EXTRA_COMMANDS:
        return _load(EXTRA_COMMANDS[argv[0]])(argv[1:])
    from tools.infra import KAFKA_PORT_VAR, MONGO_PORT_VAR

    parser = argparse.ArgumentParser(prog="frontline", description="Frontline customer-service desk")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one service in the foreground")
    p.add_argument("service", choices=sorted(SERVICES))
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("infra", help="start the embedded broker and database and print their addresses")
    p.add_argument("--data", help="keep the database and the broker here (default: a temp dir)")
    p.add_argument("--kafka-port", type=int, default=_port_default(KAFKA_PORT_VAR))
    p.add_argument("--mongo-port", type=int, default=_port_default(MONGO_PORT_VAR))
    p.set_defaults(fn=cmd_infra)
    p = sub.add_parser("up", help="broker, database and every service under one supervisor")
    p.add_argument("--var", default="var", help="data and logs (default ./var)")
    p.add_argument("--kafka-port", type=int, default=_port_default(KAFKA_PORT_VAR),
                   help=f"the embedded broker's port (default: {KAFKA_PORT_VAR}, else a free one)")
    p.add_argument("--mongo-port", type=int, default=_port_default(MONGO_PORT_VAR),
                   help=f"the embedded database's port (default: {MONGO_PORT_VAR}, else a free one)")
    p.add_argument("--demo", action="store_true", help="once up, load the demo desk (as `frontline demo` does)")
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
