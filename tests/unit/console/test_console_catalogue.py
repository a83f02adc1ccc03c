"""The one string catalogue: every key in both languages, every key the code and templates use defined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.console import i18n
from services.console.i18n import CATALOGUE, LANGUAGES, from_accept_language, t

ROOT = Path(i18n.__file__).parents[1]
USED = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")


def test_every_key_has_every_language() -> None:
    assert LANGUAGES == ("en", "ru")
    missing = [k for k, pair in CATALOGUE.items() if len(pair) != 2 or not all(s.strip() for s in pair)]
    assert not missing


def test_every_key_used_in_code_and_templates_exists() -> None:
    files = [*ROOT.rglob("*.py"), *ROOT.rglob("*.html")]
    used = {(m.group(1), f.name) for f in files for m in USED.finditer(f.read_text())}
    assert len(used) > 30  # the scan finds the keys (a broken pattern would pass everything)
    # t("queue." ~ name) builds its key: the prefix must at least begin some keys
    def known(key: str) -> bool:
        return any(k.startswith(key) for k in CATALOGUE) if key.endswith(".") else key in CATALOGUE
    assert sorted(k for k in used if not known(k[0])) == []


def test_a_key_defined_twice_refuses_to_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text('MESSAGES = {"dup.key": ("a", "а")}\n')
    (tmp_path / "two.py").write_text('MESSAGES = {"dup.key": ("b", "б")}\n')
    monkeypatch.setattr(i18n, "__path__", [str(tmp_path)])
    monkeypatch.syspath_prepend(str(tmp_path.parent))
    monkeypatch.setattr(i18n, "__name__", tmp_path.name)
    with pytest.raises(RuntimeError, match="dup.key"):
        i18n._load()


def test_language_from_the_browser_and_formatting() -> None:
    assert from_accept_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert from_accept_language("de-DE,de;q=0.9") == "en"
    assert t("queue.count", "ru", n=3) == "обращений: 3" and t("queue.count", "xx", n=3) == "3 tickets"
