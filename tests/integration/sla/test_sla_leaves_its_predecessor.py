"""The SLA worker records its group member id; killed with SIGKILL and started again, it takes that member out of the
group before joining, so the group holds only the new member and the restart never waits for the old session."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from services.sla.settings import SlaSettings
from shared.runtime.group_leave import MemberFile, worker_name
from tests.support.groups import group_members
from tests.support.testing import eventually, make_settings
from tools.processes import ServiceProcess


def recorded(file: MemberFile) -> str | None:
    try:
        return str(json.loads(file.path.read_text())["member_id"])
    except (OSError, ValueError, KeyError):
        return None


def left(log: Path) -> list[str]:
    """Member ids the worker's log says it took out of its group."""
    ids = []
    for line in log.read_text(errors="replace").splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("msg") == "previous member taken out of its group":
            ids.append(entry["member_id"])
    return ids


async def test_a_restarted_sla_worker_takes_its_killed_predecessor_out_of_the_group(
        env: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(SlaSettings, env)
    group = f"{settings.topic_prefix}{settings.consumer_group}"
    worker = ServiceProcess("sla", {**env, "FRONTLINE_LOG_LEVEL": "INFO"}, tmp_path / "logs")
    file = MemberFile.of(group, worker_name(worker.port))
    try:
        await asyncio.to_thread(worker.start().wait_ready, 120)
        first: str = await eventually(lambda: recorded(file), timeout=60, message="the first member id recorded")
        assert await group_members(settings, group) == {first}

        worker.kill(signal.SIGKILL)
        await asyncio.to_thread(worker.start().wait_ready, 120)
        second: str = await eventually(lambda: (m := recorded(file)) != first and m, timeout=60,
                                  message="the restarted worker's member id recorded")
        assert left(tmp_path / "logs" / "sla.log") == [first]
        assert await group_members(settings, group) == {second}
    finally:
        worker.kill(signal.SIGKILL)
        file.path.unlink(missing_ok=True)
