"""What a dead letter carries: the original record with its coordinates and reason, or, for a record too large to
be parked whole (the broker's limit is about 1 MB; a gzip record of a few KB on the wire may hold megabytes), the
head of its value with its original size, so the record is found (topic, partition, offset) and never lost."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.runtime.pipeline import RawRecord

TRUNCATED_BYTES = 64 * 1024  # the head of an oversize value kept in its dead letter
_RECORD_OVERHEAD = 128  # a record's framing in a batch, beyond its key, value and headers


def record_size(record: RawRecord) -> int:
    """Bytes the record takes in a produce request, uncompressed (what brokers and producers limit)."""
    headers = sum(len(k) + len(v or b"") for k, v in record.headers or [])
    return len(record.key or b"") + len(record.value or b"") + headers + _RECORD_OVERHEAD


def coordinates(record: RawRecord, reason: str, group: str) -> list[tuple[str, bytes]]:
    return [
        ("x-dlq-reason", reason[:4000].encode()),
        ("x-dlq-source-topic", record.topic.encode()),
        ("x-dlq-source-partition", str(record.partition).encode()),
        ("x-dlq-source-offset", str(record.offset).encode()),
        ("x-dlq-group", group.encode()),
        ("x-dlq-failed-at", datetime.now(UTC).isoformat().encode()),
    ]


def dead_letter_headers(record: RawRecord, reason: str, group: str) -> list[tuple[str, bytes]]:
    """The whole record's dead letter: its own headers (kept for replay), then the coordinates and reason."""
    return list(record.headers or []) + coordinates(record, reason, group)


def truncated_copy(record: RawRecord, reason: str, group: str, limit: int = TRUNCATED_BYTES,
                   ) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value's first ``limit`` bytes and only our headers: the original ones may be what made it too large."""
    value = record.value or b""
    return value[:limit], coordinates(record, reason, group) + [
        ("x-dlq-truncated", b"true"),
        ("x-dlq-original-size", str(len(value)).encode()),
    ]
