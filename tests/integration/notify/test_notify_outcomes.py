"""What leaves notify, over real HTTP, broker and database: chat survey buttons, outcome metrics, dead letters."""

from __future__ import annotations

from datetime import timedelta

from notify_support import NOW, counters, ev, moved, notify_running, notify_settings, publish, publisher

from services.feedback.domain import LABELS, Policy, Resolution, Route, new_survey
from services.notify.store import DELIVERIES, INDEXES
from shared.contracts.envelope import Envelope
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import FEEDBACK_EVENTS, NOTIFY_EVENTS, TICKETS_EVENTS
from shared.runtime.ids import new_id
from shared.runtime.kafka import read_dead_letters
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from tests.support.notify_servers import Providers, SmtpServer
from tests.support.testing import Tap, eventually


def chat_ticket(tid: str, conversation: str) -> list[Envelope]:
    content = InboundContent(message_id=f"m-{tid}", channel=Channel.chat, external_id=f"x-{tid}", text="Hi",
                             sender=Sender(chat_id="u-1"), received_at=NOW, conversation_id=conversation)
    return [ev(t.TicketOpened(channel=Channel.chat, number=3, subject="Wi-Fi", sender=Sender(chat_id="u-1"),
                              text="Hi"), tid, cause=f"o-{tid}"),
            ev(t.MessageReceived(content=content), tid, cause=f"o-{tid}")]


async def test_a_chat_survey_posts_its_three_buttons_and_counts_as_sent(env: dict[str, str], smtp: SmtpServer,
                                                                        providers: Providers) -> None:
    s = notify_settings(env, smtp.port, providers.base)
    tid = new_id()
    # the request exactly as feedback builds it for a chat ticket
    resolution = Resolution(event_id=new_id(), ticket_id=tid, ticket_number=12, resolved_at=NOW, agent_id="ivan",
                            problem="No Wi-Fi", solution="Router rebooted")
    policy = Policy(key=b"k" * 32, token_ttl=timedelta(days=7), auto_complete_after=timedelta(days=3),
                    public_base_url="https://desk.test/feedback", language="en")
    _, request = new_survey(resolution, Route("chat", chat_conversation_id="conv:12"), policy, doc_id=new_id(),
                            public_id=new_id())
    assert request is not None and len(request.buttons) == 3
    async with publisher(s) as bus, notify_running(s) as api, Tap(s, NOTIFY_EVENTS) as outcomes:
        before = await counters(api)
        await publish(bus, FEEDBACK_EVENTS, ev(request, tid))
        await outcomes.wait(tid, "NotificationSent")
        after = await counters(api)
    [posted] = providers.chat
    assert posted["path_conversation"] == "conv:12" and posted["conversation_id"] == "conv:12"
    answers = ("good", "bad", "not_mine")
    assert posted["buttons"] == [{"label": LABELS["en"][a], "url": request.links[a]} for a in answers]
    assert all(u.startswith("https://desk.test/feedback/s/") for u in request.links.values())
    assert request.links["good"] in posted["text"], "the text keeps the links for platforms without buttons"
    assert moved(before, after) == {("chat", "sent"): 1.0}


async def test_a_transient_failure_that_exhausts_its_retries_is_dead_lettered_with_the_reason(
        env: dict[str, str], smtp: SmtpServer, providers: Providers) -> None:
    s = notify_settings(env, smtp.port, providers.base, max_attempts=3, retry_base_seconds=0.05,
                        retry_cap_seconds=0.1)
    providers.chat_status = 503  # the platform is down for longer than we keep trying
    tid = new_id()
    async with publisher(s) as bus, notify_running(s) as api, Tap(s, NOTIFY_EVENTS) as outcomes:
        before = await counters(api)
        await publish(bus, TICKETS_EVENTS, *chat_ticket(tid, "conv:7"),
                      ev(t.ReplySent(agent_id="ivan", text="Try now", channel=Channel.chat), tid))
        [failed] = await outcomes.wait(tid, "NotificationFailed")
        after = await counters(api)
        listed = (await api.get("/api/v1/deliveries", params={"ticket_id": tid})).json()["items"]
    payload = failed.payload
    assert payload["permanent"] is False and payload["attempts"] == 3 and payload["channel"] == "chat"
    assert payload["reason"].startswith("gave up after 3 attempts: chat webhook 503")
    assert len(providers.chat) == 3 and {c["idempotency_key"] for c in providers.chat} == {payload["notification_id"]}
    assert [(d["status"], d["attempts"]) for d in listed] == [("failed", 3)]
    dead = [d for d in await read_dead_letters(s, NOTIFY_EVENTS) if d["key"].decode() == tid]
    assert len(dead) == 1
    headers = dead[0]["headers"]
    assert headers["x-dlq-reason"] == payload["reason"] and headers["x-dlq-permanent"] == "false"
    assert headers["x-notification-id"] == payload["notification_id"] and headers["type"] == "NotificationFailed"
    assert Envelope.from_bytes(dead[0]["value"]).id == failed.id
    assert moved(before, after) == {("chat", "retried"): 2.0, ("chat", "failed"): 1.0}


async def test_an_outcome_an_older_release_left_unpublished_is_published_after_the_upgrade(
        env: dict[str, str], smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    tid, nid = new_id(), new_id()
    client = mongo_client(s)
    deliveries = database(client, s)[DELIVERIES]
    await ensure_indexes(database(client, s), INDEXES)
    # sent and marked by the older release, which crashed before publishing its outcome (no "unpublished" flag yet)
    await deliveries.insert_one({"_id": nid, "event_id": new_id(), "ticket_id": tid, "recipient": "client",
                                 "channel": "email", "address": "old@client.test", "template": "reply",
                                 "status": "sent", "sent_at": NOW, "attempts": 1, "outcome_published": False})
    try:
        async with notify_running(s), Tap(s, NOTIFY_EVENTS) as outcomes:
            await outcomes.wait(tid, "NotificationSent")
            published = await eventually(lambda: deliveries.find_one({"_id": nid, "outcome_published": True}),
                                         timeout=30, message="the outcome marked published")
        assert "unpublished" not in published and not smtp.sink.to("old@client.test")  # published, not sent again
    finally:
        await client.close()
