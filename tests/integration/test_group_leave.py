"""A consumer killed with SIGKILL stays in its group until its session expires; its successor, which recorded
nothing but reads the member file the dead one left, takes it out of the group (LeaveGroup) and joins at once,
with every partition, long before that session would have expired."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener

from shared.contracts.topics import TICKETS_EVENTS
from shared.runtime import group_leave
from shared.runtime.group_leave import MemberFile, leave_predecessor
from shared.runtime.kafka import ensure_topics
from shared.runtime.settings import CommonSettings
from tests.support.groups import group_members
from tests.support.testing import eventually, make_settings

# Tansu holds every join for half the session (a first join too); without the leave the successor waits for the
# dead member's eviction, a whole session after its last heartbeat. A deadline between the two tells them apart.
SESSION_MS = 60_000
JOIN_TIMEOUT = 50.0

PREDECESSOR = """
import asyncio, sys
from pathlib import Path
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from shared.runtime.group_leave import MemberFile, remember

bootstrap, group, topic, path, session = sys.argv[1:6]

class Listener(ConsumerRebalanceListener):
    async def on_partitions_revoked(self, revoked): pass
    async def on_partitions_assigned(self, assigned):
        remember(MemberFile(Path(path)), consumer)
        print("assigned", len(assigned), flush=True)

async def main():
    global consumer
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, session_timeout_ms=int(session),
                                heartbeat_interval_ms=1000)
    consumer.subscribe([topic], listener=Listener())
    await consumer.start()
    while True:
        await consumer.getmany(timeout_ms=500)

asyncio.run(main())
"""


class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.partitions: set[Any] = set()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.partitions = set()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.partitions = set(assigned)


async def test_a_successor_removes_its_killed_predecessor_and_joins_before_the_session_expires(
        env: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(CommonSettings, env)
    await ensure_topics(settings, [TICKETS_EVENTS])
    topic, group = TICKETS_EVENTS.full(settings.topic_prefix), f"{settings.topic_prefix}leave-test"
    file = MemberFile(tmp_path / "member.json")
    predecessor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PREDECESSOR, settings.kafka_bootstrap_servers, group, topic, str(file.path),
        str(SESSION_MS), stdout=asyncio.subprocess.PIPE)
    assert predecessor.stdout is not None
    consumer: AIOKafkaConsumer | None = None
    joining: asyncio.Task[None] | None = None
    try:
        line = (await asyncio.wait_for(predecessor.stdout.readline(), 90)).decode()
        assert line.split() == ["assigned", str(TICKETS_EVENTS.partitions)], line
        dead = await group_members(settings, group)
        assert len(dead) == 1
        predecessor.send_signal(signal.SIGKILL)
        await predecessor.wait()

        assert await leave_predecessor(settings, group, file) in dead
        assert not file.path.exists()  # one leave per recorded member: a later restart does not repeat it
        listener = Assigned()
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                                    session_timeout_ms=SESSION_MS, heartbeat_interval_ms=1000)
        consumer.subscribe([topic], listener=listener)
        joining = asyncio.create_task(_join(consumer))  # on Tansu a JoinGroup may hold the start itself
        await eventually(lambda: len(listener.partitions) == TICKETS_EVENTS.partitions, timeout=JOIN_TIMEOUT,
                         message="the successor got every partition before the dead member's session expired")
        members = await group_members(settings, group)
        assert members == {consumer._coordinator.member_id}
        assert not members & dead
    finally:
        if joining is not None:
            joining.cancel()
        if predecessor.returncode is None:
            predecessor.kill()
            await predecessor.wait()
        if consumer is not None:
            await consumer.stop()


async def _join(consumer: AIOKafkaConsumer) -> None:
    await consumer.start()
    while True:
        await consumer.getmany(timeout_ms=200)


async def test_a_recorded_member_no_longer_in_the_group_is_left_alone(
        env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(CommonSettings, env)
    file = MemberFile(tmp_path / "member.json")
    file.save("aiokafka-0.14.0-gone", 7)
    monkeypatch.setattr(group_leave, "PROCESS", "this process restarted")  # the record is a predecessor's
    with caplog.at_level(logging.INFO, logger="shared.runtime.group_leave"):
        assert await leave_predecessor(settings, f"{settings.topic_prefix}leave-test", file) is None
    assert [getattr(r, "why", None) for r in caplog.records] == ["not a member"]  # asked the broker, sent no leave
    assert not file.path.exists()
