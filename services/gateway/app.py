"""Gateway wiring: reads the ledger's collection, never writes ticket state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query

from shared.clock import Clock, SystemClock
from shared.mongo import database, mongo_client
from shared.problems import ProblemError, problem_responses
from shared.runtime import service_app
from shared.schemas.common import TicketStatus

from .settings import GatewaySettings

NO_HISTORY = {"history": 0}


class Reads:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.client = mongo_client(settings)
        self.db = database(self.client, settings)

    async def start(self) -> None:
        await self.client.admin.command("ping")

    async def stop(self) -> None:
        await self.client.close()


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    reads = Reads(settings)
    app = service_app("gateway", lambda: [reads], title="Frontline gateway",
                      description="The agents', supervisors' and admins' API.")
    app.state.reads, app.state.clock = reads, clock or SystemClock()

    @app.get("/api/v1/tickets/{ticket_id}", tags=["tickets"], responses=problem_responses(404))
    async def get_ticket(ticket_id: str, history: bool = False) -> dict[str, Any]:
        doc = await reads.db.tickets.find_one({"_id": ticket_id}, None if history else NO_HISTORY)
        if doc is None:
            raise ProblemError(404, "Not Found", f"no ticket {ticket_id}")
        return _public(doc)

    @app.get("/api/v1/tickets", tags=["tickets"], responses=problem_responses(422))
    async def list_tickets(
        status: TicketStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = 50,
    ) -> dict[str, Any]:
        query: dict[str, Any] = {"status": status.value} if status else {}
        cursor = reads.db.tickets.find(query, NO_HISTORY).sort("created_at", -1).limit(limit)
        return {"items": [_public(d) async for d in cursor]}

    return app
