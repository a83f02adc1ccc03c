"""SMS over Twilio's API with signed delivery reports, chat webhooks, previews and the inbox over real HTTP."""

from __future__ import annotations

import httpx
from notify_support import NOW, counters, ev, moved, notify_settings, publish, publisher, seed

from services.notify.app import create_app
from services.notify.sms import signature
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, InboundContent, Sender
from shared.contracts.topics import NOTIFY_EVENTS, SLA_EVENTS, TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.ids import new_id
from shared.runtime.kafka import read_dead_letters
from tests.support.notify_servers import TWILIO_TOKEN, Providers, SmtpServer, serve_http
from tests.support.testing import Tap, eventually
from tools.infra import free_port


def opened(tid: str, channel: Channel, sender: Sender, conversation: str | None = None) -> list:  # type: ignore[type-arg]
    content = InboundContent(message_id=f"m-{tid}", channel=channel, external_id=f"x-{tid}", text="Привет",
                             sender=sender, received_at=NOW, conversation_id=conversation)
    return [ev(t.TicketOpened(channel=channel, number=5, subject="Интернет", sender=sender, text="Не работает"), tid,
               cause=f"o-{tid}"),
            ev(t.MessageReceived(content=content), tid, cause=f"o-{tid}")]


async def test_sms_chat_and_http_surface(env: dict[str, str], smtp: SmtpServer, providers: Providers) -> None:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/api/v1/sms/status"
    s = notify_settings(env, smtp.port, providers.base, sms_status_callback_url=callback, sms_max_segments=2)
    ok, gone, invalid, chat = (new_id() for _ in range(4))
    providers.undeliverable.add("+79990000000")
    await seed(s, agents=[Agent(id="olga", name="Olga", email="olga@staff.test")])
    async with publisher(s) as bus, serve_http(create_app(s), port), Tap(s, NOTIFY_EVENTS) as outcomes, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        before = await counters(api)
        long_text = "Мы перезапустили порт, проверьте, пожалуйста. " * 6
        await publish(bus, TICKETS_EVENTS,
                      *opened(ok, Channel.phone, Sender(phone="8 (912) 345-67-89")),
                      ev(t.ReplySent(agent_id="ivan", text=long_text, channel=Channel.phone), ok),
                      *opened(gone, Channel.phone, Sender(phone="+79990000000")),
                      ev(t.ReplySent(agent_id="ivan", text="Готово", channel=Channel.phone), gone),
                      *opened(invalid, Channel.phone, Sender(phone="12")),
                      ev(t.ReplySent(agent_id="ivan", text="Готово", channel=Channel.phone), invalid),
                      *opened(chat, Channel.chat, Sender(chat_id="u-1"), conversation="conv:42"),
                      ev(t.ReplySent(agent_id="ivan", text="Hi <there>", channel=Channel.chat), chat))
        await publish(bus, SLA_EVENTS, ev(sla.EscalationStepFired(ladder_id="L", step=1, action="notify",
                                                                  user_ids=["olga"], reason="15 min"), chat))
        await eventually(lambda: len(providers.reports) >= 4, timeout=15, message="two reports for each of two SMS")
        await eventually(lambda: providers.chat, message="chat webhook called")
        failed = await outcomes.wait(type="NotificationFailed", count=2)
        await outcomes.wait(type="NotificationSent", count=4)  # 2 SMS, chat, olga's mail
        await eventually(lambda: _reported(api, ok), message="delivery report stored")
        sent_sms = (await api.get("/api/v1/deliveries", params={"ticket_id": ok})).json()["items"][0]
        forged = await api.post("/api/v1/sms/status", data={"MessageSid": "SMx", "MessageStatus": "delivered"},
                                headers={"X-Twilio-Signature": "bogus"})
        params = {"MessageSid": "SMnope", "MessageStatus": "delivered"}
        unknown = await api.post("/api/v1/sms/status", data=params,
                                 headers={"X-Twilio-Signature": signature(TWILIO_TOKEN, callback, params)})
        feed = (await api.get("/api/v1/inbox", params={"user": "olga"})).json()["items"]
        read = await api.post(f"/api/v1/inbox/{feed[0]['id']}/read", params={"user": "olga"})
        unread = (await api.get("/api/v1/inbox", params={"user": "olga", "unread": True})).json()["items"]
        preview_ru = await api.get("/api/v1/templates/ticket_resolved/preview", params={"language": "ru"})
        preview_en = await api.post("/api/v1/templates/reply/preview",
                                    json={"language": "en", "context": {"text": "<script>x</script>"}})
        missing = await api.get("/api/v1/templates/nope/preview")
        after = await counters(api)
    assert all(code == 204 for code in providers.reports)
    first = next(m for m in providers.sms if m["To"] == "+79123456789")  # normalised to E.164
    assert first["From"] == "+15005550006" and first["StatusCallback"] == callback
    assert first["Body"].endswith("…") and len(first["Body"]) <= 2 * 67  # cut to two UCS-2 segments
    assert sent_sms["delivery_status"] == "delivered" and sent_sms["provider_id"].startswith("SM")
    reasons = {e.ticket_id: e.payload["reason"] for e in failed}
    assert "undelivered" in reasons[gone] and "30003" in reasons[gone]
    assert "invalid phone number" in reasons[invalid]
    assert not any(m["To"] == "12" for m in providers.sms)
    dead = {d["key"].decode() for d in await read_dead_letters(s, NOTIFY_EVENTS)}
    assert {gone, invalid} <= dead
    posted = providers.chat[0]
    assert posted["path_conversation"] == "conv:42" and posted["conversation_id"] == "conv:42"
    assert "Hi <there>" in posted["text"] and posted["idempotency_key"] == posted["notification_id"]
    assert forged.status_code == 403 and forged.headers["content-type"].startswith("application/problem+json")
    assert unknown.status_code == 404
    assert [i["template"] for i in feed] == ["escalation"] and read.status_code == 204 and unread == []
    assert smtp.sink.to("olga@staff.test")
    assert preview_ru.status_code == 200 and "решено" in preview_ru.json()["subject"]
    assert preview_en.status_code == 200 and "&lt;script&gt;" in preview_en.json()["html"]
    assert "<script>x</script>" in preview_en.json()["text"]
    assert missing.status_code == 404 and missing.json()["status"] == 404
    # two SMS accepted (one later reported lost by the carrier), one refused for good, the chat post, olga's mail
    assert moved(before, after) == {("sms", "sent"): 2.0, ("sms", "undelivered"): 1.0, ("sms", "failed"): 1.0,
                                    ("chat", "sent"): 1.0, ("email", "sent"): 1.0}


async def _reported(api: httpx.AsyncClient, ticket_id: str) -> bool:
    items = (await api.get("/api/v1/deliveries", params={"ticket_id": ticket_id})).json()["items"]
    return bool(items) and items[0].get("delivery_status") == "delivered"
