"""The Makefile finds Python quietly and once: a pyenv shim for a version that is not installed prints
"pyenv: python3.13: command not found" each time it runs, and a newcomer saw ~40 such lines before `make up`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_python_probe_is_silent_and_runs_once(tmp_path: Path) -> None:
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for name in ("python3.13", "python3.12"):  # what pyenv's shims do for versions that are not installed
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\necho {name} >> {calls}\necho 'pyenv: {name}: command not found' >&2\nexit 127\n")
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "python3.11").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    # -n: print the install recipe (every line names $(PYTHON) or the venv) without running it; -B: even if installed
    out = subprocess.run(["make", "-n", "-B", "install"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "command not found" not in out.stderr + out.stdout, out.stderr
    assert "python3.11 -m venv" in out.stdout, out.stdout
    assert calls.read_text().split() == ["python3.13", "python3.12"], "the probe ran more than once"
