"""Notify's database for these tests: the test's own database on the session's server, with notify's indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.settings import NotifySettings
from services.notify.store import INDEXES
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.testing import make_settings


@pytest_asyncio.fixture
async def db(env: dict[str, str]) -> AsyncIterator[AsyncDatabase]:
    settings = make_settings(NotifySettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    yield db
    await client.close()
