"""docs/security.md names, for every boundary, the test that attacks it: each named test must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `tests/x.py::name`, or a bare `::name` that continues the last path named in the same cell
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?)(?:::(\w+))?(?:\[[^\]]*\])?`")


def referenced_tests() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for line in (ROOT / "docs/security.md").read_text().splitlines():
        last = ""
        for path, name in REFERENCE.findall(line):
            if not path and not name:
                continue
            last = path or last
            found.append((last, name or None))
    return found


def test_every_test_the_threat_model_names_exists() -> None:
    refs = referenced_tests()
    assert len(refs) >= 30, "the threat model names its tests"
    missing = []
    for path, name in refs:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
            continue
        if name:
            tree = ast.parse(file.read_text())
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)}
            if name not in defined:
                missing.append(f"{path}::{name}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_every_security_test_file_is_in_the_threat_model() -> None:
    named = {path for path, _ in referenced_tests()}
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "tests/security").glob("test_*.py")}
    files.discard("tests/security/test_security_map.py")
    assert files <= named, f"attack tests missing from docs/security.md: {sorted(files - named)}"
