"""Issue 19, the lead's and the administrator's journeys on the shared desk of real processes:

- a team lead reassigns a ticket on the team board and sees it move to the other agent without a reload;
- an administrator creates a support line and an agent through the directory forms (a required field left empty is
  refused next to that field), and the next ticket for that line is offered to that agent, in the agent's queue.

No CSP refusal on the way; axe finds nothing serious on /team and the administration pages."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import httpx

from tests.support.browser import DESKTOP, axe, csp_refusals, expect, explain, new_page, shot, sign_in
from tests.support.testing import eventually

from .browser_desk import ConsoleDesk

LEAD, FROM, TO = "lena", "anna", "boris"  # the demo's team A: its lead and two of its specialists


async def writes(desk: ConsoleDesk, uid: str, subject: str, sender: str, line: str | None = None) -> None:
    """A client's e-mail through intake's inbound door."""
    body = {"channel": "email", "external_id": f"w2-{uid}", "conversation_id": f"w2:{uid}",
            "sender": {"email": sender}, "subject": subject, "text": f"{subject}: please help.",
            **({"requested_line": line} if line else {})}
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.post(f"{desk.intake}/api/v1/inbound", json=body)
    assert resp.status_code in (200, 202), resp.text


async def anna_holds_a_new_ticket(desk: ConsoleDesk, uid: str) -> tuple[str, str]:
    """A new contact of a team A client writes; Anna claims the offer (through the gateway, as set-up)."""
    email = f"w2-{uid}@vector.example"
    async with httpx.AsyncClient(timeout=60) as http:
        put = await http.put(desk.gw(f"/admin/directories/contacts/w2-{uid}"), headers=desk.auth(),
                             json={"id": f"w2-{uid}", "client_id": "vector", "name": f"W2 {uid}", "emails": [email]})
        assert put.status_code == 200, put.text
        subject = f"Board move {uid}"
        await writes(desk, uid, subject, email, "plain")
        ticket_id = await eventually(lambda: _offered(http, desk, subject), timeout=60, interval=0.5,
                                     message=f"the offer of {subject!r} to {FROM}")
        claimed = await http.post(desk.gw(f"/tickets/{ticket_id}/claim"), headers=desk.auth(FROM), json={})
        assert claimed.status_code in (200, 202), claimed.text
    return ticket_id, subject


async def _offered(http: httpx.AsyncClient, desk: ConsoleDesk, subject: str) -> str | None:
    """The id of the offer to Anna with this subject, once routing made it."""
    resp = await http.get(desk.gw("/queues/offers"), params={"limit": 100}, headers=desk.auth(FROM))
    return next((str(t["id"]) for t in resp.json().get("items", []) if t.get("subject") == subject), None)


async def test_a_lead_reassigns_a_ticket_and_the_board_shows_it_moved(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    uid = uuid4().hex[:8]
    ticket_id, subject = await anna_holds_a_new_ticket(console_desk, uid)

    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(page)
    await sign_in(page, LEAD, "/team")
    held = page.locator(f'tr[data-agent="{FROM}"] li[data-ticket="{ticket_id}"]')
    await expect(held).to_contain_text(subject)
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    await page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page reloads
    await held.get_by_label("Reassign").select_option(TO)
    await held.get_by_label("Reason").fill("Anna is off to a client site")
    await held.get_by_role("button", name="Reassign").click()

    await expect(page.locator(f'tr[data-agent="{TO}"] li[data-ticket="{ticket_id}"]')).to_contain_text(subject)
    await expect(held).to_have_count(0)
    assert await page.evaluate("() => window.loadedOnce")
    assert refused == [], refused
    await shot(page, request, "board-after-reassign")

    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await sign_in(inspected, LEAD, "/team")
    await expect(inspected.locator("#board tr[data-agent]").first).to_be_visible()
    assert (violations := await axe(inspected, axe_core)) == [], explain(violations)


async def test_an_admin_creates_a_line_and_an_agent_and_the_next_ticket_is_offered_to_that_agent(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    uid = uuid4().hex[:8]
    line, agent, keyword = f"w2-line-{uid}", f"w2-agent-{uid}", f"zebra-{uid}"

    admin = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(admin)
    await sign_in(admin, "admin", "/admin")
    await admin.get_by_role("link", name="Support lines").click()
    await admin.get_by_role("link", name="New entry").click()
    await admin.get_by_label(re.compile(r"^Id\b")).fill(line)
    await admin.get_by_label("English").fill(f"Line {uid}")
    await admin.get_by_role("button", name="Save").click()
    order = admin.get_by_label("Order")  # left empty: the desk says so next to it
    await expect(order).to_have_attribute("aria-invalid", "true")
    await expect(admin.locator("#f-order-error")).to_contain_text("Field required")
    await shot(admin, request, "line-order-required")
    await order.fill("40")
    await admin.get_by_role("button", name="Save").click()
    await expect(admin.get_by_role("status")).to_contain_text(line)

    await admin.goto("/admin/directories/agents/new")
    await admin.get_by_label(re.compile(r"^Id\b")).fill(agent)
    await admin.get_by_label(re.compile(r"^Name\b")).fill(f"Agent {uid}")
    await admin.get_by_label("Support lines").fill(line)
    await admin.get_by_role("group", name="Roles").get_by_label("specialist").check()
    await admin.get_by_role("button", name="Save").click()
    await expect(admin.get_by_role("status")).to_contain_text(agent)
    assert refused == [], refused
    await shot(admin, request, "agent-created")

    async with httpx.AsyncClient(timeout=60) as http:  # intake sends tickets naming the keyword to the new line
        entry = {"id": f"w2-{uid}", "urgency": "normal", "keywords": [keyword], "line": line, "order": -1}
        rule = await http.put(console_desk.gw(f"/admin/directories/urgency-rules/w2-{uid}"),
                              headers=console_desk.auth(), json=entry)
        assert rule.status_code == 200, rule.text
    subject = f"The {keyword} gateway is down"
    await writes(console_desk, uid, subject, f"w2-{uid}@nowhere.example")

    newcomer = await new_page(browser, DESKTOP, base_url=console_desk.console)
    await sign_in(newcomer, agent, "/queues/offers")
    await expect(newcomer.get_by_role("main").get_by_role("row").filter(has_text=subject)).to_be_visible()
    await shot(newcomer, request, "offered-to-the-new-agent")

    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await sign_in(inspected, "admin", "/admin")
    for path in ("/admin", "/admin/directories/agents", f"/admin/directories/agents/entries/{agent}"):
        await inspected.goto(path)
        assert (violations := await axe(inspected, axe_core)) == [], f"{path}: {explain(violations)}"
