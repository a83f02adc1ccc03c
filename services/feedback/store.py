"""MongoDB adapter: ``feedback_surveys`` (ours), ``feedback_timers`` (ours), read-only ledger and directory reads."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.collections import FEEDBACK_SURVEYS, FEEDBACK_TIMERS, TICKETS
from shared.contracts.envelope import Envelope
from shared.contracts.topics import TICKETS_EVENTS
from shared.directory import DirectoryStore
from shared.directory.contacts import CONTACTS, ContactPerson
from shared.directory.routing import AGENTS, GROUPS, TEAMS, Agent, Group, Role, ServiceTeam
from shared.runtime.timers import TIMER_INDEXES, TimerStore

from .domain import Survey, SurveyStatus

SURVEYS = FEEDBACK_SURVEYS
TIMERS = FEEDBACK_TIMERS
LEDGER_TICKETS = TICKETS

INDEXES = {
    SURVEYS: [
        IndexModel([("survey_id", ASCENDING)], unique=True),
        IndexModel([("ticket_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("rating_command_id", ASCENDING)], sparse=True),
        IndexModel([("outbox_pending", ASCENDING)], sparse=True),
        IndexModel([("answered_at", DESCENDING)]),
        IndexModel([("fraud.alerted_at", DESCENDING)], sparse=True),
        IndexModel([("created_by", ASCENDING), ("fraud.alerted_at", DESCENDING)], sparse=True),
    ],
    TIMERS: TIMER_INDEXES,
}
TICKET_FIELDS = {"history": 0, "processed_commands": 0}


class SurveyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.col = db[SURVEYS]
        self.timers = TimerStore(db[TIMERS], TICKETS_EVENTS.partitions)

    async def create(self, survey: Survey, request: Envelope | None) -> tuple[Survey, Envelope | None]:
        """Insert once, with the request to publish; a redelivered resolution finds the first insert and gets that
        survey and its request back (its own, built again, has another random public id)."""
        doc = survey.to_doc()
        doc["request"] = request.model_dump(mode="json") if request else None
        try:
            await self.col.insert_one(doc)
            return survey, request
        except DuplicateKeyError:
            existing = await self.col.find_one({"_id": survey.id})
            if existing is None:  # the unique public id collided (practically impossible): surface it
                raise
            stored = existing.get("request")
            return Survey.from_doc(existing), Envelope.model_validate(stored) if stored else None

    async def by_public_id(self, survey_id: str) -> Survey | None:
        doc = await self.col.find_one({"survey_id": survey_id})
        return Survey.from_doc(doc) if doc else None

    async def by_id(self, doc_id: str) -> Survey | None:
        doc = await self.col.find_one({"_id": doc_id})
        return Survey.from_doc(doc) if doc else None

    async def record_answer(self, survey: Survey, answer: str, at: datetime, rating_command_id: str,
                            outbox: list[dict[str, Any]]) -> Survey | None:
        """Compare-and-set: only a pending, unanswered survey takes the answer. None: someone was first."""
        doc = await self.col.find_one_and_update(
            {"_id": survey.id, "status": SurveyStatus.pending.value, "answer": None},
            {"$set": {"status": SurveyStatus.answered.value, "answer": answer, "answered_at": at,
                      "rating_command_id": rating_command_id, "outbox": outbox, "outbox_pending": True}},
            return_document=ReturnDocument.AFTER)
        return Survey.from_doc(doc) if doc else None

    async def record_comment(self, survey: Survey, comment: str, at: datetime,
                             outbox: list[dict[str, Any]]) -> Survey | None:
        doc = await self.col.find_one_and_update(
            {"_id": survey.id, "status": SurveyStatus.answered.value, "comment": None},
            {"$set": {"comment": comment, "commented_at": at, "outbox_pending": True},
             "$push": {"outbox": {"$each": outbox}}},
            return_document=ReturnDocument.AFTER)
        return Survey.from_doc(doc) if doc else None

    async def outbox(self, doc_id: str) -> list[dict[str, Any]]:
        doc = await self.col.find_one({"_id": doc_id}, {"outbox": 1})
        return list((doc or {}).get("outbox") or [])

    async def clear_outbox(self, doc_id: str, published: list[dict[str, Any]]) -> None:
        """Drop what was published; anything pushed meanwhile stays for the next flush. Usually one write: the
        outbox is exactly what was published (an array equality), so it goes whole."""
        res = await self.col.update_one({"_id": doc_id, "outbox": published},
                                        {"$set": {"outbox": []}, "$unset": {"outbox_pending": ""}})
        if res.matched_count:
            return
        ids = [item["env"]["id"] for item in published]
        await self.col.update_one({"_id": doc_id}, {"$pull": {"outbox": {"env.id": {"$in": ids}}}})
        await self.col.update_one({"_id": doc_id, "outbox": {"$size": 0}}, {"$unset": {"outbox_pending": ""}})

    async def with_outbox(self, limit: int = 200) -> list[str]:
        cursor = self.col.find({"outbox_pending": True}, {"_id": 1}).limit(limit)
        return [d["_id"] async for d in cursor]

    async def close_pending(self, ticket_id: str, status: SurveyStatus, reason: str) -> list[str]:
        """Pending surveys of a ticket that was reopened, completed or closed: no answer is taken any more."""
        ids = [d["_id"] async for d in self.col.find(
            {"ticket_id": ticket_id, "status": SurveyStatus.pending.value}, {"_id": 1})]
        if ids:
            await self.col.update_many({"_id": {"$in": ids}, "status": SurveyStatus.pending.value},
                                       {"$set": {"status": status.value, "closed_reason": reason}})
        return ids

    async def time_out(self, doc_id: str) -> bool:
        """Pending → timed_out; True also when an earlier fire already did it (re-fire after a crash)."""
        res = await self.col.update_one({"_id": doc_id, "status": SurveyStatus.pending.value},
                                        {"$set": {"status": SurveyStatus.timed_out.value,
                                                  "closed_reason": "no_rating_timeout"}})
        if res.modified_count:
            return True
        doc = await self.col.find_one({"_id": doc_id}, {"status": 1})
        return bool(doc and doc["status"] == SurveyStatus.timed_out.value)

    async def mark_fraud(self, doc_id: str, fraud: dict[str, Any]) -> None:
        await self.col.update_one({"_id": doc_id, "fraud": None}, {"$set": {"fraud": fraud}})

    async def mark_rejected(self, command_id: str, code: str, reason: str) -> bool:
        res = await self.col.update_one({"rating_command_id": command_id},
                                        {"$set": {"ledger_rejection": {"code": code, "reason": reason}}})
        return bool(res.matched_count)

    async def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """The ledger's ticket document (read-only; the ledger is its only writer)."""
        return await self.db[LEDGER_TICKETS].find_one({"_id": ticket_id}, TICKET_FIELDS)

    async def ticket_status(self, ticket_id: str) -> str | None:
        doc = await self.db[LEDGER_TICKETS].find_one({"_id": ticket_id}, {"status": 1})
        return str(doc["status"]) if doc else None


class Directories:
    """Directory reads with a short cache: leads and contacts change rarely, resolutions are frequent."""

    def __init__(self, db: AsyncDatabase, ttl: float) -> None:
        self.teams = DirectoryStore(db, TEAMS)
        self.groups = DirectoryStore(db, GROUPS)
        self.agents = DirectoryStore(db, AGENTS)
        self.contacts = DirectoryStore(db, CONTACTS)
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    async def _cached(self, kind: str, key: str, load: Any) -> Any:
        hit = self._cache.get((kind, key))
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        value = await load()
        self._cache[(kind, key)] = (time.monotonic(), value)
        return value

    async def team(self, team_id: str | None) -> ServiceTeam | None:
        return await self._cached("team", team_id, lambda: self.teams.get(team_id)) if team_id else None

    async def group(self, group_id: str | None) -> Group | None:
        return await self._cached("group", group_id, lambda: self.groups.get(group_id)) if group_id else None

    async def contact(self, contact_id: str | None) -> ContactPerson | None:
        return await self._cached("contact", contact_id, lambda: self.contacts.get(contact_id)) \
            if contact_id else None

    async def line_leads(self, line: str | None) -> list[str]:
        if not line:
            return []
        agents: list[Agent] = await self._cached(
            "line_leads", line, lambda: self.agents.list({"line_ids": line, "roles": Role.team_lead.value}))
        return [a.id for a in agents]
