"""The client portal's magic link (issue 19): a known contact asks for a link, notify mails it in his language,
and the link signs him in once, as his own organisation's client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import jwt
import pytest_asyncio
from integration.gateway.gateway_support import T0
from integration.gateway.portal_links_support import PORTAL, ask, bearer, mail_to, portal_desk, redeem, token_in

from tests.support.desk import Desk


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with portal_desk(infra) as d:
        yield d


async def test_a_contacts_link_signs_him_in_once_to_his_own_organisations_tickets(desk: Desk) -> None:
    asked = await ask(desk, "  Anna@C1.example ", "en")
    assert asked.status_code == 202, asked.text
    mail = await mail_to(desk, "anna@c1.example")
    assert mail.subject == "Your sign-in link" and "Anna Petrova" in mail.text and "15 minutes" in mail.text
    assert f"{PORTAL}/portal/link?token=" in mail.text

    signed_in = await redeem(desk, token_in(mail))
    assert signed_in.status_code == 200, signed_in.text
    access = signed_in.json()["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["client_id"], claims["name"]) == ("P-1", "client", "C-1",
                                                                                      "Anna Petrova")
    expires_at = datetime.fromisoformat(signed_in.json()["expires_at"])
    assert claims["iat"] == int(T0.timestamp()) and claims["exp"] == int(expires_at.timestamp())
    assert expires_at == T0 + timedelta(hours=8), "the portal session's lifetime (GATEWAY_PORTAL_TOKEN_TTL_SECONDS)"

    listed = await desk.http.get("/api/v1/tickets", headers=bearer(access))
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == ["TA"]
    assert (await desk.http.get("/api/v1/tickets/TA", headers=bearer(access))).status_code == 200
    assert (await desk.http.get("/api/v1/tickets/TB", headers=bearer(access))).status_code == 404

    again = await redeem(desk, token_in(mail))
    assert again.status_code == 410 and again.headers["content-type"] == "application/problem+json"


async def test_the_mail_speaks_the_language_asked_for(desk: Desk) -> None:
    assert (await ask(desk, "boris@c2.example", "ru")).status_code == 202
    mail = await mail_to(desk, "boris@c2.example")
    assert mail.subject == "Ссылка для входа" and "15 мин." in mail.text
    signed_in = await redeem(desk, token_in(mail))
    assert signed_in.status_code == 200, signed_in.text
    claims = jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["client_id"]) == ("P-2", "C-2")
