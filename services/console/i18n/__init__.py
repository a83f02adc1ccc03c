"""The console's one string catalogue: every module of this package contributes ``MESSAGES`` (key → (en, ru)).

An area adds ``i18n/<area>.py``; a key defined twice is an error at import, so two areas never fight over one.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"


def _load() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, pair in getattr(module, "MESSAGES", {}).items():
            if key in merged:
                raise RuntimeError(f"console string {key!r} is defined in both {owner[key]} and {info.name}")
            merged[key], owner[key] = pair, info.name
    return merged


CATALOGUE: dict[str, tuple[str, str]] = _load()


def language(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, **fmt: Any) -> str:
    """The string in ``lang``; an unknown key shows as itself (the catalogue test keeps that from shipping)."""
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    text = pair[LANGUAGES.index(language(lang))]
    return text.format(**fmt) if fmt else text


def from_accept_language(header: str | None) -> str:
    """The first of our languages the browser lists (quality order as sent), else English."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
