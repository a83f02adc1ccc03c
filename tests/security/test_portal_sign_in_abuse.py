"""Abuse of the portal's magic links (issue 19): nobody learns whether an address is a contact's, a link signs in
once and only while fresh, requests are rate-limited per address and per caller, and what a link yields is a
client's token that no staff door accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from integration.gateway.portal_links_support import ask, bearer, mail_to, mails_to, portal_desk, redeem, token_in

from tests.support.desk import Desk
from tests.support.testing import eventually

PER_ADDRESS, PER_IP = 3, 6


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with portal_desk(infra, sign_in_links_per_address=PER_ADDRESS, sign_in_links_per_ip=PER_IP) as d:
        yield d


async def test_an_unknown_address_gets_the_identical_answer_and_no_mail(desk: Desk) -> None:
    known = await ask(desk, "anna@c1.example", ip="198.51.100.1")
    unknown = await ask(desk, "nobody@c1.example", ip="198.51.100.2")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert {k: v for k, v in known.headers.items() if k != "date"} == \
        {k: v for k, v in unknown.headers.items() if k != "date"}
    await mail_to(desk, "anna@c1.example")  # the known one's mail went out; by then the other would have too
    await asyncio.sleep(0)
    assert mails_to(desk, "nobody@c1.example") == []
    assert await desk.db["gateway_sign_in_links"].count_documents({"email": "nobody@c1.example"}) == 0


async def test_a_link_is_stored_only_as_its_hash(desk: Desk) -> None:
    assert (await ask(desk, "boris@c2.example", ip="198.51.100.3")).status_code == 202
    token = token_in(await mail_to(desk, "boris@c2.example"))
    async for doc in desk.db["gateway_sign_in_links"].find({}):
        assert token not in str(doc)


async def test_a_link_redeems_once_even_when_raced(desk: Desk) -> None:
    assert (await ask(desk, "anna@c1.example", ip="198.51.100.4")).status_code == 202
    token = token_in(await mail_to(desk, "anna@c1.example", count=2))
    answers = await asyncio.gather(*(redeem(desk, token) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 410, 410, 410]
    never_issued = await redeem(desk, "A" * 43)
    used = next(a for a in answers if a.status_code == 410)
    assert never_issued.status_code == 410 and never_issued.json() == used.json(), "used and unknown look the same"


async def test_an_expired_link_is_gone(desk: Desk) -> None:
    assert (await ask(desk, "boris@c2.example", ip="198.51.100.5")).status_code == 202
    token = token_in(await mail_to(desk, "boris@c2.example", count=2))
    desk.clock.advance(timedelta(minutes=15, seconds=1))  # type: ignore[attr-defined]
    expired = await redeem(desk, token)
    assert expired.status_code == 410 and expired.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["short", "A" * 42 + "!", "A" * 44, 12345, None])
async def test_a_malformed_token_is_a_422_problem(desk: Desk, token: object) -> None:
    answer = await redeem(desk, token)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"


async def test_requests_are_rate_limited_per_address_and_per_caller(desk: Desk) -> None:
    for address in ("carl@c2.example", "stranger@c2.example"):  # known or not, the same limit, the same answers
        ips = [f"203.0.113.{i}" for i in range(PER_ADDRESS + 1)]
        answers = [await ask(desk, address.upper() if i % 2 else address, ip=ip) for i, ip in enumerate(ips)]
        assert [a.status_code for a in answers] == [202] * PER_ADDRESS + [429], address
        limited = answers[-1]
        assert limited.headers["content-type"] == "application/problem+json" and int(limited.headers["retry-after"]) > 0
    others = [await ask(desk, f"someone{i}@c9.example", ip="192.0.2.77") for i in range(PER_IP + 1)]
    assert [a.status_code for a in others] == [202] * PER_IP + [429]
    assert others[-1].json()["status"] == 429
    # a caller naming someone else in X-Forwarded-For is still himself: no proxy of ours is in front of him
    spoofed = await ask(desk, "someone-else@c9.example", ip="192.0.2.77", headers={"X-Forwarded-For": "192.0.2.200"})
    assert spoofed.status_code == 429


async def test_a_token_from_a_link_cannot_act_as_staff(desk: Desk) -> None:
    assert (await ask(desk, "anna@c1.example", ip="198.51.100.6")).status_code == 202
    mail = await eventually(lambda: (lambda m: m[0] if len(m) >= 3 else None)(mails_to(desk, "anna@c1.example")),
                            timeout=60, message="the third mail to anna")
    signed_in = await redeem(desk, token_in(mail))
    assert signed_in.status_code == 200, signed_in.text
    client = bearer(signed_in.json()["access_token"])
    for method, path, body in (("POST", "/api/v1/tickets/TA/claim", None),
                               ("POST", "/api/v1/tickets/TA/notes", {"text": "x"}),
                               ("POST", "/api/v1/tickets/TA/resolve", {"problem": "p", "solution": "s"}),
                               ("GET", "/api/v1/admin/directories", None),
                               ("GET", "/api/v1/admin/api-keys", None),
                               ("GET", "/api/v1/agents", None),
                               ("PUT", "/api/v1/me/availability", {"availability": "online"})):
        answer = await desk.http.request(method, path, json=body, headers=client)
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
    assert (await desk.http.get("/api/v1/tickets/TB", headers=client)).status_code == 404
