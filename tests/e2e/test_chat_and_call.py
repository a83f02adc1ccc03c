"""Issue 10, scenario 2: an unknown chat sender becomes a known client; a phone call joins their open ticket.

A chat arrives (intake's chat webhook) from someone the contacts directory does not know: the ticket is
marked unidentified and sits in the unidentified queue. The agent who took it links it to a client through
the gateway; intake learns the sender's chat id and phone from that link. The client is answered in the
chat (our chat-platform server receives each notice once), rates the resolution from the survey link in
the chat, and later writes again: the new chat identifies at once (client and contract, not unidentified).
Then the client phones (intake's CTI webhook): the call joins that open ticket instead of opening another.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from e2e_support import MONDAY, at_of, desk, events, recorded, smtp_env

from tests.support.notify_servers import Providers, SmtpServer
from tests.support.testing import eventually

PHONE = "+79161234567"
DIRECTORIES = {
    "lines": [{"id": "first", "order": 1}, {"id": "second", "order": 2}],
    "agents": [{"id": "kate", "name": "Kate", "email": "kate@desk.test", "line_ids": ["first"], "language": "en"}],
    "clients": [{"id": "initech", "name": "Initech"}],
    "contracts": [{"number": "I-500", "client_id": "initech"}],
    "contacts": [{"id": "bill", "client_id": "initech", "name": "Bill", "emails": ["bill@initech.example"]}],
}
INITECH = {"client_id": "initech", "client_name": "Initech", "contract_id": "I-500", "contract_number": "I-500"}


def chat(session: str, message: str, text: str, **user: str) -> dict[str, Any]:
    return {"platform": "tg", "session_id": session, "message_id": message, "text": text,
            "user": {"id": "777", "name": "Vera", **user}}


def kind(post: dict[str, Any]) -> str:
    text = post["text"]
    return ("survey" if "Please rate it" in text else "resolved" if "is resolved" in text
            else "taken" if "taken into work" in text else text[:60])


async def test_unknown_chat_linked_then_identified_and_call_joins(
        env: dict[str, str], tmp_path: Path, providers: Providers, smtp: SmtpServer) -> None:
    extra = {**smtp_env(smtp.port), "ROUTING_CLAIM_TIMEOUT_SECONDS": "600",
             "NOTIFY_CHAT_WEBHOOK_URL": providers.base + "/webhooks/conversations/{conversation_id}/messages",
             "NOTIFY_SMS_API_URL": providers.base, "NOTIFY_SMS_ACCOUNT_SID": "AC" + "0" * 32,
             "NOTIFY_SMS_AUTH_TOKEN": "test-auth-token", "NOTIFY_SMS_FROM": "+15005550006"}
    async with desk(env, tmp_path, MONDAY, extra) as d:
        await d.seed(DIRECTORIES)

        # a chat from a sender nobody knows → an unidentified ticket in the unidentified queue
        await d.intake("/webhooks/chat", chat("s-1", "m-1", "Hello, my invoice is wrong", phone="+7 916 123-45-67"))
        first = await d.first_ticket("the chat opened a ticket", channel="chat")
        t1 = first["id"]
        doc = await d.until(t1, lambda t: t["status"] == "offered", "offered")
        assert doc["unidentified"] and doc["client"] is None
        assert doc["sender"] == {"name": "Vera", "email": None, "phone": PHONE, "chat_id": "tg:777"}
        assert t1 in await d.queue("unidentified")

        # the agent takes it and links it to the client
        await d.act("kate", t1, "claim")
        await d.act("kate", t1, "start")
        doc = await d.act("kate", t1, "link-client", {"client": INITECH})
        assert not doc["unidentified"] and doc["client"]["client_id"] == "initech"
        assert events(await d.ticket(t1), "ClientLinked")[0]["payload"]["linked_by"] == "kate"
        assert t1 not in await d.queue("unidentified")

        # intake remembers who wrote for the client (visible in the contacts directory)
        async def learned() -> list[dict[str, Any]]:
            return [c for c in await d.entries("contacts") if c["source"] == "linked"]
        [contact] = await eventually(learned, 30, interval=0.2, message="the linked sender in the contacts directory")
        assert contact["client_id"] == "initech" and contact["contract_number"] == "I-500"
        assert contact["chat_ids"] == ["tg:777"] and contact["phones"] == [PHONE]

        # resolved; the survey comes into the chat and the client answers it
        await d.act("kate", t1, "resolve", {"problem": "The invoice shows the wrong amount",
                                            "solution": "Corrected the March invoice"})

        def survey() -> dict[str, Any] | None:
            return next((p for p in providers.chat if kind(p) == "survey"), None)
        post = await eventually(survey, 45, interval=0.2, message="survey in the chat")
        assert post["path_conversation"] == "tg:s-1" and post["ticket_id"] == t1
        link = re.search(r"Good: (\S+)", post["text"])
        assert link is not None, post["text"]
        assert (await d.http.get(link[1])).status_code == 200
        doc = await d.until(t1, lambda t: t["status"] == "completed", "completed by the rating")

        # later (past the reopen window) the client writes again in a new chat: identified at once
        d.jump(at_of(events(doc, "TicketCompleted")[0]) + timedelta(minutes=10))
        await d.intake("/webhooks/chat", chat("s-2", "m-2", "One more question about our contract"))

        async def second() -> list[dict[str, Any]]:
            return [t for t in await d.tickets(channel="chat") if t["id"] != t1]
        [opened] = await eventually(second, 45, interval=0.2, message="the second chat opened a new ticket")
        t2 = opened["id"]
        doc = await d.until(t2, lambda t: t["status"] == "offered", "offered")
        assert not doc["unidentified"] and not events(doc, "ClientLinked")
        assert {k: doc["client"][k] for k in INITECH} == INITECH and doc["client"]["contact_id"] == contact["id"]
        assert events(doc, "TicketOpened")[0]["payload"]["unidentified"] is False
        assert t2 not in await d.queue("unidentified")

        # a phone call from the client (the CTI system's own number format) joins the open ticket
        await d.intake("/webhooks/call", {"call_id": "c-1", "caller": "8 (916) 123-45-67", "event": "completed",
                                          "transcript": "Calling about my open question", "duration_seconds": 95})
        doc = await d.until(t2, lambda t: len(events(t, "MessageReceived")) == 2, "the call joined the ticket")
        call = events(doc, "MessageReceived")[1]["payload"]["content"]
        assert call["channel"] == "phone" and call["sender"]["phone"] == PHONE and call["call"]["call_id"] == "c-1"
        assert "call:c-1" in doc["conversation_ids"] and doc["message_count"] == 2
        tickets = await d.tickets()
        assert sorted(t["id"] for t in tickets) == sorted([t1, t2]), "the call opened no ticket of its own"

        # the client was answered in the chat only, each notice once
        def t1_posts() -> list[dict[str, Any]] | None:
            posts = [p for p in providers.chat if p["ticket_id"] == t1]
            return posts if len(posts) >= 3 else None
        await eventually(t1_posts, 30, interval=0.2, message="three chat notices")
        sent = await eventually(lambda: recorded(d, t1, "chat", 3), 30, interval=0.2,
                                    message="the ledger recorded the chat deliveries")
        posts = [p for p in providers.chat if p["ticket_id"] == t1]
        assert sorted(kind(p) for p in posts) == ["resolved", "survey", "taken"]
        keys = [p["idempotency_key"] for p in posts]
        assert len(set(keys)) == len(keys) and set(keys) == sent
        assert {p["path_conversation"] for p in posts} == {"tg:s-1"}
        assert [p for p in providers.chat if p["ticket_id"] != t1] == [] and providers.sms == []
        assert smtp.sink.messages == []

