"""shared.runtime.dead_letters: what a dead letter carries, whole or, when too large to park whole, truncated."""

from __future__ import annotations

from types import SimpleNamespace

from shared.runtime.dead_letters import dead_letter_headers, record_size, truncated_copy


def _record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> SimpleNamespace:
    return SimpleNamespace(topic="t.inbound.messages", partition=3, offset=41, key=b"web:x", value=value,
                           headers=headers or [("type", b"Inbound")])


def test_a_whole_dead_letter_keeps_the_original_headers_and_adds_the_coordinates() -> None:
    headers = dict(dead_letter_headers(_record(b"{}"), "undecodable: x" * 1000, "g"))  # type: ignore[arg-type]
    assert headers["type"] == b"Inbound" and headers["x-dlq-source-topic"] == b"t.inbound.messages"
    assert headers["x-dlq-source-partition"] == b"3" and headers["x-dlq-source-offset"] == b"41"
    assert headers["x-dlq-group"] == b"g" and len(headers["x-dlq-reason"]) == 4000


def test_the_truncated_copy_keeps_the_head_of_the_value_the_size_and_the_coordinates_only() -> None:
    record = _record(b"A" * 5_000_000, [("type", b"Inbound"), ("huge", b"h" * 2_000_000)])
    assert record_size(record) > 7_000_000  # type: ignore[arg-type]
    value, headers = truncated_copy(record, "oversize: 5000000 bytes", "g", limit=64 * 1024)  # type: ignore[arg-type]
    named = dict(headers)
    assert value == b"A" * 64 * 1024
    assert named["x-dlq-truncated"] == b"true" and named["x-dlq-original-size"] == b"5000000"
    assert named["x-dlq-source-offset"] == b"41" and named["x-dlq-reason"] == b"oversize: 5000000 bytes"
    assert "huge" not in named, "the original headers may be what made it too large"
    assert sum(len(k) + len(v) for k, v in headers) < 8 * 1024
