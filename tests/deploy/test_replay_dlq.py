"""deploy/replay_dlq.py on the real broker: a parked record goes back to its source with its own headers (a
command's signature included)."""

from __future__ import annotations

import importlib.util
import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from services.tickets.producer_check import producer_check
from services.tickets.settings import TicketsSettings
from shared.contracts.envelope import envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.kafka import KafkaBus, decode_envelope, ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.testing import Tap, eventually, make_settings

ROOT = Path(__file__).resolve().parents[2]


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("replay_dlq", ROOT / "deploy" / "replay_dlq.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


async def test_replay_writes_selected_dead_letters_back(env: dict[str, str]) -> None:
    replay = _module()
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    bus = KafkaBus(settings, "tickets")
    await bus.start()
    try:
        source = bus.topic(TICKETS_COMMANDS)
        for offset, (value, reason) in enumerate([(b'{"first": 1}', "undecodable: bad json"),
                                                  (b'{"second": 2}', "handler failed after 3 retries")]):
            record = SimpleNamespace(topic=source, partition=3, offset=40 + offset, key=b"T-9", value=value,
                                     headers=[("type", b"AddNote")])
            await bus.dead_letter(TICKETS_COMMANDS, record, reason, "tickets-ledger")  # type: ignore[arg-type]
    finally:
        await bus.stop()

    out = io.StringIO()
    assert await replay.replay(settings, TICKETS_COMMANDS, reason="handler failed", out=out) == 1
    assert "would be replayed" in out.getvalue() and "@41" in out.getvalue()
    async with Tap(settings, TICKETS_COMMANDS, raw=True) as tap:
        assert await replay.replay(settings, TICKETS_COMMANDS, reason="HANDLER", apply=True, out=out) == 1
        (rec,) = await tap_wait(tap)
    assert rec.key == b"T-9" and rec.value == b'{"second": 2}'
    assert list(rec.headers) == [("type", b"AddNote")], "x-dlq-* headers dropped, the original kept"


async def tap_wait(tap: Tap) -> list[object]:
    return await eventually(lambda: list(tap.items) or None, timeout=10, message="replayed record")


async def test_a_replayed_command_keeps_a_signature_the_ledger_accepts(env: dict[str, str]) -> None:
    """Parked after its producer signed it (say the ledger's database was down): the replay tool signs nothing,
    and needs not, since the original bytes and the producer's headers go back unchanged."""
    replay = _module()
    settings = make_settings(TicketsSettings, env)
    await ensure_topics(settings, [TICKETS_COMMANDS, TICKETS_COMMANDS.dead_letter])
    cmd = envelope_for(t.RecordNotification(notification_id="n-1", recipient="ann", channel="email", outcome="sent"),
                       "T-7", occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
    notify = KafkaBus(settings, "notify")
    await notify.start()
    try:
        async with Tap(settings, TICKETS_COMMANDS, raw=True) as tap:
            await notify.publish(TICKETS_COMMANDS, cmd)
            (original,) = await tap_wait(tap)
            await notify.dead_letter(TICKETS_COMMANDS, original, "handler failed after 3 retries", "tickets-ledger")
            out = io.StringIO()
            assert await replay.replay(settings, TICKETS_COMMANDS, apply=True, out=out) == 1
            replayed = await eventually(lambda: tap.items[1:] or None, timeout=30, message="the replayed command")
    finally:
        await notify.stop()
    (rec,) = replayed
    assert rec.value == original.value and dict(rec.headers)["x-producer"] == b"notify"
    assert producer_check(settings)(rec, decode_envelope(rec.value)) is None


def test_a_truncated_copy_is_never_replayed() -> None:
    """A record parked as a truncated copy (too large to dead-letter whole) would replay as a corrupt record."""
    whole = {"offset": 0, "key": b"k", "value": b"{}", "headers": {"x-dlq-reason": "rejected: bad"}}
    cut = {"offset": 1, "key": b"k", "value": b"{", "headers": {"x-dlq-reason": "oversize: 3000000 bytes",
                                                              "x-dlq-truncated": "true"}}
    assert _module().select([whole, cut], None, 0, None) == [whole]
