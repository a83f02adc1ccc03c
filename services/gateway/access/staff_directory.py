"""The directory entries a staff member's scope is derived from, read at most once per ``ttl`` seconds per process.

Every staff request widens its token's scope by the agent directory and the teams listing the agent (api/deps.py
``enrich``); reading them on every request cost two database commands a request. Kept here for ``ttl`` seconds
(``GATEWAY_DIRECTORY_CACHE_SECONDS``) on this process's monotonic clock, so an agent removed from the directory or
from a team loses what it granted on every replica at most ``ttl`` seconds later, and at once on the replica that
made the change through the admin API (``forget``). The cache only ever holds what the directory said within the
bound; a failed read is not kept.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from shared.directory.routing import Agent

K = TypeVar("K")
V = TypeVar("V")
# Past this many entries the expired ones are dropped, and if that is not enough, all: memory stays bounded
# however many principals call.
MOST = 10_000


class Expiring(Generic[K, V]):
    def __init__(self, ttl: float, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.now = ttl, now
        self._held: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = self.now()
        held = self._held.get(key)
        if held is not None and now - held[0] < self.ttl:
            return held[1]
        # the time is taken before the read, so an entry is never kept past ttl from when it was read
        value = await load()
        if self.ttl > 0:
            self._keep(key, now, value)
        return value

    def _keep(self, key: K, at: float, value: V) -> None:
        if len(self._held) >= MOST:
            now = self.now()
            self._held = {k: v for k, v in self._held.items() if now - v[0] < self.ttl}
            if len(self._held) >= MOST:
                self._held = {}
        self._held[key] = (at, value)

    def forget(self) -> None:
        self._held = {}


Entries = tuple[Agent | None, list[str]]


class StaffDirectory:
    """``entries``: the agent's directory entry and the teams whose entry lists him; ``team_agents``: a lead's
    teams' agents."""

    def __init__(self, agent: Callable[[str], Awaitable[Agent | None]],
                 member_of: Callable[[str], Awaitable[list[str]]],
                 team_agent_ids: Callable[[list[str]], Awaitable[list[str]]], ttl: float,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._agent, self._member_of, self._team_agent_ids = agent, member_of, team_agent_ids
        self._entries: Expiring[str, Entries] = Expiring(ttl, now)
        self._teams: Expiring[tuple[str, ...], list[str]] = Expiring(ttl, now)

    async def entries(self, user_id: str) -> Entries:
        async def load() -> Entries:
            return await self._agent(user_id), await self._member_of(user_id)
        agent, teams = await self._entries.get(user_id, load)
        return agent, list(teams)  # the caller's own copy of what is kept

    async def team_agents(self, team_ids: list[str]) -> list[str]:
        key = tuple(sorted(team_ids))
        return list(await self._teams.get(key, lambda: self._team_agent_ids(list(key))))

    def forget(self) -> None:
        """A directory write through this replica: its next request reads the directory again."""
        self._entries.forget()
        self._teams.forget()
