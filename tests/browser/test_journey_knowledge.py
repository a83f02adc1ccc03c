"""Issue 23, the knowledge base in the browser on the shared desk of real processes: an agent of our own opens a
ticket a client wrote about a problem one of our public articles answers, sees the article suggested and inserts its
link into the reply in one action (the link recorded on the article); a demo client typing a new request on the
portal is offered the same article and opens it. No CSP refusal on the way; nothing serious for axe on /kb and the
portal's knowledge base."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import httpx

from tests.support.browser import DESKTOP, axe, csp_refusals, expect, explain, new_page, shot, sign_in
from tests.support.testing import eventually

from .browser_desk import ConsoleDesk

CLIENT = "globex-8"  # a demo contact (tools/demo/desk.py)


async def public_article(desk: ConsoleDesk, http: httpx.AsyncClient, title: str, body: str) -> str:
    made = await http.post(desk.gw("/knowledge/articles"), headers=desk.auth(),
                           json={"content": {"en": {"title": title, "body": body}}, "visibility": "public"})
    assert made.status_code == 201, made.text
    article_id = str(made.json()["id"])
    for action in ("submit", "publish"):
        moved = await http.post(desk.gw(f"/knowledge/articles/{article_id}/workflow"), json={"action": action},
                                headers=desk.auth())
        assert moved.status_code == 200, moved.text
    return article_id


async def our_agent(desk: ConsoleDesk, http: httpx.AsyncClient, uid: str) -> str:
    agent = f"w5-{uid}"
    body = {"id": agent, "name": f"Knowledge {uid}", "roles": ["specialist"], "line_ids": ["first"],
            "group_ids": ["first-general"], "team_ids": [], "language": "en"}
    resp = await http.put(desk.gw(f"/admin/directories/agents/{agent}"), json=body, headers=desk.auth())
    assert resp.status_code in (200, 201), resp.text
    return agent


async def test_an_agent_inserts_a_suggested_article_and_a_client_finds_it_from_the_new_request_form(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    uid = uuid4().hex[:8]
    title = f"Scanner jams on glossy paper {uid}"
    subject = f"Scanner jams ({uid})"
    async with httpx.AsyncClient(timeout=60) as http:
        article_id = await public_article(console_desk, http, title,
                                          f"If the scanner jams on glossy paper, clean its rollers ({uid}).")
        agent = await our_agent(console_desk, http, uid)
        wrote = await http.post(f"{console_desk.intake}/api/v1/inbound", json={
            "channel": "email", "external_id": f"w5-{uid}", "conversation_id": f"w5:{uid}",
            "sender": {"email": f"w5-{uid}@nowhere.example"}, "subject": subject, "requested_line": "plain",
            "text": f"Our scanner jams on glossy paper every time ({uid})."})
        assert wrote.status_code in (200, 202), wrote.text

    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(page)
    await sign_in(page, agent, "/queues/offers")
    row = page.get_by_role("main").get_by_role("row").filter(has_text=subject)
    await row.get_by_role("link").click()
    await page.get_by_role("button", name=re.compile(r"^Claim")).click()
    await expect(page.get_by_role("status").filter(has_text="You claimed the ticket.")).to_be_visible()
    panel = page.locator(".kb-suggested")
    await expect(panel.get_by_role("link", name=title)).to_be_visible()
    await panel.get_by_role("button", name=f'Insert a link to "{title}" into the reply').click()
    await expect(page.get_by_label("Your reply")).to_have_value(re.compile(re.escape(f"/portal/kb/{article_id}")))
    await expect(panel.locator("[data-insert-status]")).to_contain_text("linked to the ticket")
    await shot(page, request, "inserted")

    async with httpx.AsyncClient(timeout=60) as http:
        async def linked() -> bool:
            stats = await http.get(console_desk.gw(f"/knowledge/articles/{article_id}/stats"),
                                   headers=console_desk.auth())
            return bool(stats.json().get("linked_tickets") == 1)
        await eventually(linked, timeout=60, interval=0.5, message="the article linked to the ticket")

    client = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused_client = csp_refusals(client)
    await sign_in(client, CLIENT, "/portal/new")
    await client.get_by_label("Subject").fill("Glossy paper")
    await client.get_by_label("Describe the problem").fill(f"The scanner jams on glossy paper {uid}")
    suggested = client.locator("#portal-suggestions")
    await expect(suggested.get_by_role("link", name=title)).to_be_visible()
    await shot(client, request, "suggested-while-typing")
    async with client.context.expect_page() as opened:
        await suggested.get_by_role("link", name=title).click()
    article = await opened.value
    await expect(article.get_by_role("heading", level=1)).to_have_text(title)
    await expect(article.locator(".kb-body")).to_contain_text("clean its rollers")
    await suggested.get_by_role("button", name="Continue with my request").click()
    await expect(suggested).to_be_hidden()
    assert refused == [] and refused_client == [], (refused, refused_client)

    for who, path in ((agent, "/kb"), (CLIENT, "/portal/kb")):
        inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
        await sign_in(inspected, who, path)
        await expect(inspected.get_by_role("heading", level=1)).to_have_text("Knowledge base")
        assert (violations := await axe(inspected, axe_core)) == [], explain(violations)
        await shot(inspected, request, path.strip("/").replace("/", "-"))
