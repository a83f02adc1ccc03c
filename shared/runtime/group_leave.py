"""A restarted worker takes its killed predecessor out of the consumer group before joining it again.

A member killed without leaving stays in its group until its session expires, and a worker that joins meanwhile
waits for that expiry and a rebalance (12 s at a 6 s session on Tansu, docs/performance.md "Faust recovery").
So a worker records the member id each assignment gave it in a small file, one per group and worker, and on its
next start sends LeaveGroup for that id before it joins (plain Kafka protocol: Kafka and Tansu both drop the
member and rebalance at once). Static members (KIP-345) do not need it: they take their own place back.

Only a member of a Stable group is taken out: Tansu, when the member that leads a rebalance under way leaves,
keeps it as the leader, and no member could ever sync again. During a rebalance the join waits as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import DescribeGroupsRequest
from aiokafka.protocol.group import LeaveGroupRequest

from shared.runtime.kafka import _client_kwargs
from shared.runtime.settings import CommonSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberFile:
    """Where one worker keeps the member id it holds in one group (under the temp dir: an emptyDir in k8s,
    which survives a container restart and not the pod)."""

    path: Path

    @classmethod
    def of(cls, group: str, worker: str, root: Path | None = None) -> MemberFile:
        root = root or Path(tempfile.gettempdir()) / "frontline-members"
        return cls(root / _safe(group) / f"{_safe(worker)}.json")

    def save(self, member_id: str, generation: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_suffix(".part")
        part.write_text(json.dumps({"member_id": member_id, "generation": generation, "pid": os.getpid(),
                                    "process": PROCESS}))
        part.replace(self.path)  # a kill mid-write leaves the previous id, never half of one

    def take(self) -> str | None:
        """The recorded member id, removed (each is left once), unless the worker that recorded it still runs."""
        try:
            record = json.loads(self.path.read_text())
            member = record.get("member_id")
        except (OSError, ValueError, AttributeError):
            self.path.unlink(missing_ok=True)
            return None
        if _alive(record):
            return None  # a live worker of the same name (two in one test process, or a misconfigured twin)
        self.path.unlink(missing_ok=True)
        return member if isinstance(member, str) and member else None


# This process's own mark: a recorded pid equal to ours is our predecessor only if another process wrote it (a
# container restarted as pid 1 again), never a worker beside us in this process.
PROCESS = uuid.uuid4().hex


def _alive(record: dict[str, Any]) -> bool:
    pid = record.get("pid")
    if record.get("process") == PROCESS:
        return True
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_name(port: int) -> str:
    """One worker on this host: its HTTP port is its own while it runs and the same when it is restarted."""
    return f"{socket.gethostname()}-{port}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200]


def remember(file: MemberFile, consumer: Any) -> None:
    """Record the member id an aiokafka consumer holds now (call it on assignment)."""
    coordinator = consumer._coordinator  # aiokafka keeps the membership there; it has no public accessor
    try:
        file.save(coordinator.member_id, coordinator.generation)
    except OSError as exc:  # without the file a restart only waits longer; never a reason to stop consuming
        log.warning("could not record the group member id", extra={"path": str(file.path), "error": repr(exc)})


async def leave_group(settings: CommonSettings, group: str, member_id: str) -> str | None:
    """Send LeaveGroup for ``member_id`` to the group's coordinator if the group is Stable and holds it; why not
    (the group's state, or that the member is gone), or None when it was sent."""
    client = AIOKafkaClient(**_client_kwargs(settings), client_id="frontline-group-leave")
    try:
        await client.bootstrap()
        node = await client.coordinator_lookup(CoordinationType.GROUP, group)
        (described,) = (await client.send(node, DescribeGroupsRequest([group]))).groups
        state, members = described[2], {member[0] for member in described[5]}
        if member_id not in members:
            return "not a member"  # its session expired, or it left cleanly
        if state != "Stable":
            return f"group {state}"
        await client.send(node, LeaveGroupRequest(group, member_id))
        return None
    finally:
        await client.close()


async def leave_predecessor(settings: CommonSettings, group: str, file: MemberFile,
                            timeout: float = 10.0) -> str | None:
    """Take the member recorded in ``file`` out of ``group``; the id left, or None (nothing recorded, nothing to
    take out, or the broker unreachable: then the join just waits for that session to expire, as without this)."""
    member = file.take()
    if member is None:
        return None
    try:
        async with asyncio.timeout(timeout):
            skipped = await leave_group(settings, group, member)
    except (KafkaError, OSError, TimeoutError, ValueError) as exc:
        log.warning("could not take the previous member out of its group",
                    extra={"group": group, "member_id": member, "error": repr(exc)})
        return None
    if skipped is not None:
        log.info("previous member left in its group", extra={"group": group, "member_id": member, "why": skipped})
        return None
    log.info("previous member taken out of its group", extra={"group": group, "member_id": member})
    return member
