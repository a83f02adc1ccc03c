"""Issue 22 (W4), the agent's daily tools on the shared desk of real processes: a specialist of our own keeps a
personal macro ("My macros"); a client writes through intake's door with an unusual word; the agent presses "/",
searches for the word and opens the ticket from the hit, claims it, tags it and applies the macro, seeing each step's
outcome, the tag and the macro's reply. No CSP refusal on the way; nothing serious for axe on the search page."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import httpx

from tests.support.browser import DESKTOP, axe, csp_refusals, expect, explain, new_page, shot, sign_in

from .browser_desk import ConsoleDesk

WAIT_MS = 30_000


async def a_specialist(desk: ConsoleDesk, uid: str) -> str:
    """An agent of our own on the first line's general group (no team: he sees the line's unteamed tickets)."""
    agent = f"w4-{uid}"
    body = {"id": agent, "name": f"Tools {uid}", "roles": ["specialist"], "line_ids": ["first"],
            "group_ids": ["first-general"], "team_ids": [], "language": "en"}
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.put(desk.gw(f"/admin/directories/agents/{agent}"), json=body, headers=desk.auth())
    assert resp.status_code in (200, 201), resp.text
    return agent


async def a_client_writes(desk: ConsoleDesk, uid: str, word: str) -> str:
    subject = f"Scanner trouble ({uid})"
    body = {"channel": "email", "external_id": f"w4-{uid}", "conversation_id": f"w4:{uid}",
            "sender": {"email": f"w4-{uid}@nowhere.example"}, "subject": subject,
            "text": f"The scanner prints {word} on every page.", "requested_line": "plain"}
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.post(f"{desk.intake}/api/v1/inbound", json=body)
    assert resp.status_code in (200, 202), resp.text
    return subject


async def test_an_agent_finds_a_ticket_by_a_word_tags_it_and_applies_his_macro(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    uid = uuid4().hex[:8]
    who = await a_specialist(console_desk, uid)
    word = f"glorp{uid}"
    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(page)
    await sign_in(page, who, "/macros/new")
    await page.get_by_label("Name").fill(f"Scanner {uid}")
    await page.get_by_label("Reply in English").fill("We are on it, request #{{ number }}.")
    await page.get_by_label("Add tags").fill(f"macro-{uid}")
    await page.get_by_role("button", name="Save macro").click()
    await expect(page.get_by_role("status").filter(has_text="The macro was saved.")).to_be_visible()

    subject = await a_client_writes(console_desk, uid, word)
    await page.locator("body").press("/")
    box = page.get_by_role("searchbox", name="Search tickets").first
    await expect(box).to_be_focused()
    hit = page.get_by_role("main").get_by_role("link", name=re.compile(re.escape(subject)))
    for _ in range(30):  # the ticket is indexed moments after it opens: search again until the hit is there
        await box.fill(word)
        await box.press("Enter")
        await expect(page).to_have_url(re.compile(r"/search\?q="))
        if await hit.count():
            break
        await page.wait_for_timeout(1000)
    await expect(hit).to_be_visible()
    await expect(page.locator(".fragment mark").first).to_have_text(word)
    assert refused == [], refused
    await shot(page, request, "search")

    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await sign_in(inspected, who, f"/search?q={word}")
    await expect(inspected.get_by_role("main").get_by_role("link", name=re.compile(re.escape(subject)))).to_be_visible()
    assert (violations := await axe(inspected, axe_core)) == [], explain(violations)

    await hit.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    await page.get_by_role("button", name=re.compile(r"^Claim")).click()
    await expect(page.get_by_role("status").filter(has_text="You claimed the ticket.")).to_be_visible(timeout=WAIT_MS)
    await page.get_by_label("Add tags (separated by spaces or commas)").fill(f"scanner-{uid}")
    await page.get_by_role("button", name="Save tags").click()
    await expect(page.get_by_role("status").filter(has_text="The tags were changed.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".facts")).to_contain_text(f"scanner-{uid}")

    await page.locator("summary", has_text="Apply a macro").click()
    await page.get_by_label("Macro").select_option(label=f"Scanner {uid}")
    await page.get_by_role("button", name="Apply", exact=True).click()
    status = page.get_by_role("status").filter(has_text="The macro was applied")
    await expect(status).to_contain_text("reply: done", timeout=WAIT_MS)
    await expect(status).to_contain_text("tags: done")
    await expect(page.locator(".facts")).to_contain_text(f"macro-{uid}")
    await expect(page.locator(".msg.reply").last).to_contain_text("We are on it, request #")
    assert refused == [], refused
    await shot(page, request, "macro-applied")
