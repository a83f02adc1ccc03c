"""The client's language: decided once per ticket, from its opening message, and carried on ``TicketOpened``.

Everyone who writes to the client on that ticket (notify's e-mails, SMS and chat; feedback's survey and its
answer pages) reads that decision instead of guessing again.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> Language | None:
    """Cyrillic anywhere → ru; otherwise Latin letters → en; nothing to go on → None (each reader's default)."""
    if _CYRILLIC.search(text):
        return "ru"
    if _LATIN.search(text):
        return "en"
    return None
