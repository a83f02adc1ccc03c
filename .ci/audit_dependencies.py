"""`make scan`: pip-audit over the pinned dependencies (pyproject.toml) and the installed environment.

Fails on any known vulnerability. When the vulnerability service cannot be reached, or knows none of the pinned
versions (a PyPI mirror without per-version data answers 404 for each), nothing was audited: that is reported as
SKIPPED, loudly, instead of failing CI for the network or passing it as if it had been checked.
Set PIP_AUDIT_SERVICE=osv to ask OSV instead of PyPI's JSON API.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404: runs pip-audit from this venv with fixed arguments
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def pinned_requirements() -> list[str]:
    """Every ``name==version`` of the project and its extras (the image installs dependencies + tracing)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return sorted({r for r in reqs if "==" in r and not r.startswith(project["name"])})


def audit(args: list[str], what: str) -> tuple[int, int, list[str]]:
    """(audited, skipped, findings) of one pip-audit run; audited == 0 when the service answered nothing."""
    service = os.environ.get("PIP_AUDIT_SERVICE", "pypi")
    cmd = [str(PIP_AUDIT), "--format", "json", "--progress-spinner", "off", "--vulnerability-service", service, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)  # nosec B603: fixed command
    try:
        deps = json.loads(out.stdout)["dependencies"]
    except (ValueError, KeyError):
        reason = (out.stderr.strip().splitlines() or ["no output"])[-1][:300]
        print(f"pip-audit ({what}): no answer from the {service} service: {reason}")
        return 0, 0, []
    findings = [f"{d['name']}=={d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions', [])) or '-'})"
                for d in deps for v in d.get("vulns", [])]
    skipped = sum(1 for d in deps if d.get("skip_reason"))
    return len(deps) - skipped, skipped, findings


def main() -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(pinned_requirements()) + "\n")
    try:
        runs = {"pinned dependencies": audit(["-r", f.name, "--no-deps", "--disable-pip"], "pinned"),
                "installed environment": audit([], "environment")}
    finally:
        os.unlink(f.name)
    findings = [x for _, _, found in runs.values() for x in found]
    for what, (audited, skipped, _) in runs.items():
        print(f"pip-audit {what}: {audited} audited, {skipped} unknown to the vulnerability service")
    if findings:
        print("known vulnerabilities:\n  " + "\n  ".join(sorted(set(findings))))
        return 1
    if not any(audited for audited, _, _ in runs.values()):
        print("pip-audit: SKIPPED - the vulnerability service could not check any pinned version (unreachable, or "
              "a mirror without per-version data); nothing was audited. Run `make scan` where pypi.org or "
              "api.osv.dev answers.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
