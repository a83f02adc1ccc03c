"""ProjectionStore.loads on the real database: working tickets per agent, nothing else counted."""

from __future__ import annotations

from services.routing.projection import TicketView
from services.routing.store import INDEXES, ProjectionStore
from shared.contracts.schemas.common import TicketStatus
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings


async def test_loads_count_only_working_tickets_of_the_asked_agents(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    store = ProjectionStore(db)
    rows = [("a", "assigned"), ("a", "in_progress"), ("a", "waiting_customer"), ("a", "resolved"), ("a", "closed"),
            ("b", "assigned"), ("b", "completed"), ("c", "in_progress"), (None, "new"), ("a", "offered")]
    for i, (agent, status) in enumerate(rows):
        await store.save(TicketView(id=f"T-{i}", assignee_id=agent, status=TicketStatus(status)), 0)
    assert await store.loads(["a", "b", "d", "a"]) == {"a": 3, "b": 1, "d": 0}
    assert await store.loads([]) == {}
    await client.close()
