"""Identifiers. Derived ids make redelivered work produce the same ids, so effects dedupe."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1c2a52-4c1e-4b8e-9a57-1f0e3c1b7d10")


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*parts: object) -> str:
    """Deterministic id from its parts: the same cause always yields the same id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))
