"""Issue 19, the agent's journey on the shared desk of real processes: two specialists of one group (created for this
journey) sit on their offers pages; a client writes through intake's door and the ticket appears on both pages
without a reload; one claims it on the ticket page and it goes from the other's list; he replies with a file
(keyboard r to the reply box) and resolves with the two fields. No CSP refusal on the way, nothing serious for axe
on the ticket page, and it fits a phone's width."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from uuid import uuid4

import httpx

from tests.support.browser import (
    DESKTOP,
    PHONE,
    axe,
    csp_refusals,
    expect,
    explain,
    new_page,
    scroll_width,
    shot,
    sign_in,
)
from tests.support.testing import eventually

from .browser_desk import ConsoleDesk


async def two_specialists(desk: ConsoleDesk, uid: str) -> tuple[str, str]:
    """Two agents of our own on the first line's general group (no team: they see the line's unteamed tickets)."""
    ids = (f"w1a-{uid}", f"w1b-{uid}")
    async with httpx.AsyncClient(timeout=60) as http:
        for n, agent in enumerate(ids):
            body = {"id": agent, "name": f"Journey {'AB'[n]} {uid}", "roles": ["specialist"], "line_ids": ["first"],
                    "group_ids": ["first-general"], "team_ids": [], "language": "en"}
            resp = await http.put(desk.gw(f"/admin/directories/agents/{agent}"), json=body, headers=desk.auth())
            assert resp.status_code in (200, 201), resp.text
    return ids


async def a_client_writes(desk: ConsoleDesk, uid: str, subject: str) -> None:
    """A sender the desk does not know writes by e-mail through intake's inbound door, asking for the first line."""
    body = {"channel": "email", "external_id": f"w1-{uid}", "conversation_id": f"w1:{uid}",
            "sender": {"email": f"w1-{uid}@nowhere.example"}, "subject": subject,
            "text": "The office printer shows error 0x42 since this morning.", "requested_line": "plain"}
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.post(f"{desk.intake}/api/v1/inbound", json=body)
    assert resp.status_code in (200, 202), resp.text


async def test_an_offer_appears_live_for_both_one_claims_replies_with_a_file_and_resolves(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    uid = uuid4().hex[:8]
    ann, bob = await two_specialists(console_desk, uid)
    subject = f"Printer error 0x42 ({uid})"

    a = await new_page(browser, DESKTOP, base_url=console_desk.console)
    b = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(a), csp_refusals(b)
    for page, who in ((a, ann), (b, bob)):
        await sign_in(page, who, "/queues/offers")
        await expect(page.locator("body")).to_have_attribute("data-live", "on")  # the event stream is open
        await page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page reloads

    await a_client_writes(console_desk, uid, subject)
    row_a = a.get_by_role("main").get_by_role("row").filter(has_text=subject)
    row_b = b.get_by_role("main").get_by_role("row").filter(has_text=subject)
    await expect(row_a).to_be_visible()
    await expect(row_b).to_be_visible()
    assert await a.evaluate("() => window.loadedOnce") and await b.evaluate("() => window.loadedOnce")
    await shot(b, request, "offered-to-both")

    await row_a.get_by_role("link").click()
    await expect(a.get_by_role("heading", level=1)).to_contain_text(subject)
    await expect(a.locator(".msg.client")).to_contain_text("error 0x42")
    await a.get_by_role("button", name=re.compile(r"^Claim")).click()
    await expect(a.get_by_role("status").filter(has_text="You claimed the ticket.")).to_be_visible()
    await expect(a.locator(".facts")).to_contain_text(ann)
    await expect(row_b).to_have_count(0)  # gone from the other agent's offers, without a reload
    assert await b.evaluate("() => window.loadedOnce")

    await a.keyboard.press("r")
    reply_box = a.get_by_label("Your reply")
    await expect(reply_box).to_be_focused()
    await reply_box.fill("We reset the printer's queue; the log is attached.")
    await a.locator("#reply-files").set_input_files(
        files=[{"name": "printer-log.txt", "mimeType": "text/plain", "buffer": b"0x42 cleared at 10:02\n"}])
    await a.get_by_role("button", name="Send", exact=True).click()
    reply = a.locator(".msg.reply").filter(has_text="We reset the printer's queue")
    await expect(reply).to_be_visible()
    await expect(reply.get_by_role("link", name=re.compile("printer-log.txt"))).to_be_visible()

    resolve = a.locator("details.action").filter(has=a.get_by_label("The problem in the client's words"))
    await resolve.locator("summary").click()
    await resolve.get_by_label("The problem in the client's words").fill("The printer shows error 0x42")
    await resolve.get_by_label("What was done to solve it").fill("Reset the print queue")
    await resolve.locator("button[type=submit]").click()
    await expect(a.get_by_role("status").filter(has_text="The ticket is resolved.")).to_be_visible()
    await expect(a.locator(".facts")).to_contain_text("Resolved")
    await expect(a.locator(".facts")).to_contain_text("Reset the print queue")
    assert refused == ([], []), refused
    await shot(a, request, "resolved")

    ticket_url = a.url.split("?")[0]
    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await sign_in(inspected, ann, ticket_url.removeprefix(console_desk.console))
    await expect(inspected.get_by_role("heading", level=1)).to_contain_text(subject)
    assert (violations := await axe(inspected, axe_core)) == [], explain(violations)

    phone = await new_page(browser, PHONE, base_url=console_desk.console)
    await sign_in(phone, ann, ticket_url.removeprefix(console_desk.console))
    await expect(phone.get_by_role("heading", level=1)).to_contain_text(subject)
    assert await scroll_width(phone) <= PHONE, "the ticket page scrolls sideways at 390 px"
    await shot(phone, request, "ticket-390")


async def offered_to(desk: ConsoleDesk, subject: str, agent: str) -> bool:
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.get(desk.gw("/tickets"), params={"status": "offered", "limit": 100}, headers=desk.auth())
    assert resp.status_code == 200, resp.text
    return any(t.get("subject") == subject and agent in (t.get("offered_to") or []) for t in resp.json()["items"])


async def test_an_offer_made_before_the_live_stream_opens_still_shows_when_it_opens(
        browser: Any, console_desk: ConsoleDesk) -> None:
    """The queue page renders empty, the ticket is offered, and only then does the page's event stream open (held
    here): no event of that offer will come, so the page refreshes its live parts when the stream opens."""
    uid = uuid4().hex[:8]
    ann, _ = await two_specialists(console_desk, uid)
    subject = f"Scanner jam ({uid})"
    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    asked, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Any) -> None:
        asked.set()
        await release.wait()
        await route.continue_()

    await page.route("**/live", hold)
    await sign_in(page, ann, "/queues/offers")
    await asyncio.wait_for(asked.wait(), 60)
    await a_client_writes(console_desk, uid, subject)
    await eventually(lambda: offered_to(console_desk, subject, ann), timeout=60, message="offered to the agent")
    release.set()
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    await expect(page.get_by_role("main").get_by_role("row").filter(has_text=subject)).to_be_visible()
