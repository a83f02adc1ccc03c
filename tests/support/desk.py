"""The one in-process desk: chosen services' apps running in the test's event loop on the real broker and database.

:func:`running_desk` starts the ledger plus the services named (their consumers join their groups concurrently),
one manual clock for all, a test bus, taps on the topics asked for and an HTTP client on the ``front`` service's
app, and stops them all on exit. Service test packages add their scenario verbs on top of :class:`Desk`
(tests/integration/<service>/<service>_support.py); the whole system as processes is ``tests.support.stack``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import TICKET_VIEWS, TICKETS
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS, TopicSpec
from shared.runtime.clock import Clock, SystemClock
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.desk_services import APPS, directory_of
from tests.support.testing import Tap, eventually, make_settings, running


@dataclass
class Desk:
    clock: Clock
    bus: KafkaBus
    db: AsyncDatabase
    settings: Any  # the front service's settings
    app: FastAPI  # the front service's app
    http: httpx.AsyncClient  # talks to the front app
    taps: dict[str, Tap]
    apps: dict[str, FastAPI] = field(default_factory=dict)

    @property
    def events(self) -> Tap:
        return self.taps[TICKETS_EVENTS.name]

    # ---- directories and commands ----------------------------------------------------------------

    async def put(self, *items: BaseModel, at: datetime | None = None, actor: str = "test") -> None:
        """Directory entries, each into the directory its type belongs to."""
        from shared.directory import DirectoryStore

        for item in items:
            await DirectoryStore(self.db, directory_of(item)).put(item, actor=actor, at=at or self.clock.now())

    async def send(self, ticket_id: str, cmd: Message, *, id: str | None = None, actor: str = "test") -> Envelope:
        env = envelope_for(cmd, ticket_id, occurred_at=self.clock.now(), actor=actor, id=id)
        await self.bus.publish(TICKETS_COMMANDS, env)
        return env

    async def seed(self, commands: Sequence[tuple[str, Message]], actor: str = "seed") -> list[Envelope]:
        """Send commands straight to the ledger and wait until each one has been answered, none refused."""
        envs = [envelope_for(msg, tid, occurred_at=self.clock.now(), actor=actor) for tid, msg in commands]
        for env in envs:  # in order: a ticket's commands must follow its opening
            await self.bus.publish(TICKETS_COMMANDS, env)
        ids = {e.id for e in envs}
        await eventually(lambda: ids <= {e.causation_id for e in self.events.items}, timeout=20,
                         message="seeded commands answered")
        rejected = [e for e in self.events.items if e.causation_id in ids and e.type == "CommandRejected"]
        assert not rejected, [e.payload for e in rejected]
        await self.copied(*(e.ticket_id for e in envs))
        return envs

    # ---- what happened ---------------------------------------------------------------------------

    async def wait(self, ticket_id: str, type: str, count: int = 1, timeout: float = 15.0) -> list[Envelope]:
        envs = await self.events.wait(ticket_id, type, count=count, timeout=timeout)
        await self.copied(ticket_id)
        return envs

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        doc = await self.db[TICKETS].find_one({"_id": ticket_id}, {"history": 0})
        assert doc is not None, ticket_id
        return dict(doc)

    async def settled(self, ticket_id: str, check: Callable[[dict[str, Any]], Any], message: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            doc = await self.db[TICKETS].find_one({"_id": ticket_id}, {"history": 0})
            return doc if doc is not None and check(doc) else None
        doc = await eventually(probe, message=message)
        await self.copied(ticket_id)
        return doc

    async def copied(self, *ticket_ids: str) -> None:
        """With a gateway: until its copies of these tickets (what its lists read) hold the ledger's version."""
        if "gateway" not in self.apps:
            return

        async def caught_up() -> bool:
            query = {"_id": {"$in": list(set(ticket_ids))}}
            ledger = {d["_id"]: d["version"] async for d in self.db[TICKETS].find(query, {"version": 1})}
            views = {d["_id"]: d["version"] async for d in self.db[TICKET_VIEWS].find(query, {"version": 1})}
            return all(views.get(t, -1) >= v for t, v in ledger.items())
        await eventually(caught_up, message=f"the gateway's copies of {ticket_ids}")

    def token(self, user: str, role: str, **claims: Any) -> dict[str, str]:
        """A bearer header for the gateway (the front service must be the gateway)."""
        from services.gateway.access.auth import mint_token

        return {"Authorization": f"Bearer {mint_token(self.settings, user, role, clock=self.clock, **claims)}"}


@asynccontextmanager
async def running_desk(env: dict[str, str], clock: Clock | None, services: Sequence[str], *, front: str | None = None,
                       settings: Mapping[str, Mapping[str, Any]] | None = None, taps: Sequence[TopicSpec] = (),
                       base_url: str = "http://desk", http_timeout: float = 30.0,
                       before: Callable[[AsyncDatabase], Any] | None = None) -> AsyncIterator[Desk]:
    """The ledger and ``services`` on ``clock`` (None: each app's own system clock). ``settings[name]`` overrides
    a service's settings fields, ``before`` seeds the database before anything starts, ``front`` (default: the
    last service) gets the HTTP client."""
    names = list(dict.fromkeys(["tickets", *services]))
    front = front or names[-1]
    built = {n: make_settings(APPS[n][0], env, **dict((settings or {}).get(n, {}))) for n in names}
    common: CommonSettings = built[front]
    client = mongo_client(common)
    db = database(client, common)
    async with AsyncExitStack() as es:
        es.push_async_callback(client.close)
        if before is not None:
            await before(db)
        apps = {n: APPS[n][1](built[n], clock) for n in names}
        await asyncio.gather(*(es.enter_async_context(running(app)) for app in apps.values()))
        tapped = {spec.name: await es.enter_async_context(Tap(common, spec))
                  for spec in dict.fromkeys([TICKETS_EVENTS, *taps])}
        http = await es.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=apps[front]), base_url=base_url, timeout=http_timeout))
        bus = KafkaBus(common, "test")
        await bus.start()
        es.push_async_callback(bus.stop)
        yield Desk(clock or SystemClock(), bus, db, built[front], apps[front], http, tapped, apps)
