"""The ledger applies a command only if a known producer signed it and owns its type
(shared/runtime/command_auth.py)."""

from __future__ import annotations

from collections.abc import Callable

from shared.contracts.envelope import Envelope, Message
from shared.runtime.command_auth import CommandVerifier, verification_keys
from shared.runtime.pipeline import RawRecord

from .settings import TicketsSettings

LEDGER = "tickets"
ProducerCheck = Callable[[RawRecord, tuple[Envelope, Message]], str | None]


def producer_check(settings: TicketsSettings) -> ProducerCheck:
    """The consumer's ``verify`` hook: the reason to dead-letter a record, or None. Built at start-up, so a
    production ledger missing any producer's key refuses to start."""
    verifier = CommandVerifier(verification_keys(settings, settings.command_keys, LEDGER))

    def check(record: RawRecord, delivery: tuple[Envelope, Message]) -> str | None:
        return verifier.refusal(record.headers or (), delivery[0], record.value or b"")

    return check
