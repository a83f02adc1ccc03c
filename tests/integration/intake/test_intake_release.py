"""Intake frees a ticket's conversations once on its resolution; its completion deletes only what may have been
claimed since, as far as the consumer holding its partition knows (real database, and the whole desk)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake_support import stack

from services.intake.handlers import Pipeline, TicketEventsHandler
from services.intake.settings import IntakeSettings
from services.intake.store import INDEXES, IntakeStore
from shared.contracts.envelope import Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.runtime.clock import ManualClock
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.fakes import FakeBus
from tests.support.testing import db_commands, eventually, isolated_env, make_settings

AT = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
RESOLVED = t.TicketResolved(agent_id="a", problem="p", solution="s", channel=Channel.chat, sender=Sender())


def deletes() -> float:
    return db_commands("intake_conversations", "delete")


async def test_a_completion_deletes_only_what_may_have_been_claimed_since_the_resolution(env: dict[str, str]) -> None:
    settings = make_settings(IntakeSettings, {**env, **isolated_env()})
    client = mongo_client(settings)
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    store = IntakeStore(db)
    pipeline = Pipeline(store, FakeBus(), ManualClock(AT), domain=settings.mail_domain,  # type: ignore[arg-type]
                        region=settings.default_region, rule=settings.ticket_rule,
                        reopen_window=timedelta(seconds=300))
    handler = TicketEventsHandler(pipeline)
    n = 0

    async def hear(ticket_id: str, msg: Message) -> float:
        nonlocal n
        n += 1
        before = deletes()
        await handler((envelope_for(msg, ticket_id, occurred_at=AT, id=f"rel-{ticket_id}-{n}"), msg))
        return deletes() - before

    async def claimed(ticket_id: str) -> int:
        return await store.conversations.count_documents({"ticket_id": ticket_id})

    try:
        await store.conversations.delete_many({"_id": {"$regex": "^rel:"}})
        # resolved: freed; completed: nothing can have been claimed for it since, nothing deleted
        await store.claim("rel:1", "R-1")
        assert await hear("R-1", RESOLVED) == 1 and await claimed("R-1") == 0
        assert await hear("R-1", t.TicketCompleted(reason="rated")) == 0

        # a sender linked after the resolution claims for it here: the completion frees that claim
        await store.claim("rel:2", "R-2")
        assert await hear("R-2", RESOLVED) == 1
        linked = t.ClientLinked(client=ClientRef(client_id="acme"), sender=Sender(chat_id="tg:rel-2"),
                                linked_by="agent-1")
        await hear("R-2", linked)
        await store.claim_if_free("rel:2b", "R-2")  # what a linked sender's claim leaves
        assert await hear("R-2", t.TicketCompleted(reason="rated")) == 1 and await claimed("R-2") == 0

        # a rebalance forgets: the completion deletes again, freeing what another instance let be claimed
        await store.claim("rel:3", "R-3")
        assert await hear("R-3", RESOLVED) == 1
        await store.claim_if_free("rel:3", "R-3")  # a message threaded to it, heard by another instance
        await handler.partitions_changed(set())
        assert await hear("R-3", t.TicketCompleted(reason="no_rating_timeout")) == 1 and await claimed("R-3") == 0

        # closed without a resolution heard here: deleted
        await store.claim("rel:4", "R-4")
        assert await hear("R-4", t.TicketClosed(reason="spam")) == 1 and await claimed("R-4") == 0
    finally:
        await client.close()


async def test_a_resolved_and_completed_ticket_frees_its_conversation_with_one_delete(env: dict[str, str]) -> None:
    async with stack(env) as s:
        chat = {"platform": "tg", "session_id": "rel-1", "message_id": "rel-m1", "user": {"id": "release"},
                "text": "Hello?"}
        assert (await s.http.post("/api/v1/webhooks/chat", json=chat)).status_code == 202
        [ticket] = await s.wait_tickets(1)
        tid = ticket["_id"]
        assert await s.db.intake_conversations.count_documents({"ticket_id": tid}) == 1
        before = deletes()
        for cmd in (t.AssignTicket(agent_id="agent-1", mode="reassign"),
                    t.ResolveTicket(agent_id="agent-1", problem="no answer", solution="answered"),
                    t.CompleteTicket(reason="no_rating_timeout")):
            await s.send(tid, cmd, actor="agent-1")
        await s.events.wait(tid, "TicketCompleted")
        intake = s.apps["intake"].state.service
        await eventually(lambda: intake.events.processed >= len(s.events.items) or None,
                         message="intake handled the ticket's events")
        assert await s.db.intake_conversations.count_documents({"ticket_id": tid}) == 0
        assert deletes() - before == 1, "freed on the resolution; the completion found nothing to free"


async def test_a_reopened_ticket_takes_back_the_conversation_its_first_message_claimed(env: dict[str, str]) -> None:
    async with stack(env) as s:
        keys_before = db_commands("intake_ticket_keys", "update")
        chat = {"platform": "tg", "session_id": "back-1", "message_id": "back-m1", "user": {"id": "back"},
                "text": "Hello?"}
        assert (await s.http.post("/api/v1/webhooks/chat", json=chat)).status_code == 202
        [ticket] = await s.wait_tickets(1)
        tid = ticket["_id"]
        decision = await s.db.intake_messages.find_one({"ticket_id": tid})
        conversation = await s.db.intake_conversations.find_one({"ticket_id": tid})
        assert decision is not None and conversation is not None and decision["claimed"] == conversation["_id"]
        assert db_commands("intake_ticket_keys", "update") == keys_before, "the decision notes the claim"
        for cmd in (t.AssignTicket(agent_id="agent-1", mode="reassign"),
                    t.ResolveTicket(agent_id="agent-1", problem="no answer", solution="answered")):
            await s.send(tid, cmd, actor="agent-1")
        await s.events.wait(tid, "TicketResolved")
        await eventually(lambda: _claims(s.db, tid, 0), message="released on the resolution")
        await s.send(tid, t.ReopenTicket(reason="not fixed"), actor="agent-1")
        await s.events.wait(tid, "TicketReopened")
        await eventually(lambda: _claims(s.db, tid, 1), message="taken back on the reopening")
        again = {**chat, "message_id": "back-m2", "text": "Still nothing"}
        assert (await s.http.post("/api/v1/webhooks/chat", json=again)).status_code == 202
        await s.wait_messages(tid, 2)
        assert len(await s.tickets()) == 1


async def _claims(db, ticket_id: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await db.intake_conversations.count_documents({"ticket_id": ticket_id}) == n
