"""deploy/replay_dlq.py on the real broker: a parked record goes back to its source with its own headers."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import SimpleNamespace

from shared.kafka import KafkaBus, ensure_topics
from shared.settings import CommonSettings
from shared.testing import Tap, make_settings
from shared.topics import TICKETS_COMMANDS

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
    from shared.testing import eventually

    return await eventually(lambda: list(tap.items) or None, timeout=10, message="replayed record")
