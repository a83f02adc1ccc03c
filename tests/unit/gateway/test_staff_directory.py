"""The staff directory cache (services/gateway/access/staff_directory.py): an entry is read again once it is
``ttl`` seconds old, so a revoked membership stops widening a scope within that bound; a write through this
replica forgets at once; ``ttl`` 0 keeps nothing; memory stays bounded."""

from __future__ import annotations

from services.gateway.access import staff_directory
from services.gateway.access.staff_directory import StaffDirectory
from shared.directory.routing import Agent


class Directory:
    """The directory as the database holds it, counting reads."""

    def __init__(self) -> None:
        self.agents = {"ann": Agent(id="ann", name="Ann", line_ids=["first"], team_ids=["A"])}
        self.teams = {"B": ["ann"]}
        self.reads = 0

    async def agent(self, agent_id: str) -> Agent | None:
        self.reads += 1
        return self.agents.get(agent_id)

    async def member_of(self, agent_id: str) -> list[str]:
        self.reads += 1
        return sorted(t for t, members in self.teams.items() if agent_id in members)

    async def team_agent_ids(self, team_ids: list[str]) -> list[str]:
        self.reads += 1
        return sorted({a for t in team_ids for a in self.teams.get(t, [])})


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def cache(d: Directory, clock: Clock, ttl: float = 2.0) -> StaffDirectory:
    return StaffDirectory(d.agent, d.member_of, d.team_agent_ids, ttl, now=clock)


async def test_a_removed_agent_and_a_left_team_stop_counting_once_the_bound_has_passed() -> None:
    d, clock = Directory(), Clock()
    staff = cache(d, clock)
    agent, teams = await staff.entries("ann")
    assert agent is not None and teams == ["B"] and d.reads == 2
    assert await staff.team_agents(["B"]) == ["ann"] and d.reads == 3
    del d.agents["ann"]
    d.teams["B"] = []
    clock.t += 1.9
    assert (await staff.entries("ann"))[1] == ["B"] and d.reads == 3, "within the bound: kept"
    assert await staff.team_agents(["B"]) == ["ann"]
    clock.t += 0.1
    assert await staff.entries("ann") == (None, []), "at the bound: read again, the access is gone"
    assert await staff.team_agents(["B"]) == []
    assert d.reads == 6


async def test_a_write_through_this_replica_is_seen_at_once() -> None:
    d, clock = Directory(), Clock()
    staff = cache(d, clock)
    await staff.entries("ann")
    d.teams["B"] = []
    staff.forget()
    assert (await staff.entries("ann"))[1] == []


async def test_ttl_zero_keeps_nothing_and_a_caller_cannot_change_what_is_kept() -> None:
    d, clock = Directory(), Clock()
    off = cache(d, clock, ttl=0)
    await off.entries("ann")
    await off.entries("ann")
    assert d.reads == 4
    on = cache(d, clock)
    (await on.entries("ann"))[1].append("Z")
    (await on.team_agents(["B"])).append("mallory")
    assert (await on.entries("ann"))[1] == ["B"] and await on.team_agents(["B"]) == ["ann"]


async def test_memory_stays_bounded() -> None:
    staff_directory.MOST, most = 5, staff_directory.MOST
    try:
        d, clock = Directory(), Clock()
        staff = cache(d, clock)
        for i in range(12):
            await staff.entries(f"u{i}")
        assert len(staff._entries._held) <= 5
    finally:
        staff_directory.MOST = most
