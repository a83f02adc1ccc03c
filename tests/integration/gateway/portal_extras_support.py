"""The portal desk of ``portal_links_support`` with a service catalogue, a premium client (C-2) and tickets of C-2's
two contacts (TC is Carl's, TD is Boris's), and the calls the portal's catalogue, invitations, guide and feedback
tests make."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from integration.gateway.gateway_support import T0
from integration.gateway.portal_links_support import PORTAL, portal_desk

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.contacts import Client
from shared.directory.routing import ServiceNode
from shared.runtime.mailstore import Kept
from tests.support.desk import Desk

SERVICES = [
    ServiceNode(id="net", name={"ru": "Интернет", "en": "Internet"},
                description={"ru": "Подключение и скорость", "en": "Connection and speed"}),
    ServiceNode(id="net-down", parent_id="net", name={"ru": "Нет связи", "en": "No connection"}),
    ServiceNode(id="net-slow", parent_id="net", name={"ru": "Низкая скорость", "en": "Slow connection"}),
    ServiceNode(id="tv", name={"ru": "Телевидение", "en": "Television"}),
    ServiceNode(id="vip", name={"ru": "Персональный менеджер", "en": "Personal manager"},
                client_categories=["premium"]),
    ServiceNode(id="vip-call", parent_id="vip", name={"ru": "Звонок менеджера", "en": "A call from the manager"}),
]
OWN = {"TC": ClientRef(client_id="C-2", service_team_id="B", contact_id="P-3"),
       "TD": ClientRef(client_id="C-2", service_team_id="B", contact_id="P-2")}
ADMIN, LEAD, SPECIALIST = ("root", "administrator"), ("lea", "team_lead"), ("ann", "specialist")


@asynccontextmanager
async def extras_desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with portal_desk(infra) as d:
        await d.put(Client(id="C-2", name="Orbita", service_team_id="B", category="premium"), *SERVICES)
        for ticket_id, client in OWN.items():
            content = InboundContent(message_id=f"m-{ticket_id}", channel=Channel.email, received_at=T0,
                                     external_id=f"<{ticket_id}@c>", text="My TV is off",
                                     sender=Sender(email=f"{ticket_id}@c.example"))
            await d.seed([(ticket_id, t.ReceiveMessage(channel=Channel.email, client=client, content=content))])
        yield d


def client_of(d: Desk, contact_id: str, client_id: str, **claims: Any) -> dict[str, str]:
    return d.token(contact_id, "client", client_id=client_id, **claims)


async def invite(d: Desk, who: tuple[str, str], contact_id: str, tickets: str = "own",
                 language: str = "en") -> httpx.Response:
    return await d.http.post("/api/v1/portal/invitations", headers=d.token(*who), json={
        "contact_id": contact_id, "rights": {"tickets": tickets}, "language": language})


def invitation_token(mail: Kept) -> str:
    """The token of the one portal invitation link the mail carries."""
    links = [u for u in mail.links if u.startswith(f"{PORTAL}/portal/invitation?")]
    assert len(links) == 1, mail.links
    return parse_qs(urlsplit(links[0]).query)["token"][0]


async def accept(d: Desk, token: Any) -> httpx.Response:
    return await d.http.post("/api/v1/portal/invitations/accept", json={"token": token})
