"""Through the gateway: administrators reword a template, notify sends that wording, people read their feed.

Real notify and gateway apps on the real broker, database and SMTP server.
"""

from __future__ import annotations

import httpx
from notify_support import ev, notify_settings, publish, publisher, seed

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.notify.app import create_app as notify_app
from services.notify.store import TICKETS as NOTIFY_TICKETS
from shared.contracts.schemas import sla
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.topics import SLA_EVENTS, TICKETS_EVENTS
from shared.directory.routing import Agent
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually, make_settings, running

BASE = "/api/v1/admin/directories/templates"


def escalation(tid: str, step: int) -> object:
    return ev(sla.EscalationStepFired(ladder_id="L", step=step, action="notify", user_ids=["olga"],
                                      reason="<b>not</b> in progress"), tid)


async def test_reworded_templates_are_sent_previewed_and_the_feed_is_per_person(env: dict[str, str],
                                                                                smtp: SmtpServer) -> None:
    s = notify_settings(env, smtp.port)
    gs = make_settings(GatewaySettings, env)
    admin, lead, olga, ivan = ({"Authorization": f"Bearer {mint_token(gs, user, role)}"} for user, role in
                               (("root", "administrator"), ("lea", "team_lead"), ("olga", "specialist"),
                                ("ivan", "specialist")))
    await seed(s, agents=[Agent(id="olga", name="Olga", email="olga@staff.test"), Agent(id="ivan", name="Ivan")])
    tid = new_id()
    notify = notify_app(s)
    gateway = gateway_app(gs, notify=httpx.ASGITransport(app=notify))  # notify's API, in process
    client = mongo_client(s)
    db = database(client, s)
    async with publisher(s) as bus, running(notify), running(gateway), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw") as gw:
        saved = await gw.put(f"{BASE}/ru.escalation", headers=admin, json={
            "id": "ru.escalation", "subject": "ЭСКАЛАЦИЯ #{{ number }}",
            "text": "Шаг {{ step }}: {{ escalation_reason }}"})
        assert saved.status_code == 200, saved.text
        broken = await gw.put(f"{BASE}/ru.reply", headers=admin, json={"id": "ru.reply", "subject": "{% if %}",
                                                                         "text": "x"})
        assert broken.status_code == 422 and "Jinja2" in broken.text, "syntax is checked before saving"

        await publish(bus, TICKETS_EVENTS, ev(t.TicketOpened(channel=Channel.email, number=7, subject="Связь",
                                                             sender=Sender(email="c@client.test"), text="нет"), tid))
        # the SLA processor reacts to the ledger's events, so its event never precedes notify's view of the ticket
        await eventually(lambda: db[NOTIFY_TICKETS].find_one({"_id": tid}), message="notify's view of the ticket")
        await publish(bus, SLA_EVENTS, escalation(tid, 1))
        await eventually(lambda: len(smtp.sink.messages) >= 1, message="olga's escalation mail")
        first = smtp.sink.messages[0]
        assert first["Subject"] == "ЭСКАЛАЦИЯ #7" and "Шаг 1: <b>not</b> in progress" in first.get_body(
            ("plain",)).get_content()
        html = first.get_body(("html",)).get_content()
        assert "&lt;b&gt;not&lt;/b&gt; in progress" in html and "<b>" not in html, "the derived HTML is escaped"

        # an override that cannot render (unknown variable) falls back to the shipped wording: nothing is lost
        current = await gw.get(f"{BASE}/ru.escalation", headers=admin)
        again = await gw.put(f"{BASE}/ru.escalation", headers={**admin, "If-Match": current.headers["ETag"]},
                             json={"id": "ru.escalation", "subject": "{{ no_such_field.x }}", "text": "x"})
        assert again.status_code == 200 and again.headers["ETag"] == '"2"'
        await publish(bus, SLA_EVENTS, escalation(tid, 2))
        await eventually(lambda: len(smtp.sink.messages) >= 2, message="second escalation mail")
        assert "#7" in smtp.sink.messages[1]["Subject"] and "no_such_field" not in smtp.sink.messages[1]["Subject"]

        feed = await eventually(lambda: _feed(gw, olga), message="olga's feed")
        assert [i["subject"] for i in feed] == [smtp.sink.messages[1]["Subject"], "ЭСКАЛАЦИЯ #7"]
        assert all(i["ticket_id"] == tid and not i["read"] for i in feed)
        assert (await gw.get("/api/v1/me/notifications", headers=ivan)).json()["items"] == [], "only my own"
        stolen = await gw.post(f"/api/v1/me/notifications/{feed[0]['id']}/read", headers=ivan)
        assert stolen.status_code == 404 and stolen.headers["content-type"].startswith("application/problem+json")
        assert (await gw.post(f"/api/v1/me/notifications/{feed[0]['id']}/read", headers=olga)).status_code == 204
        unread = (await gw.get("/api/v1/me/notifications", params={"unread": True}, headers=olga)).json()["items"]
        assert [i["id"] for i in unread] == [feed[1]["id"]]
        assert (await gw.get("/api/v1/me/notifications")).status_code == 401

        listed = (await gw.get("/api/v1/templates", headers=lead)).json()
        overridden = {i["name"]: i["overridden"] for i in listed["items"]}
        assert overridden["escalation"] == ["ru"] and overridden["reply"] == [] and listed["languages"] == ["ru", "en"]
        shipped = (await gw.get("/api/v1/templates/escalation/preview", params={"language": "en"}, headers=lead)).json()
        assert shipped["overridden"] is False and "1042" in shipped["subject"]
        assert overridden["deadline_reminder"] == []  # the client-deadline notice is listed for rewording …
        reminder = await gw.get("/api/v1/templates/deadline_reminder/preview", params={"language": "ru"}, headers=lead)
        assert reminder.status_code == 200 and reminder.json()["subject"] == "[#1042] До срока клиента 1 ч 30 мин"
        reworded = await gw.post("/api/v1/templates/deadline_reminder/preview", headers=admin, json={
            "language": "en", "draft": {"subject": "Due {{ deadline }}", "text": "{{ remaining_minutes }} min"}})
        assert reworded.status_code == 200 and reworded.json()["text"].strip() == "90 min"  # … with its variables
        draft = await gw.post("/api/v1/templates/reply/preview", headers=admin, json={
            "language": "en", "context": {"text": "<script>x</script>"},
            "draft": {"subject": "Re: {{ subject }}", "text": "{{ agent_name }} wrote: {{ text }}"}})
        body = draft.json()
        assert draft.status_code == 200 and body["overridden"] is True and body["subject"].startswith("Re: ")
        assert "Ivan wrote: <script>x</script>" in body["text"] and "&lt;script&gt;" in body["html"]
        assert "<script>" not in body["html"]
        bad = await gw.post("/api/v1/templates/reply/preview", headers=admin,
                            json={"draft": {"subject": "{{ nope.deeper }}", "text": "x"}})
        assert bad.status_code == 422, bad.text
        assert (await gw.get("/api/v1/templates/nope/preview", headers=lead)).status_code == 404
        assert (await gw.get("/api/v1/templates/reply/preview", headers=olga)).status_code == 403
        assert (await gw.post("/api/v1/templates/reply/preview", headers=lead, json={})).status_code == 403
    await client.close()
    assert len(smtp.sink.messages) == 2


async def _feed(gw: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, object]] | None:
    items = (await gw.get("/api/v1/me/notifications", headers=auth)).json()["items"]
    return items if len(items) >= 2 else None
