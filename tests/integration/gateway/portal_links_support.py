"""A desk for the portal's sign-in links: the ledger, notify (mail kept in its local sink) and the gateway in front,
two client organisations with a contact and a ticket each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from integration.gateway.gateway_support import T0, seed_directory

from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender
from shared.directory.contacts import Client, ContactPerson
from shared.runtime.clock import ManualClock
from shared.runtime.mailstore import Kept, MailStore
from tests.support.desk import Desk, running_desk
from tests.support.testing import eventually, isolated_env

PORTAL = "https://portal.desk.example"
ANNA = ContactPerson(id="P-1", client_id="C-1", name="Anna Petrova", emails=["anna@c1.example"])
BORIS = ContactPerson(id="P-2", client_id="C-2", name="Boris", emails=["boris@c2.example"])
CARL = ContactPerson(id="P-3", client_id="C-2", name="Carl", emails=["carl@c2.example"])
TICKETS = {"TA": ClientRef(client_id="C-1", service_team_id="A"), "TB": ClientRef(client_id="C-2", service_team_id="B")}


@asynccontextmanager
async def portal_desk(infra: dict[str, str], **gateway: Any) -> AsyncIterator[Desk]:
    env = {**infra, **isolated_env()}
    settings = {"gateway": {"portal_url": PORTAL, **gateway}}
    async with running_desk(env, ManualClock(T0), ["notify", "gateway"], settings=settings, base_url="http://gw",
                            http_timeout=60.0) as d:
        await seed_directory(d.db)
        await d.put(Client(id="C-1", name="Vector", service_team_id="A"),
                    Client(id="C-2", name="Orbita", service_team_id="B"), ANNA, BORIS, CARL)
        for ticket_id, client in TICKETS.items():
            content = InboundContent(message_id=f"m-{ticket_id}", channel=Channel.email, received_at=T0,
                                     external_id=f"<{ticket_id}@c>", text="The line is down",
                                     sender=Sender(email=f"{ticket_id}@c.example"))
            await d.seed([(ticket_id, t.ReceiveMessage(channel=Channel.email, client=client, content=content))])
        yield d


def sink(d: Desk) -> MailStore:
    return MailStore(Path(d.apps["notify"].state.service.settings.sink_dir))


def mails_to(d: Desk, address: str) -> list[Kept]:
    return [k for k in sink(d).messages() if address in k.to]


async def mail_to(d: Desk, address: str, count: int = 1) -> Kept:
    """The newest of ``count`` mails to ``address``, once notify has kept them."""
    found: list[Kept] = await eventually(lambda: (lambda m: m if len(m) >= count else None)(mails_to(d, address)),
                                         timeout=60, message=f"{count} mail(s) to {address}")
    return found[0]


def token_in(mail: Kept) -> str:
    """The token of the one portal sign-in link the mail carries."""
    links = [u for u in mail.links if u.startswith(f"{PORTAL}/portal/link?")]
    assert len(links) == 1, mail.links
    return parse_qs(urlsplit(links[0]).query)["token"][0]


async def ask(d: Desk, email: str, language: str | None = None, ip: str | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
    """Ask for a link as the caller at ``ip`` (default: the test client's loopback address)."""
    body = {"email": email, **({"language": language} if language else {})}
    if ip is None:
        return await d.http.post("/api/v1/portal/sign-in-links", json=body, headers=headers)
    transport = httpx.ASGITransport(app=d.app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=60) as http:
        return await http.post("/api/v1/portal/sign-in-links", json=body, headers=headers)


async def redeem(d: Desk, token: Any) -> httpx.Response:
    return await d.http.post("/api/v1/portal/sign-in-links/redeem", json={"token": token})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
