"""`make up`'s supervisor (`frontline up`) as a newcomer runs it: it never runs on somebody else's broker or
database, it stops (non-zero) when the broker it started dies, and nothing it starts listens beyond loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.testing import eventually
from tools.cli import SERVICES
from tools.ports import LOOPBACK, descendants, free_port, listening_sockets, proc_supported

pytestmark = pytest.mark.skipif(not proc_supported(), reason="reads processes and listeners from /proc (Linux)")
START = 420.0  # seconds for every service to come up on a loaded 2-core machine


class Up:
    """``frontline up`` in a subprocess; its output lines collected as they come."""

    def __init__(self, var: Path, env: dict[str, str], services: list[str]) -> None:
        self.lines: list[str] = []
        # a session of its own, as a terminal gives it: Ctrl-C reaches the supervisor and its children at once
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "tools.cli", "up", "--var", str(var), *services],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def exited(self) -> bool:
        """The process is gone and everything it printed has been read."""
        if self.proc.poll() is None:
            return False
        self._reader.join(timeout=10)
        return True

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def line(self, pattern: str) -> re.Match[str] | None:
        return next((m for m in map(re.compile(pattern).search, self.lines) if m), None)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def up_env(**extra: str) -> dict[str, str]:
    """Embedded infrastructure (no servers given), development, and free ports for every service."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "FRONTLINE_ENVIRONMENT", "FRONTLINE_KAFKA_PORT",
                        "FRONTLINE_MONGO_PORT") and not k.endswith(("_HTTP_PORT", "_METRICS_PORT"))}
    for name in SERVICES:
        env[f"{name.upper()}_HTTP_PORT"], env[f"{name.upper()}_METRICS_PORT"] = str(free_port()), str(free_port())
    return env | extra


def ours_running(var: Path) -> list[str]:
    """Command lines of live processes that name this test's var dir (the database names its storage there)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and str(var) in cmd and int(entry.name) != os.getpid():
            found.append(cmd)
    return found


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


@pytest.fixture
def taken() -> Iterator[int]:
    """Somebody else's listener: a plain socket of this test process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("variable", ["FRONTLINE_KAFKA_PORT", "FRONTLINE_MONGO_PORT", "GATEWAY_HTTP_PORT"])
async def test_a_taken_port_fails_clearly_and_never_reports_up(tmp_path: Path, taken: int, variable: str) -> None:
    up = Up(tmp_path / "var", up_env(**{variable: str(taken)}), ["gateway"])
    try:
        await eventually(up.exited, timeout=120, message="`frontline up` to give up")
        assert up.proc.returncode == 2, up.output
        assert re.search(rf"port {taken}\b.*{variable}", up.output), up.output
        assert "Frontline is up" not in up.output, up.output
        assert ours_running(tmp_path / "var") == []
    finally:
        up.stop()


async def test_up_listens_on_loopback_only_and_stops_when_its_broker_dies(tmp_path: Path) -> None:
    env = up_env()
    up = Up(tmp_path / "var", env, ["--demo"])
    try:
        await eventually(lambda: up.line("Frontline is up") or up.proc.poll() is not None, timeout=START,
                         interval=0.5, message="`frontline up` to be up")
        assert up.proc.poll() is None, up.output
        gateway = f"http://127.0.0.1:{env['GATEWAY_HTTP_PORT']}"
        for row in (rf"gateway\s+{gateway}\s", rf"intake webhooks\s+http://127.0.0.1:{env['INTAKE_HTTP_PORT']}/",
                    rf"feedback pages\s+http://127.0.0.1:{env['FEEDBACK_HTTP_PORT']}", r"broker\s+127\.0\.0\.1:\d+",
                    r"database\s+mongodb://127\.0\.0\.1:\d+", r"mail catcher\s+http://127\.0\.0\.1:\d+"):
            assert up.line(row), (row, up.output)
        loading = await eventually(lambda: up.line(r"loading the demo desk in the background \(pid (\d+)"),
                                   timeout=60, interval=0.5, message="`--demo` to start the demo loader")
        demo_log = tmp_path / "var" / "log" / "demo.log"
        started_on = f"loading the demo desk through {gateway}"
        await eventually(lambda: demo_log.exists() and started_on in demo_log.read_text(), timeout=120,
                         interval=0.5, message="the demo loader to start on this desk's gateway")

        started = descendants(up.proc.pid)
        sockets = {pid: listening_sockets(pid) for pid in started}
        everywhere = {addr for socks in sockets.values() for addr in socks}
        assert {h for h, _ in everywhere} <= LOOPBACK, sockets
        ports = {p for _, p in everywhere}
        for name in SERVICES:  # every service's own port and metrics port are among them (the probe saw them all)
            assert {int(env[f"{name.upper()}_HTTP_PORT"]), int(env[f"{name.upper()}_METRICS_PORT"])} <= ports

        broker = up.line(r"broker ready on 127\.0\.0\.1:(\d+) \(pid (\d+)\)")
        assert broker is not None, up.output
        assert ("127.0.0.1", int(broker[1])) in sockets[int(broker[2])]
        os.kill(int(broker[2]), signal.SIGKILL)
        await eventually(up.exited, timeout=120, interval=0.2, message="the supervisor to stop after its broker died")
        assert up.proc.returncode == 1, up.output
        assert up.line(rf"embedded broker \(pid {broker[2]}\) exited with -9: stopping everything"), up.output
        assert still_running([*started, int(loading[1])]) == []  # it stopped everything it had started
    finally:
        up.stop()


async def test_ctrl_c_stops_everything_quietly(tmp_path: Path) -> None:
    up = Up(tmp_path / "var", up_env(), ["tickets"])
    try:
        await eventually(lambda: up.line("Frontline is up") or up.proc.poll() is not None, timeout=START,
                         interval=0.5, message="`frontline up` to be up")
        assert up.proc.poll() is None, up.output
        started = descendants(up.proc.pid)
        os.killpg(up.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
        await eventually(up.exited, timeout=120, interval=0.2, message="the supervisor to stop on Ctrl-C")
        assert up.proc.returncode == 0, up.output
        assert not up.line("exited with|restarting"), up.output  # children stopping are not reported as crashes
        assert up.lines[-1].endswith("stopped"), up.output
        assert still_running(started) == []
    finally:
        up.stop()
