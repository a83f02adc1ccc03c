"""A real ClamAV daemon for the malware-scan tests, with a signature database of our own.

This machine has no network for freshclam, so :func:`clamd_server` writes one MD5 signature of the EICAR test file
(``.hdb``: md5:size:name) into a temporary DatabaseDirectory and starts Debian's clamd in the foreground on a free
loopback TCP port with a throwaway config. It skips the calling test with the reason when clamd is not installed
(scripts/system-deps.sh installs clamav-daemon) or does not start. The session fixture ``clamd`` yields its
``tcp://`` address; import it into a test module to use it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tools.infra import free_port

CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if os.path.exists("/usr/sbin/clamd") else None)
# The EICAR anti-virus test file: harmless, and every scanner reports it (here as Eicar-Test-Signature).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
START_SECONDS = 90  # loading even one signature takes clamd a few seconds; the machine is busy


def _config(root: Path, port: int) -> str:
    return "\n".join([
        "Foreground yes", f"DatabaseDirectory {root / 'db'}", f"TCPSocket {port}", "TCPAddr 127.0.0.1",
        f"LogFile {root / 'clamd.log'}", f"PidFile {root / 'clamd.pid'}", f"TemporaryDirectory {root}",
        "StreamMaxLength 50M", "SelfCheck 3600", ""])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


@contextmanager
def clamd_server() -> Iterator[str]:
    """clamd on a free port for as long as the block runs; skips the caller when it cannot run here."""
    if CLAMD is None:
        pytest.skip("clamd is not installed (run scripts/system-deps.sh to install clamav-daemon)")
    root = Path(tempfile.mkdtemp(prefix="frontline-clamd-"))
    (root / "db").mkdir()
    (root / "db" / "frontline-test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n")
    port = free_port()
    (root / "clamd.conf").write_text(_config(root, port))
    proc = subprocess.Popen([CLAMD, "-c", str(root / "clamd.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _pings(port):
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.skip(f"clamd did not start: {err.strip()[-500:]}")
            if time.monotonic() > deadline:
                pytest.skip(f"clamd did not answer within {START_SECONDS} s")
            time.sleep(0.2)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def clamd() -> Iterator[str]:
    with clamd_server() as url:
        yield url


def dead_scanner() -> str:
    """An address where no clamd answers (a scanner that is down)."""
    return f"tcp://127.0.0.1:{free_port()}"
