"""Routing directories, notify's preferences and template overrides, as notify reads them."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from shared.directory import DirectoryStore
from shared.directory.notify import PREFERENCES, TEMPLATES, NotifyPreference, TemplateOverride, template_key
from shared.directory.routing import AGENTS, GROUPS, SERVICES, TEAMS, Staff
from shared.runtime.cached import Cached

Directories = tuple[Staff, dict[str, NotifyPreference], dict[str, TemplateOverride]]


class DirectoryCache:
    """Routing directories, preferences and template overrides, read at most once per ``ttl`` seconds per process:
    the consumers' partition tasks that find them stale together wait on one read (``shared.runtime.cached``)."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.db = db
        self._cached: Cached[Directories] = Cached(self._load, ttl)
        self.templates: dict[str, TemplateOverride] = {}

    async def template(self, name: str, language: str) -> TemplateOverride | None:
        await self.snapshot()
        return self.templates.get(template_key(name, language))

    async def snapshot(self) -> tuple[Staff, dict[str, NotifyPreference]]:
        staff, prefs, self.templates = await self._cached.get()
        return staff, prefs

    async def _load(self) -> Directories:
        agents = await DirectoryStore(self.db, AGENTS).list(limit=100_000)
        teams = await DirectoryStore(self.db, TEAMS).list(limit=100_000)
        groups = await DirectoryStore(self.db, GROUPS).list(limit=100_000)
        services = await DirectoryStore(self.db, SERVICES).list(limit=100_000)
        prefs = await DirectoryStore(self.db, PREFERENCES).list(limit=100_000)
        templates = await DirectoryStore(self.db, TEMPLATES).list(limit=10_000)
        staff = Staff(agents={a.id: a for a in agents}, teams={t.id: t for t in teams},
                      groups={g.id: g for g in groups}, services={s.id: s for s in services})
        return staff, {p.id: p for p in prefs}, {o.id: o for o in templates}
