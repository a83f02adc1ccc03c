"""The gateway's macros and their uses in MongoDB (``gateway_macros``, ``gateway_macro_uses``).

A change is a compare-and-set on the stored version, so two editors never overwrite each other unseen. A use is
written once per apply request (its id derives from the Idempotency-Key), so a retried apply counts once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.collections import GATEWAY_MACRO_USES, GATEWAY_MACROS

from .model import Macro

# The ticket's fields a use keeps, so the report filters and scopes uses exactly as it does tickets.
TICKET_SCOPE_FIELDS = ("line", "group_id", "service_team_id", "assignee_id", "participants", "client", "channel",
                       "parent_id", "tags", "custom_fields")
MAX_LISTED = 1000


def _macro(doc: dict[str, Any]) -> Macro:
    return Macro.model_validate({"id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}})


class MacroStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.macros, self.uses = db[GATEWAY_MACROS], db[GATEWAY_MACRO_USES]

    async def get(self, macro_id: str) -> Macro | None:
        doc = await self.macros.find_one({"_id": macro_id})
        return _macro(doc) if doc else None

    async def candidates(self, user_id: str) -> list[Macro]:
        """Shared macros and this user's personal ones (``access.may_see`` narrows the shared ones)."""
        query = {"$or": [{"scope": "shared"}, {"scope": "personal", "owner_id": user_id}]}
        return [_macro(d) async for d in self.macros.find(query).sort("name", 1).limit(MAX_LISTED)]

    async def create(self, macro: Macro) -> None:
        doc = macro.model_dump(mode="python", exclude={"id"})
        await self.macros.insert_one({"_id": macro.id, **doc})

    async def replace(self, macro: Macro, expected_version: int) -> bool:
        """False when the stored version is no longer ``expected_version`` (someone changed it meanwhile)."""
        doc = macro.model_dump(mode="python", exclude={"id"})
        res = await self.macros.replace_one({"_id": macro.id, "version": expected_version}, doc)
        return res.matched_count == 1

    async def delete(self, macro_id: str, expected_version: int) -> bool:
        res = await self.macros.delete_one({"_id": macro_id, "version": expected_version})
        return res.deleted_count == 1

    async def record_use(self, apply_id: str, macro: Macro, agent_id: str, ticket: dict[str, Any], at: datetime,
                         outcome: str) -> None:
        first = {"macro_id": macro.id, "macro_name": macro.name, "macro_version": macro.version,
                 "macro_scope": macro.scope, "agent_id": agent_id, "ticket_id": ticket["_id"], "at": at,
                 "day": at.date().isoformat(), **{k: ticket.get(k) for k in TICKET_SCOPE_FIELDS}}
        await self.uses.update_one({"_id": apply_id}, {"$setOnInsert": first, "$set": {"outcome": outcome}},
                                   upsert=True)
