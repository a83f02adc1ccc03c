"""`make scan`'s dependency audit (.ci/audit_dependencies.py) decides right on pip-audit's answers.

pip-audit itself is replaced by a script printing a canned answer: the gate must fail on a finding, and report
SKIPPED (not a pass) when the vulnerability service audited nothing.
"""

from __future__ import annotations

import importlib.util
import json
import stat
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: dict[str, object]) -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", ROOT / ".ci" / "audit_dependencies.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fake = tmp_path / "pip-audit"
    fake.write_text(f"#!/bin/sh\ncat <<'JSON'\n{json.dumps(answer)}\nJSON\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(mod, "PIP_AUDIT", fake)
    return mod


def test_pins_come_from_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = gate(tmp_path, monkeypatch, {}).pinned_requirements()
    assert set(project["dependencies"]) | set(project["optional-dependencies"]["tracing"]) <= set(pins)
    assert all("==" in p for p in pins) and not any(p.startswith("frontline") for p in pins)


def test_a_known_vulnerability_fails_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    answer = {"dependencies": [{"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}]}, {"name": "pyyaml", "version": "6.0.3",
                                                                     "vulns": []}]}
    assert gate(tmp_path, monkeypatch, answer).main() == 1
    assert "jinja2==3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in capsys.readouterr().out


def test_nothing_audited_is_reported_as_skipped_not_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    answer = {"dependencies": [{"name": "jinja2", "version": "3.1.6", "skip_reason": "Dependency not found"}]}
    assert gate(tmp_path, monkeypatch, answer).main() == 0
    assert "SKIPPED" in capsys.readouterr().out


def test_clean_audit_passes_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    answer = {"dependencies": [{"name": "jinja2", "version": "3.1.6", "vulns": []}]}
    assert gate(tmp_path, monkeypatch, answer).main() == 0
    out = capsys.readouterr().out
    assert "SKIPPED" not in out and "1 audited" in out
