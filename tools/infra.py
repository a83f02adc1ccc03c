"""Embedded one-machine infrastructure: a broker (``tools.brokers``, one of several kinds) and SecantusDB.

Used by ``make up`` (``frontline up`` / ``frontline infra``: the durable broker kind, ``FRONTLINE_BROKER``) and the
test fixtures (the fast memory engine). When ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URI`` are set, nothing here
starts.
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
from pathlib import Path

from tools import brokers
from tools.portgate import PortGate
from tools.ports import free_port, require_free, wait_for_listener, wait_for_port

__all__ = ["EmbeddedInfra", "KAFKA_PORT_VAR", "MONGO_PORT_VAR", "PortGate", "free_port", "wait_for_port"]

# The variables that pin the embedded broker's and database's ports (unset: a free port is chosen).
KAFKA_PORT_VAR = "FRONTLINE_KAFKA_PORT"
MONGO_PORT_VAR = "FRONTLINE_MONGO_PORT"
BROKER, DATABASE = "embedded broker", "embedded database"


def secantus_command() -> list[str]:
    exe = shutil.which("secantusd-py", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise RuntimeError("the embedded database needs `pip install frontline[embedded]` (SecantusDB)")
    return [exe]


@dataclass
class EmbeddedInfra:
    """Broker and database processes; ``data_dir`` keeps the database (and a durable broker) on disk (None: a temp
    dir). ``broker_kind`` is one of :data:`tools.brokers.KINDS`; the memory engine loses everything on a restart.

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
    broker_kind: str = "tansu-memory"
    broker_handle: brokers.Broker | None = None

    @classmethod
    def for_make_up(cls, var: Path, env: dict[str, str], kafka_port: int = 0, mongo_port: int = 0) -> EmbeddedInfra:
        """Started as ``make up`` starts it: data and logs under ``var``."""
        return cls(data_dir=var, log_dir=var / "log", kafka_port=kafka_port, mongo_port=mongo_port,
                   broker_kind=brokers.configured_kind(env)).start()

    @property
    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": f"{self.host}:{self.kafka_port}",
            # retryWrites=false: SecantusDB prunes (and past 10,000 records sorts) its whole table of retryable
            # writes on every write, so with them a long run slows to a tenth (650 → 71 inserts/s after 12,000
            # writes, measured). Every handler is idempotent and a failed write is redone by redelivery, so
            # nothing relies on the driver's one silent retry; MongoDB keeps its default.
            # serverMonitoringMode=poll: the driver's monitor asks once per heartbeat (10 s) instead of holding a
            # streaming check open beside a round-trip pinger; one server, no failover to notice sooner. bench.idle:
            # the database's idle CPU 0.30-0.37 -> 0.16 % of a core.
            "MONGODB_URI": f"mongodb://{self.host}:{self.mongo_port}/"
                           "?directConnection=true&retryWrites=false&serverMonitoringMode=poll",
            "KAFKA_IDEMPOTENCE": str(self.broker_kind in brokers.IDEMPOTENT_KINDS).lower(),
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
            self.database = self._spawn_database()
            self._start_broker()
            if self.gated:
                self.gate = PortGate(self.host, self.kafka_port, self.broker_port).start()
            self._await_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _await_database(self, timeout: float = 60) -> None:
        assert self.database is not None
        wait_for_listener(self.database, self.host, self.mongo_port, DATABASE, MONGO_PORT_VAR, timeout=timeout)

    def exited(self) -> list[str]:
        """What of ours has died: "embedded broker (pid N) exited with C" per dead process (for the supervisor)."""
        dead = self.broker_handle.exited() if self.broker_handle else []
        if self.database is not None and self.database.poll() is not None:
            dead.append(f"{DATABASE} (pid {self.database.pid}) exited with {self.database.returncode}")
        return dead

    def _start_broker(self) -> None:
        """The broker (and its storage process, if its kind has one) on ``broker_port``; on disk under
        ``data_dir/broker`` when there is a data dir, so a restart finds what was acknowledged."""
        handle = brokers.start(self.broker_kind, self.data_dir / "broker" if self.data_dir else None, self.host,
                               self.broker_port, advertised_port=self.kafka_port, log_dir=self.log_dir)
        self.broker_handle, self.broker = handle, handle.proc
        self.procs.extend(handle.processes)

    def _spawn_database(self) -> subprocess.Popen[bytes]:
        assert self.storage is not None
        return self._spawn([*secantus_command(), "--host", self.host, "--port", str(self.mongo_port),
                            "--storage-path", str(self.storage),
                            "--standalone"], "database")  # no replica set: no oplog to write (nothing watches)

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
        if self.broker_handle is not None:
            self.broker_handle.stop()  # already ended above; this removes a temporary broker data dir
        self.broker = self.database = self.broker_handle = None
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
        """SIGKILL (default: broker and storage at the same instant) or SIGTERM the broker; the memory engine loses
        every topic, record and offset, a durable kind keeps what it acknowledged."""
        if self.gate is not None:
            self.gate.close()
        handle = self.broker_handle
        if handle is not None:
            handle.kill() if kill else handle.terminate()
            for proc in handle.processes:
                if proc in self.procs:
                    self.procs.remove(proc)
        self.broker = None

    def start_broker(self, prepare: Callable[[str, int], None] | None = None) -> None:
        """Start the broker again on the same port and data dir (the memory engine comes back empty).
        ``prepare(host, broker_port)`` runs before clients can reach it (gated only): create the topics there,
        speaking to the broker's own port."""
        if self.broker is not None and self.broker.poll() is None:
            raise RuntimeError("the broker is running")
        self._start_broker()
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
