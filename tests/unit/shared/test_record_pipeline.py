"""shared.runtime.pipeline: one way every consumed record is processed (size, decode, verify, handler with retries,
dead letter with the reason), tested with a fake dead-letter park: no broker, milliseconds."""

from __future__ import annotations

import json

import pytest

from shared.runtime.pipeline import Outcome, Poison, RawRecord, RecordPipeline


class FakePark:
    """The dead-letter topic: what was parked and why."""

    def __init__(self) -> None:
        self.parked: list[tuple[RawRecord, str]] = []

    async def __call__(self, record: RawRecord, reason: str) -> None:
        self.parked.append((record, reason))

    @property
    def reasons(self) -> list[str]:
        return [reason for _, reason in self.parked]


def record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> RawRecord:
    return RawRecord(topic="t.tickets.events", partition=4, offset=17, key=b"T-1", value=value,
                     headers=headers or [("type", b"Thing")])


def pipeline(handler: object, park: FakePark, **kw: object) -> RecordPipeline[dict[str, object]]:
    defaults: dict[str, object] = {"max_bytes": 1000, "retries": 2, "retry_backoff": 0.0, "service": "unit",
                                   "topic": "tickets.events", "group": "g"}
    return RecordPipeline(json.loads, handler, park, **{**defaults, **kw})  # type: ignore[arg-type]


async def test_a_good_record_is_handled_once_and_nothing_is_parked() -> None:
    seen: list[dict[str, object]] = []

    async def handle(value: dict[str, object]) -> None:
        seen.append(value)

    park = FakePark()
    p = pipeline(handle, park)
    assert await p.process(record(b'{"a": 1}')) is Outcome.handled
    assert seen == [{"a": 1}] and park.parked == [] and p.processed == 1


@pytest.mark.parametrize(("value", "reason"), [
    (b"x" * 1001, "oversize: 1001 bytes > 1000"),
    (b"{not json", "undecodable: "),
])
async def test_an_oversize_or_undecodable_record_is_parked_untouched_and_never_handled(value: bytes,
                                                                                       reason: str) -> None:
    async def handle(value: dict[str, object]) -> None:
        raise AssertionError("must not be handled")

    park = FakePark()
    assert await pipeline(handle, park).process(record(value)) is Outcome.parked
    [(parked, why)] = park.parked
    assert why.startswith(reason) and parked.value == value and parked.offset == 17 and parked.partition == 4


async def test_a_refused_record_is_parked_with_the_verifiers_reason() -> None:
    handled: list[object] = []

    async def handle(value: dict[str, object]) -> None:
        handled.append(value)

    def verify(raw: RawRecord, value: dict[str, object]) -> str | None:
        return None if dict(raw.headers).get("x-producer") == b"ok" else "unauthenticated producer"

    park = FakePark()
    p = pipeline(handle, park, verify=verify)
    assert await p.process(record(b"{}")) is Outcome.parked
    assert await p.process(record(b"{}", [("x-producer", b"ok")])) is Outcome.handled
    assert park.reasons == ["rejected: unauthenticated producer"] and handled == [{}]


async def test_poison_is_parked_at_once_without_retries() -> None:
    calls = 0

    async def handle(value: dict[str, object]) -> None:
        nonlocal calls
        calls += 1
        raise Poison("not a ledger command")

    park = FakePark()
    assert await pipeline(handle, park).process(record(b"{}")) is Outcome.parked
    assert calls == 1 and park.reasons == ["rejected: not a ledger command"]


async def test_a_transient_failure_is_retried_and_a_lasting_one_parked_after_the_retries() -> None:
    calls = {"flaky": 0, "broken": 0}

    async def flaky(value: dict[str, object]) -> None:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise RuntimeError("database hiccup")

    async def broken(value: dict[str, object]) -> None:
        calls["broken"] += 1
        raise RuntimeError("always")

    park = FakePark()
    assert await pipeline(flaky, park).process(record(b"{}")) is Outcome.handled
    assert calls["flaky"] == 3 and park.parked == []
    assert await pipeline(broken, park).process(record(b"{}")) is Outcome.parked
    assert calls["broken"] == 3  # the first try and two retries
    assert park.reasons == ["handler failed after 2 retries: RuntimeError('always')"]


def test_coordinates_come_from_any_client_headers_as_a_list_or_a_mapping() -> None:
    from_mapping = RawRecord.of("t", 1, 2, None, None, {"type": b"X"})
    assert from_mapping.headers == [("type", b"X")] and from_mapping.value is None
    assert RawRecord.of("t", 1, 2, b"k", b"v", None).headers == []


async def test_a_batch_gets_the_readable_records_in_order_and_the_unreadable_are_parked() -> None:
    batches: list[list[dict[str, object]]] = []

    async def batch(values: list[dict[str, object]]) -> None:
        batches.append(values)

    async def handle(value: dict[str, object]) -> None:
        raise AssertionError("a batch that succeeds is not handled again one by one")

    park = FakePark()
    p = pipeline(handle, park)
    await p.process_batch([record(b'{"n": 1}'), record(b"{bad"), record(b'{"n": 2}')], batch)
    assert batches == [[{"n": 1}, {"n": 2}]]
    assert [r.startswith("undecodable") for r in park.reasons] == [True] and p.processed == 2


async def test_a_failed_batch_is_handled_again_record_by_record_so_only_the_bad_one_is_parked() -> None:
    handled: list[object] = []

    async def batch(values: list[dict[str, object]]) -> None:
        raise RuntimeError("one of them is bad")

    async def handle(value: dict[str, object]) -> None:
        if value["n"] == 2:
            raise Poison("bad number")
        handled.append(value["n"])

    park = FakePark()
    p = pipeline(handle, park)
    await p.process_batch([record(b'{"n": 1}'), record(b'{"n": 2}'), record(b'{"n": 3}')], batch)
    assert handled == [1, 3] and park.reasons == ["rejected: bad number"] and p.processed == 3
