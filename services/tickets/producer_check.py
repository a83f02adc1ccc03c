"""The ledger applies a command only if a known producer signed it and owns its type
(shared/runtime/command_auth.py), and a ``SetFlag`` only for a flag its producer may set
(shared/contracts/flag_owners.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from shared.contracts.envelope import Envelope, Message
from shared.contracts.flag_owners import may_set_flag
from shared.contracts.schemas.tickets import SetFlag
from shared.runtime.command_auth import PRODUCER_HEADER, CommandVerifier, verification_keys
from shared.runtime.pipeline import RawRecord

from .settings import TicketsSettings

LEDGER = "tickets"
ProducerCheck = Callable[[RawRecord, tuple[Envelope, Message]], str | None]


def flag_refusal(headers: Iterable[tuple[str, bytes]], msg: Message) -> str | None:
    """Why a verified producer may not set this flag (None: it may, or it is no ``SetFlag``)."""
    if not isinstance(msg, SetFlag):
        return None
    producer = dict(headers).get(PRODUCER_HEADER, b"").decode(errors="replace")
    return None if may_set_flag(producer, msg.flag) else f"producer {producer} may not set the flag {msg.flag[:200]!r}"


def producer_check(settings: TicketsSettings) -> ProducerCheck:
    """The consumer's ``verify`` hook: the reason to dead-letter a record, or None. Built at start-up, so a
    production ledger missing any producer's key refuses to start."""
    verifier = CommandVerifier(verification_keys(settings, settings.command_keys, LEDGER))

    def check(record: RawRecord, delivery: tuple[Envelope, Message]) -> str | None:
        headers = list(record.headers or ())
        return verifier.refusal(headers, delivery[0], record.value or b"") or flag_refusal(headers, delivery[1])

    return check
