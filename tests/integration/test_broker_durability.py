"""The ``make up`` broker keeps what it acknowledged: 10,000 records (in multi-record batches, acks=all) and a
consumer group's committed offset survive a kill -9 of the broker and of its storage process, taken the moment
the last record is acknowledged. After a restart on the same data dir every record reads back once, in order,
and the group resumes at its committed offset. The infrastructure is started as ``make up`` starts it
(:meth:`tools.infra.EmbeddedInfra.for_make_up`), on its own ports and a temporary ``var/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tools.infra import EmbeddedInfra
from tools.ports import listening_sockets

RECORDS, COMMITTED = 10_000, 3_000
TOPIC, GROUP = "durability", "durability-readers"


async def _produce(bootstrap: str, start: int, stop: int, acknowledged: Callable[[], None] = lambda: None) -> None:
    """Send records ``start..stop-1`` in batches; ``acknowledged()`` runs the moment the last one is acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(TOPIC, str(i).encode()) for i in range(start, stop)]
        await asyncio.gather(*sent)
        acknowledged()
    finally:
        await asyncio.wait_for(producer.stop(), 30)


async def _read(bootstrap: str, want: int, group: str | None = None, commit: bool = False) -> list[int]:
    """Read ``want`` records from where ``group`` stands (no group: from the start); commit them if asked."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=500)
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, 0)
        consumer.assign([tp])
        got: list[int] = []
        deadline = asyncio.get_running_loop().time() + 90  # what is not there by then was lost: the assert says
        while len(got) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=want - len(got))
            got += [int(r.value or b"") for r in batch.get(tp, [])]
        if commit:
            await consumer.commit({tp: len(got) + (await consumer.committed(tp) or 0)})
        return got
    finally:
        await consumer.stop()


async def _committed(bootstrap: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(TOPIC, 0))
    finally:
        await consumer.stop()


async def test_acknowledged_records_and_offsets_survive_kill_9_of_the_make_up_broker(tmp_path: Path) -> None:
    infra = await asyncio.to_thread(EmbeddedInfra.for_make_up, tmp_path / "var", {})
    try:
        bootstrap = infra.env["KAFKA_BOOTSTRAP_SERVERS"]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        await _produce(bootstrap, 0, COMMITTED)
        assert await _read(bootstrap, COMMITTED, GROUP, commit=True) == list(range(COMMITTED))
        assert await _committed(bootstrap) == COMMITTED  # the broker acknowledged the commit

        # SIGKILL, broker and storage together, in the same step as the last acknowledgement
        await _produce(bootstrap, COMMITTED, RECORDS, acknowledged=lambda: infra.stop_broker(kill=True))

        await asyncio.to_thread(infra.start_broker)
        back = await _read(bootstrap, RECORDS)
        assert len(back) == RECORDS and back == list(range(RECORDS))  # every record, once, in order
        assert await _committed(bootstrap) == COMMITTED
        resumed = await _read(bootstrap, RECORDS - COMMITTED, GROUP)
        assert resumed == list(range(COMMITTED, RECORDS))
    finally:
        await asyncio.to_thread(infra.stop)


def test_the_storage_process_listens_on_loopback_only_and_its_death_counts_as_the_broker_dying(tmp_path: Path) -> None:
    """The S3 store has no credentials of its own: only this machine may reach it. ``make up`` stops everything
    when the broker dies; its storage process dying is the broker dying."""
    infra = EmbeddedInfra.for_make_up(tmp_path / "var", {})
    try:
        assert infra.broker_handle is not None and infra.broker_handle.storage is not None
        listening = listening_sockets(infra.broker_handle.storage.pid)
        assert len(listening) >= 8 and {host for host, _ in listening} == {"127.0.0.1"}, listening
        assert infra.exited() == []
        infra.broker_handle.storage.kill()
        infra.broker_handle.storage.wait()
        assert [d for d in infra.exited() if d.startswith("embedded broker storage")]
    finally:
        infra.stop()
