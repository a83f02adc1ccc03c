"""Who owns a conversation: threading and client-linking attacks, replayed on the real broker and database.

A stranger citing ``[#N]`` or our Message-IDs, another client's contact writing onto an unidentified ticket,
a sender choosing the ticket id, look-alike addresses of a client's contact, and agents re-linking an
identified ticket. The ledger, intake and gateway run in this loop; mail goes in as the poller parses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.mailparse import parse_mail
from services.intake.settings import IntakeSettings
from services.tickets.app import create_app as tickets_app
from services.tickets.settings import TicketsSettings
from shared.contracts.mail import outbound_message_id
from shared.contracts.topics import INBOUND_MESSAGES
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, CONTRACTS, Client, ContactPerson, Contract
from shared.directory.routing import AGENTS, Agent, Role
from shared.runtime.kafka import KafkaBus
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import eventually, make_settings, running

WAIT = 120.0  # the machine is shared and loaded: conditions, not clocks, end each wait
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LOOKALIKES = ["of\ufb01ce@acme.example", "\u212aate@acme.example", "\u017fales@acme.example", "gro\u00df@acme.example"]


async def seed(db: Any) -> None:
    put = {"actor": "test", "at": AT}
    await DirectoryStore(db, CLIENTS).put(Client(id="acme", name="Acme", service_team_id="team-acme"), **put)
    await DirectoryStore(db, CLIENTS).put(Client(id="globex", name="Globex"), **put)
    await DirectoryStore(db, CONTRACTS).put(Contract(number="C-100", client_id="acme"), **put)
    await DirectoryStore(db, CONTRACTS).put(Contract(number="G-7", client_id="globex"), **put)
    contacts = DirectoryStore(db, CONTACTS)
    for cid, client, emails in (("anna", "acme", ["anna@acme.example"]), ("boris", "acme", ["boris@acme.example"]),
                                ("kate", "acme", ["kate@acme.example", "office@acme.example", "sales@acme.example",
                                                  "gross@acme.example"]),
                                ("greta", "globex", ["greta@globex.example"])):
        await contacts.put(ContactPerson(id=cid, client_id=client, emails=emails), **put)
    agents = DirectoryStore(db, AGENTS)
    await agents.put(Agent(id="ann", name="Ann", team_ids=["team-acme"]), **put)
    await agents.put(Agent(id="lea", name="Lea", roles=[Role.team_lead], team_ids=["team-acme"]), **put)


def mail(sender: str, subject: str, text: str, message_id: str, **headers: str) -> bytes:
    m = EmailMessage(policy=policy.SMTPUTF8)  # look-alike local parts need UTF-8 headers (RFC 6532)
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, "support@frontline.test", subject, message_id
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(text)
    return bytes(m)


@dataclass
class Desk:
    intake: IntakeSettings
    gateway: GatewaySettings
    db: Any
    bus: KafkaBus
    http: httpx.AsyncClient

    async def deliver(self, raw: bytes) -> str:
        """As the mail poller: parse, then through the intake door on the broker; returns the decided ticket id."""
        msg = parse_mail(raw, domain=self.intake.mail_domain).message
        await self.bus.publish_raw(self.bus.topic(INBOUND_MESSAGES), msg.key().encode(), msg.model_dump_json().encode())
        key = f"email:{msg.external_id}"

        async def decided() -> str | None:
            doc = await self.db.intake_messages.find_one({"_id": key})
            return str(doc["ticket_id"]) if doc else None
        return str(await eventually(decided, WAIT, message=f"intake decided {key}"))

    async def ticket(self, ticket_id: str, ready: Any = bool) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            doc = await self.db.tickets.find_one({"_id": ticket_id})
            return doc if doc and ready(doc) else None
        return dict(await eventually(found, WAIT, message=f"ticket {ticket_id}"))

    def token(self, user: str, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.gateway, user, role, **claims)}"}


@asynccontextmanager
async def desk(env: dict[str, str]) -> AsyncIterator[Desk]:
    settings = make_settings(IntakeSettings, env)
    gw = make_settings(GatewaySettings, env, action_wait_seconds=60.0)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed(db)
    async with AsyncExitStack() as es:
        es.push_async_callback(client.close)
        await es.enter_async_context(running(tickets_app(make_settings(TicketsSettings, env))))
        await es.enter_async_context(running(intake_app(settings)))
        gateway = await es.enter_async_context(running(gateway_app(gw)))
        bus = KafkaBus(settings, "test-mail")
        await bus.start()
        es.push_async_callback(bus.stop)
        http = await es.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw", timeout=WAIT))
        yield Desk(settings, gw, db, bus, http)


def texts(doc: dict[str, Any]) -> list[str]:
    return [h["payload"]["content"]["text"] for h in doc["history"] if h["type"] == "MessageReceived"]


def flag_reasons(doc: dict[str, Any], flag: str) -> list[str]:
    return [h["payload"]["reason"] for h in doc["history"]
            if h["type"] == "FlagChanged" and h["payload"]["flag"] == flag and h["payload"]["value"]]


async def test_strangers_citing_a_ticket_open_their_own_and_the_client_sees_nothing(env: dict[str, str]) -> None:
    async with desk(env) as d:
        tid = await d.deliver(mail("Anna <anna@acme.example>", "Router is down", "since 9:00", "<m1@acme.example>"))
        number = (await d.ticket(tid))["number"]
        ours = outbound_message_id(tid, "n1", d.intake.mail_domain)
        attacks = [
            mail("it@partner.example", f"Re: Router is down [#{number}]", "attack: by tag", "<x1@partner.example>"),
            mail("it@partner.example", "Re: Router", "attack: by our id", "<x2@partner.example>", In_Reply_To=ours),
            mail("ops@partner.example", "Re: Router", "attack: by their id", "<x3@partner.example>",
                 References="<m1@acme.example>"),
            mail("greta@globex.example", f"[#{number}]", "attack: other client", "<x4@globex.example>"),
        ]
        for raw in attacks:
            assert await d.deliver(raw) != tid
        # the client's colleague and the client herself still thread in, by tag and by our Message-ID
        assert await d.deliver(mail("boris@acme.example", f"Re: [#{number}]", "colleague", "<b1@acme.example>")) == tid
        assert await d.deliver(mail("anna@acme.example", "Re: Router", "still down", "<m2@acme.example>",
                                    In_Reply_To=ours)) == tid

        strangers = await eventually(lambda: _tickets(d, {"_id": {"$ne": tid}}, 3), WAIT, message="their tickets")
        for doc in strangers:
            assert doc["flags"].get("unverified_thread"), doc["sender"]
            assert all(f"#{number}" in r for r in flag_reasons(doc, "unverified_thread"))
        victim = await d.ticket(tid, lambda doc: doc["message_count"] == 3)
        assert texts(victim) == ["since 9:00", "colleague", "still down"]
        portal = await d.http.get(f"/api/v1/tickets/{tid}", params={"history": "true"},
                                  headers=d.token("u-acme", "client", client_id="acme"))
        assert portal.status_code == 200, portal.text
        assert "attack" not in portal.text


async def _tickets(d: Desk, query: dict[str, Any], n: int) -> list[dict[str, Any]] | None:
    docs = [doc async for doc in d.db.tickets.find(query)]
    return docs if len(docs) >= n and all(doc["message_count"] >= 1 for doc in docs) else None


async def test_another_clients_contact_cannot_take_over_an_unidentified_ticket(env: dict[str, str]) -> None:
    async with desk(env) as d:
        tid = await d.deliver(mail("stranger@nowhere.example", "Help", "my private data", "<s1@nowhere.example>"))
        opened = await d.ticket(tid)
        assert opened["unidentified"] and opened["client"] is None
        ours = outbound_message_id(tid, "n1", d.intake.mail_domain)
        other = await d.deliver(mail("greta@globex.example", f"Re: [#{opened['number']}]", "ours now",
                                     "<g1@globex.example>", In_Reply_To=ours))
        assert other != tid
        theirs = await d.ticket(other, lambda doc: doc["flags"].get("unverified_thread"))
        assert theirs["client"]["client_id"] == "globex"
        doc = await d.ticket(tid)
        assert doc["unidentified"] and doc["client"] is None and doc["message_count"] == 1
        assert not [h for h in doc["history"] if h["type"] == "ClientLinked"]
        globex = d.token("u-globex", "client", client_id="globex")
        assert (await d.http.get(f"/api/v1/tickets/{tid}", headers=globex)).status_code == 404


async def test_a_ticket_id_named_by_the_sender_is_never_used(env: dict[str, str]) -> None:
    async with desk(env) as d:
        chosen = f"<ticket.chosen-057381.x@{d.intake.mail_domain}>"
        got = await d.deliver(mail("anna@acme.example", "Re: hi", "pick my id", "<c1@acme.example>",
                                   In_Reply_To=chosen))
        assert got != "chosen-057381"
        await d.ticket(got)
        also = await d.deliver(mail("it@partner.example", "Re: hi", "and mine", "<c2@partner.example>",
                                    References=f"<ticket.chosen-2.y@{d.intake.mail_domain}>"))
        assert also not in ("chosen-2", got)
        await d.ticket(also)
        assert await d.db.tickets.count_documents({"_id": {"$regex": "^chosen"}}) == 0


async def test_look_alike_addresses_are_flagged_and_not_identified(env: dict[str, str]) -> None:
    async with desk(env) as d:
        real = await d.deliver(mail("Kate@ACME.example", "Invoice", "the real one", "<k0@acme.example>"))
        assert (await d.ticket(real))["client"]["contact_id"] == "kate"
        for i, address in enumerate(LOOKALIKES):
            tid = await d.deliver(mail(address, "Invoice", f"look-alike {i}", f"<l{i}@acme.example>"))
            assert tid != real
            doc = await d.ticket(tid, lambda doc: doc["flags"].get("lookalike_sender"))
            assert doc["unidentified"] and doc["client"] is None, address
            assert doc["sender"]["email"] != "kate@acme.example" and not doc["sender"]["email"].isascii()
            [reason] = flag_reasons(doc, "lookalike_sender")
            assert "acme.example" in reason and "kate" in reason
        assert (await d.ticket(real))["message_count"] == 1


async def test_only_a_lead_relinks_an_identified_ticket_with_a_reason_and_only_to_a_real_client(
        env: dict[str, str]) -> None:
    async with desk(env) as d:
        tid = await d.deliver(mail("anna@acme.example", "Router", "down", "<r1@acme.example>"))
        await d.ticket(tid)
        url = f"/api/v1/tickets/{tid}/link-client"
        ann, lea = d.token("ann", "specialist", teams=["team-acme"]), d.token("lea", "team_lead", teams=["team-acme"])
        refused = await d.http.post(url, json={"client": {"client_id": "globex"}}, headers=ann)
        assert refused.status_code == 409 and refused.json()["code"] == "already_identified", refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        no_reason = await d.http.post(url, json={"client": {"client_id": "globex"}}, headers=lea)
        assert no_reason.status_code == 409 and no_reason.json()["code"] == "already_identified"
        ghost = await d.http.post(url, json={"client": {"client_id": "ghost"}, "reason": "typo"}, headers=lea)
        assert ghost.status_code == 422 and "ghost" in ghost.json()["detail"]
        foreign = await d.http.post(url, json={"client": {"client_id": "globex", "contract_number": "C-100"},
                                               "reason": "x"}, headers=lea)
        assert foreign.status_code == 422 and "C-100" in foreign.json()["detail"]
        client = await d.http.post(url, json={"client": {"client_id": "acme"}, "reason": "mine"},
                                   headers=d.token("u-acme", "client", client_id="acme"))
        assert client.status_code == 403
        assert (await d.ticket(tid))["client"]["client_id"] == "acme"  # nothing above changed it

        moved = await d.http.post(url, json={"client": {"client_id": "globex", "client_name": "Spoofed"},
                                             "reason": "Anna wrote for Globex"}, headers=lea)
        assert moved.status_code == 200, moved.text
        assert moved.json()["client"]["client_id"] == "globex" and moved.json()["client"]["client_name"] == "Globex"
        [linked] = [h for h in (await d.ticket(tid))["history"] if h["type"] == "ClientLinked"]
        assert linked["payload"]["reason"] == "Anna wrote for Globex" and linked["payload"]["linked_by"] == "lea"
        assert linked["payload"]["previous_client_id"] == "acme"
