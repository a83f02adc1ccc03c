"""What people did with articles: views (one per person, article and day), votes (one per person and article, the
last answer kept), deflections (a client said an article solved it: once per person and article), articles linked to
tickets and whether the client wrote again after, and searches that found nothing.

Each mark's ``_id`` says what it counts once, so a repeated request (or a race of two) counts nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.collections import KNOWLEDGE_GAPS, KNOWLEDGE_LINKS, KNOWLEDGE_MARKS
from shared.contracts.knowledge_api import ArticleStats, Gap

INDEXES = {
    KNOWLEDGE_MARKS: [IndexModel([("article_id", ASCENDING), ("kind", ASCENDING)])],
    KNOWLEDGE_LINKS: [IndexModel([("ticket_id", ASCENDING)]), IndexModel([("article_id", ASCENDING)])],
    KNOWLEDGE_GAPS: [IndexModel([("searches", DESCENDING)])],
}


class Stats:
    def __init__(self, db: AsyncDatabase) -> None:
        self.marks, self.links, self.gaps = db[KNOWLEDGE_MARKS], db[KNOWLEDGE_LINKS], db[KNOWLEDGE_GAPS]

    async def _once(self, key: str, doc: dict[str, Any]) -> bool:
        try:
            await self.marks.insert_one({"_id": key, **doc})
        except DuplicateKeyError:
            return False
        return True

    async def view(self, article_id: str, person: str, at: datetime) -> bool:
        day = at.date().isoformat()
        return await self._once(f"view:{article_id}:{person}:{day}", {"article_id": article_id, "kind": "view",
                                                                       "person": person, "at": at})

    async def deflect(self, article_id: str, person: str, at: datetime) -> bool:
        return await self._once(f"deflect:{article_id}:{person}", {"article_id": article_id, "kind": "deflection",
                                                                    "person": person, "at": at})

    async def vote(self, article_id: str, person: str, helpful: bool, at: datetime) -> None:
        await self.marks.replace_one({"_id": f"vote:{article_id}:{person}"}, {
            "article_id": article_id, "kind": "vote", "person": person, "helpful": helpful, "at": at}, upsert=True)

    async def votes(self, article_id: str, person: str | None) -> tuple[int, int, bool | None]:
        """(helpful, not helpful, this person's vote)."""
        helpful = await self.marks.count_documents({"article_id": article_id, "kind": "vote", "helpful": True})
        against = await self.marks.count_documents({"article_id": article_id, "kind": "vote", "helpful": False})
        mine = await self.marks.find_one({"_id": f"vote:{article_id}:{person}"}) if person else None
        return helpful, against, (mine["helpful"] if mine else None)

    async def link(self, article_id: str, ticket_id: str, person: str, at: datetime) -> bool:
        try:
            await self.links.insert_one({"_id": f"{ticket_id}:{article_id}", "article_id": article_id,
                                         "ticket_id": ticket_id, "by": person, "at": at,
                                         "client_wrote_again": False, "resolved": False})
        except DuplicateKeyError:
            return False
        return True

    async def client_wrote(self, ticket_id: str, at: datetime) -> None:
        """The client wrote on the ticket: every article linked before that did not settle it."""
        await self.links.update_many({"ticket_id": ticket_id, "at": {"$lt": at}},
                                     {"$set": {"client_wrote_again": True}})

    async def resolved(self, ticket_id: str) -> None:
        await self.links.update_many({"ticket_id": ticket_id}, {"$set": {"resolved": True}})

    async def of(self, article_id: str, views: int) -> ArticleStats:
        helpful, against, _ = await self.votes(article_id, None)
        deflections = await self.marks.count_documents({"article_id": article_id, "kind": "deflection"})
        linked = await self.links.count_documents({"article_id": article_id})
        settled = await self.links.count_documents({"article_id": article_id, "resolved": True,
                                                    "client_wrote_again": False})
        return ArticleStats(id=article_id, views=views, helpful=helpful, not_helpful=against, deflections=deflections,
                            linked_tickets=linked, resolved_without_more_messages=settled)

    async def nothing_found(self, key: str, query: str, at: datetime) -> None:
        await self.gaps.update_one({"_id": key}, {"$inc": {"searches": 1}, "$set": {"query": query, "last_at": at}},
                                   upsert=True)

    async def gap_report(self, limit: int) -> list[Gap]:
        cursor = self.gaps.find({}).sort([("searches", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return [Gap(query=d["query"], searches=d["searches"], last_at=d["last_at"]) async for d in cursor]
