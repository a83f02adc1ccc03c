"""Replay dead letters: write parked records back to the topic they came from.

    python deploy/replay_dlq.py tickets.commands                 # list what is parked (dry run)
    python deploy/replay_dlq.py tickets.commands --apply         # replay all of it
    python deploy/replay_dlq.py tickets.commands --reason "handler failed" --from-offset 120 --apply

Connection settings come from the usual environment (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SASL_*,
FRONTLINE_TOPIC_PREFIX). Records go back with their original key, value and headers (the ``x-dlq-*``
headers are dropped), so the same partition and the same handlers see them again; a command keeps its
producer's signature (``x-producer``, ``x-signature``), so the ledger accepts it as that producer's. Handlers are
idempotent, so replaying a record twice, or one that a later fix already handled, has no second effect.
Fix the cause first (deploy the fix, add the missing directory entry...), or the record comes straight back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from shared.contracts.topics import ALL_TOPICS, TopicSpec
from shared.runtime.kafka import KafkaBus, read_dead_letters
from shared.runtime.settings import CommonSettings


def select(records: list[dict[str, Any]], reason: str | None, from_offset: int, to_offset: int | None,
           ) -> list[dict[str, Any]]:
    """The records to replay; a truncated copy (parked because the original was too large) never is."""
    return [r for r in records
            if (reason is None or reason.lower() in r["headers"].get("x-dlq-reason", "").lower())
            and r["offset"] >= from_offset and (to_offset is None or r["offset"] <= to_offset)
            and r["headers"].get("x-dlq-truncated") != "true"]


def original_headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items() if not k.startswith("x-dlq-")]


async def replay(settings: CommonSettings, spec: TopicSpec, *, reason: str | None = None, from_offset: int = 0,
                 to_offset: int | None = None, apply: bool = False, out: Any = sys.stdout) -> int:
    records = select(await read_dead_letters(settings, spec), reason, from_offset, to_offset)
    for r in records:
        h = r["headers"]
        print(f"dlq offset {r['offset']}: from {h.get('x-dlq-source-topic')}[{h.get('x-dlq-source-partition')}]"
              f"@{h.get('x-dlq-source-offset')} group {h.get('x-dlq-group')}: {h.get('x-dlq-reason', '')[:200]}",
              file=out)
    if not apply:
        print(f"{len(records)} record(s) would be replayed; add --apply", file=out)
        return len(records)
    bus = KafkaBus(settings, "replay")
    await bus.start()
    try:
        for r in records:
            target = r["headers"].get("x-dlq-source-topic") or spec.full(settings.topic_prefix)
            await bus.publish_raw(target, r["key"], r["value"] or b"", original_headers(r["headers"]))
    finally:
        await bus.stop()
    print(f"{len(records)} record(s) replayed", file=out)
    return len(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("topic", choices=[t.name for t in ALL_TOPICS], help="the SOURCE topic (its .dlq is read)")
    parser.add_argument("--reason", help="only records whose x-dlq-reason contains this")
    parser.add_argument("--from-offset", type=int, default=0, help="first dead-letter offset to replay")
    parser.add_argument("--to-offset", type=int, help="last dead-letter offset to replay")
    parser.add_argument("--apply", action="store_true", help="really write (default: list only)")
    args = parser.parse_args(argv)
    spec = next(t for t in ALL_TOPICS if t.name == args.topic)
    asyncio.run(replay(CommonSettings(), spec, reason=args.reason, from_offset=args.from_offset,
                       to_offset=args.to_offset, apply=args.apply))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
